"""The trigger a config describes for a loaded dataset, whatever its kind.

Placed kinds (attack/trigger.py) and the event kinds (attack/event_triggers.py) need only the
sample shape; `dynamic` trains its generator on the training set (attack/dynamic_trigger.py).
"""

from __future__ import annotations

from snnstudio.core.attack.dynamic_trigger import train_dynamic_trigger
from snnstudio.core.attack.event_triggers import trigger_from_config
from snnstudio.core.attack.trigger import SampleTrigger
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import DatasetSplits
from snnstudio.core.events import CancelToken


def trigger_for_splits(
    cfg: ExperimentConfig, splits: DatasetSplits, cancel: CancelToken | None = None
) -> SampleTrigger:
    if cfg.trigger.kind == "dynamic" and splits.is_event:
        return train_dynamic_trigger(cfg, splits.train, splits.num_classes, cancel)
    return trigger_from_config(cfg.trigger, splits.image_shape, splits.is_event)
