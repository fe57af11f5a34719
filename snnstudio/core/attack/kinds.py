"""The trigger a config describes for a loaded dataset, whatever its kind.

Placed kinds (attack/trigger.py) and the event kinds (attack/event_triggers.py) need only the
sample shape; `dynamic` trains its generator on the training set (attack/dynamic_trigger.py),
or, when a run's trigger is rebuilt, takes the generator that run saved (attack/saved_trigger.py).
"""

from __future__ import annotations

from snnstudio.core.attack.dynamic_trigger import DynamicTrigger, train_dynamic_trigger
from snnstudio.core.attack.event_triggers import trigger_from_config
from snnstudio.core.attack.trigger import SampleTrigger
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import DatasetSplits
from snnstudio.core.events import CancelToken


def trigger_for_splits(
    cfg: ExperimentConfig,
    splits: DatasetSplits,
    cancel: CancelToken | None = None,
    saved: DynamicTrigger | None = None,
) -> SampleTrigger:
    """The trigger for `splits`; a dynamic one is `saved` (a run's, checked to fit the data)
    when given, else trained now."""
    if cfg.trigger.kind == "dynamic" and splits.is_event:
        if saved is not None:
            saved.check_fits(splits.image_shape)
            return saved
        return train_dynamic_trigger(cfg, splits.train, splits.num_classes, cancel)
    return trigger_from_config(cfg.trigger, splits.image_shape, splits.is_event)
