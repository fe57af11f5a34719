"""The event kinds' triggers for the Trigger tab's preview (no Qt here).

Every kind but `dynamic` is the core's trigger as a run builds it. A dynamic trigger needs a
trained generator: the preview trains one quickly (PREVIEW_EPOCHS epoch on PREVIEW_TRAIN
training samples, the default CSNN as the victim) and keeps it until a dynamic key changes,
so the tab shows the generator's output for the chosen sample in a few seconds; a run
trains its own on the whole training set for trigger.generator_epochs epochs. A reopened run's
own generator (its trigger.pt) is shown instead while the form holds that run's data and
generator settings (`RunGenerator`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from snnstudio.core import config as config_io
from snnstudio.core.attack.dynamic_trigger import DynamicTrigger, train_dynamic_trigger
from snnstudio.core.attack.event_triggers import trigger_from_config
from snnstudio.core.attack.saved_trigger import made_with
from snnstudio.core.attack.trigger import SampleTrigger
from snnstudio.core.config import ExperimentConfig, TriggerConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import TriggerError
from snnstudio.core.events import CancelToken

PREVIEW_TRAIN = 64
PREVIEW_EPOCHS = 1
GENERATOR_KEY = "x + gamma * G(x): right, G(x) (grey = 0, redder: OFF raised, greener: ON raised)"
NOTES = {
    "white": "the static polarity square in every frame of frame_start .. stop",
    "moving": "the square moves `speed` pixels a frame along `direction`, bouncing at the edges",
    "smart": "each sample's least / most active region holds the square, in the (OFF, ON) "
    "pattern least / most frequent there; it wanders 2 pixels a frame",
    "dynamic": f"{GENERATOR_KEY}. The preview's generator learned "
    f"{PREVIEW_EPOCHS} epoch on {PREVIEW_TRAIN} training samples; a run trains its own on the "
    "training set for trigger.generator_epochs epochs",
    "strobing": "the square on strobe_on frames, off strobe_off, from frame_start on",
    "framed": "a border of the polarity pattern on the frames frame_start .. stop",
    "flashy": "whole frames of the polarity pattern on the strobe schedule",
}


def event_trigger_note(cfg: TriggerConfig) -> str:
    return NOTES.get(cfg.kind, "")


def run_key(cfg: ExperimentConfig) -> str:
    """What a form must share with a run to show the run's generator: the data it learned
    on and the generator's settings (attack/saved_trigger.made_with)."""
    return json.dumps([config_io.to_dict(cfg)["data"], made_with(cfg)], sort_keys=True)


@dataclass(frozen=True)
class RunGenerator:
    """A reopened run's saved dynamic trigger, shown while the form's `run_key` is `key`."""

    trigger: DynamicTrigger
    key: str
    run: str

    def note(self) -> str:
        return (
            f"{GENERATOR_KEY}. G is the generator the run {self.run} "
            "trained and saved (trigger.pt), as detection and elimination use it"
        )


class DynamicPreview:
    """The preview's triggers, with the last trained dynamic generator kept. Training is
    `train`, a plain function the Trigger tab runs off the GUI thread; `trigger` returns the
    kept generator, or None while the one for these settings is not trained yet."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._trigger: SampleTrigger | None = None
        self.run: RunGenerator | None = None

    def clear(self) -> None:
        """Forget the preview's generator (the run's is kept: `run_trigger` checks it)."""
        self._key, self._trigger = None, None

    def run_trigger(self, form_key: str, image_shape: tuple[int, ...]) -> RunGenerator | None:
        """The reopened run's generator when the form is that run's attack on its data."""
        run = self.run
        if run is None or run.key != form_key or image_shape[0] != run.trigger.generator.channels:
            return None
        return run

    @staticmethod
    def key(cfg: TriggerConfig, train: SampleSet | None) -> tuple:
        return (cfg.gamma, cfg.generator_channels, cfg.seed, 0 if train is None else len(train))

    def trigger(
        self,
        cfg: TriggerConfig,
        image_shape: tuple[int, int, int],
        is_event: bool,
        train: SampleSet | None,
    ) -> SampleTrigger | None:
        if cfg.kind != "dynamic":
            return trigger_from_config(cfg, image_shape, is_event)
        if not is_event:
            raise TriggerError("trigger.kind = 'dynamic' needs event data (frames over time)")
        if train is None or not len(train):
            raise TriggerError("the dynamic trigger learns on the dataset: check it on Setup")
        return self._trigger if self.key(cfg, train) == self._key else None

    def keep(self, key: tuple, trigger: SampleTrigger) -> None:
        self._key, self._trigger = key, trigger

    @staticmethod
    def train(cfg: TriggerConfig, train: SampleSet, cancel: CancelToken | None = None) -> Any:
        """A generator trained for the preview (PREVIEW_EPOCHS on PREVIEW_TRAIN samples)."""
        subset = train.subset(np.arange(min(PREVIEW_TRAIN, len(train))))
        exp = ExperimentConfig()
        exp.trigger = dataclasses.replace(cfg, generator_epochs=PREVIEW_EPOCHS)
        exp.train.batch_size = 32
        return train_dynamic_trigger(exp, subset, int(train.y.max()) + 1, cancel)
