"""The event kinds' triggers for the Trigger tab's preview (no Qt here).

Every kind but `dynamic` is the core's trigger as a run builds it. A dynamic trigger needs a
trained generator: the preview trains one quickly (PREVIEW_EPOCHS epoch on PREVIEW_TRAIN
training samples, the default CSNN as the victim) and keeps it until a dynamic key changes,
so the tab shows the generator's output for the chosen sample in a few seconds; a run
trains its own on the whole training set for trigger.generator_epochs epochs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snnstudio.core.attack.dynamic_trigger import train_dynamic_trigger
from snnstudio.core.attack.event_triggers import trigger_from_config
from snnstudio.core.attack.trigger import SampleTrigger
from snnstudio.core.config import ExperimentConfig, TriggerConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import TriggerError

PREVIEW_TRAIN = 64
PREVIEW_EPOCHS = 1
NOTES = {
    "white": "the static polarity square in every frame of frame_start .. stop",
    "moving": "the square moves `speed` pixels a frame along `direction`, bouncing at the edges",
    "smart": "each sample's least / most active region holds the square, in the (OFF, ON) "
    "pattern least / most frequent there; it wanders 2 pixels a frame",
    "dynamic": f"x + gamma * G(x): right, G(x) (grey = 0). The preview's generator learned "
    f"{PREVIEW_EPOCHS} epoch on {PREVIEW_TRAIN} training samples; a run trains its own on the "
    "training set for trigger.generator_epochs epochs",
    "strobing": "the square on strobe_on frames, off strobe_off, from frame_start on",
    "framed": "a border of the polarity pattern on the frames frame_start .. stop",
    "flashy": "whole frames of the polarity pattern on the strobe schedule",
}


def event_trigger_note(cfg: TriggerConfig) -> str:
    return NOTES.get(cfg.kind, "")


class DynamicPreview:
    """The preview's triggers, with the last trained dynamic generator kept."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._trigger: SampleTrigger | None = None

    def clear(self) -> None:
        self._key, self._trigger = None, None

    def trigger(
        self,
        cfg: TriggerConfig,
        image_shape: tuple[int, int, int],
        is_event: bool,
        train: SampleSet | None,
    ) -> SampleTrigger:
        if cfg.kind != "dynamic":
            return trigger_from_config(cfg, image_shape, is_event)
        if not is_event:
            raise TriggerError("trigger.kind = 'dynamic' needs event data (frames over time)")
        if train is None or not len(train):
            raise TriggerError("the dynamic trigger learns on the dataset: check it on Setup")
        key = (cfg.gamma, cfg.generator_channels, cfg.seed, len(train))
        if key != self._key:
            subset = train.subset(np.arange(min(PREVIEW_TRAIN, len(train))))
            exp = ExperimentConfig()
            exp.trigger = dataclasses.replace(cfg, generator_epochs=PREVIEW_EPOCHS)
            exp.train.batch_size = 32
            classes = int(train.y.max()) + 1
            self._trigger = train_dynamic_trigger(exp, subset, classes)
            self._key = key
        assert self._trigger is not None
        return self._trigger
