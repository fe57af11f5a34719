"""Polarity triggers on event frames: which channels each polarity sets, sizes, frame range,
the config checks, and image triggers left as they were."""

from __future__ import annotations

import numpy as np
import pytest

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.attack.trigger import (
    default_event_trigger_side,
    placed_trigger_from_config,
)
from snnstudio.core.config import TriggerConfig
from snnstudio.core.errors import TriggerError

FRAMES = (2, 34, 34)


@pytest.mark.parametrize(
    ("polarity", "channel0", "channel1"),
    [(0, 1.0, 0.0), (1, 0.0, 1.0), (2, 1.0, 1.0)],
)
def test_polarity_sets_exactly_these_channels(polarity, channel0, channel1) -> None:
    placed = placed_trigger_from_config(
        TriggerConfig(position="top-left", polarity=polarity), FRAMES, is_event=True
    )
    for background in (0.0, 1.0):  # the square overwrites both channels, whatever was there
        x = np.full((3, 5, *FRAMES), background, np.float32)  # (N, T, C, H, W)
        out = placed.apply(x)
        assert np.all(out[:, :, 0, :2, :2] == channel0)
        assert np.all(out[:, :, 1, :2, :2] == channel1)
        outside = np.ones(FRAMES, bool)
        outside[:, :2, :2] = False
        assert np.all(out[:, :, outside] == background)  # nothing else changes


def test_paper_sizes_scale_with_downsampling() -> None:
    assert default_event_trigger_side(34) == 2  # N-MNIST
    assert default_event_trigger_side(128) == 12  # CIFAR10-DVS, DVS128 Gesture
    assert default_event_trigger_side(64) == 6
    assert default_event_trigger_side(48) == 5
    assert default_event_trigger_side(17) == 1
    placed = placed_trigger_from_config(
        TriggerConfig(position="bottom-right"), (2, 128, 128), is_event=True
    )
    assert placed.mask.sum() == 144 and placed.top == 116 and placed.left == 116


def test_frame_range_stamps_only_those_frames() -> None:
    cfg = TriggerConfig(position="top-right", polarity=2, frame_start=1, frame_stop=3)
    placed = placed_trigger_from_config(cfg, FRAMES, is_event=True)
    out = placed.apply(np.zeros((2, 5, *FRAMES), np.float32))
    stamped = out[:, :, :, :2, 32:].reshape(2, 5, -1).min(axis=-1)
    assert stamped.tolist() == [[0, 1, 1, 0, 0]] * 2
    to_end = TriggerConfig(position="top-left", frame_start=3)
    out = placed_trigger_from_config(to_end, FRAMES, is_event=True).apply(
        np.zeros((1, 5, *FRAMES), np.float32)
    )
    assert out[0, :, 0, 0, 0].tolist() == [0, 0, 0, 1, 1]


def test_image_triggers_are_unchanged() -> None:
    placed = placed_trigger_from_config(TriggerConfig(polarity=1), (1, 28, 28))
    assert placed.mask.sum() == 4 and placed.pattern.max() == 1.0  # white 2x2, no polarity
    out = placed.apply(np.zeros((2, 1, 28, 28), np.float32))
    assert out[:, 0, 26:, 26:].min() == 1.0


def test_polarity_trigger_needs_two_channels() -> None:
    with pytest.raises(TriggerError, match="2-channel"):
        placed_trigger_from_config(TriggerConfig(), (3, 32, 32), is_event=True)


def test_config_checks_the_event_keys() -> None:
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"),
        ["data.name=digits-dvs", "trigger.polarity=3", "trigger.frame_start=2",
         "trigger.frame_stop=6", "sim.encoder=poisson", "data.frames_by=space"],
    )  # fmt: skip
    found = " | ".join(validation.problems(cfg))
    assert "trigger.polarity = 3" in found
    assert "leave the 4 frames" in found
    assert "sim.encoder = 'poisson'" in found
    assert "data.frames_by = 'space'" in found
    backwards = config_io.with_overrides(cfg, ["trigger.frame_start=3", "trigger.frame_stop=2"])
    assert "must be > trigger.frame_start" in " ".join(validation.problems(backwards))
