"""The event trigger kinds (moving, strobing, framed, flashy, smart, dynamic): each changes the
frames only where and when it says, the seed reproduces the poisoned set, bad keys are refused,
and the stealth metrics (MSE, SSIM) read the difference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.attack.dynamic_trigger import train_dynamic_trigger
from snnstudio.core.attack.event_triggers import bounce, trigger_from_config
from snnstudio.core.attack.poison import poison_training_set
from snnstudio.core.attack.stealth import mse_and_ssim
from snnstudio.core.config import ExperimentConfig, TriggerConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import TriggerError

FRAME = (2, 34, 34)


def blank(n: int = 2, t: int = 6) -> np.ndarray:
    return np.zeros((n, t, *FRAME), np.float32)


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(N, T, H, W): where any channel differs."""
    return np.any(before != after, axis=2)


def test_moving_square_travels_along_its_direction_and_bounces() -> None:
    cfg = TriggerConfig(kind="moving", position="top-left", direction="right", speed=3, size=2)
    out = trigger_from_config(cfg, FRAME, is_event=True).apply(blank(t=14))
    diff = changed(blank(t=14), out)
    lefts = [int(np.flatnonzero(diff[0, t].any(axis=0))[0]) for t in range(14)]
    assert lefts[:4] == [0, 3, 6, 9]
    assert lefts[10:] == [30, 31, 28, 25]  # 33 and 36 fold back from the right edge (32)
    for t, left in enumerate(lefts):  # only the 2x2 square, only in the top rows, polarity 0
        assert diff[0, t].sum() == 4 and diff[0, t, :2, left : left + 2].all()
        assert np.all(out[0, t, 0, :2, left : left + 2] == 1) and out[0, t, 1].max() == 0
    assert bounce(30, 5, 32) == 29 and bounce(0, -2, 32) == 2


def test_strobing_lights_the_square_on_its_schedule_only() -> None:
    cfg = TriggerConfig(kind="strobing", position="bottom-right", polarity=2, strobe_on=2,
                        strobe_off=3, frame_start=1, frame_stop=10)  # fmt: skip
    x = np.random.default_rng(0).integers(0, 2, (2, 12, *FRAME)).astype(np.float32)
    out = trigger_from_config(cfg, FRAME, is_event=True).apply(x)
    lit = changed(x, out)
    outside = np.ones((34, 34), bool)
    outside[32:, 32:] = False
    assert not lit[:, :, outside].any()  # nothing outside the square
    on = [t for t in range(12) if np.all(out[:, t, :, 32:, 32:] == 1)]
    assert on == [1, 2, 6, 7]  # 2 on, 3 off from frame 1, up to frame 10
    off = [t for t in range(12) if t not in on]
    np.testing.assert_array_equal(out[:, off], x[:, off])


def test_framed_sets_a_border_in_its_frame_window() -> None:
    cfg = TriggerConfig(kind="framed", polarity=1, border=2, frame_start=1, frame_stop=3)
    out = trigger_from_config(cfg, FRAME, is_event=True).apply(blank(t=4))
    diff = changed(blank(t=4), out)
    assert not diff[:, 0].any() and not diff[:, 3].any()
    border = np.ones((34, 34), bool)
    border[2:32, 2:32] = False
    assert np.array_equal(diff[0, 1], border) and np.array_equal(diff[1, 2], border)
    assert np.all(out[:, 1:3, 1][:, :, border] == 1) and out[:, :, 0].max() == 0


def test_flashy_sets_whole_frames() -> None:
    cfg = TriggerConfig(kind="flashy", polarity=0, strobe_on=1, strobe_off=2)
    out = trigger_from_config(cfg, FRAME, is_event=True).apply(blank(t=6))
    assert [bool(np.all(out[0, t, 0] == 1)) for t in range(6)] == [1, 0, 0, 1, 0, 0]
    assert out[:, :, 1].max() == 0 and out[:, [1, 2, 4, 5]].max() == 0


def active_top_left(n: int = 3, t: int = 4) -> np.ndarray:
    """Events (ON and OFF, mixed) only in the top-left ninth of the frame."""
    x = blank(n, t)
    rng = np.random.default_rng(1)
    x[:, :, :, :11, :11] = rng.integers(0, 2, (n, t, 2, 11, 11))
    return x


@pytest.mark.parametrize("region", ["least", "most"])
def test_smart_square_stays_in_the_chosen_region(region: str) -> None:
    cfg = TriggerConfig(kind="smart", region=region, region_grid=3, size=2, seed=4)
    trigger = trigger_from_config(cfg, FRAME, is_event=True)
    x = active_top_left()
    out = trigger.apply(x)
    diff = changed(x, out)
    region_mask = np.zeros((34, 34), bool)
    if region == "most":  # the active top-left region
        region_mask[:11, :11] = True
    else:  # the least active: the first empty region, top-middle
        region_mask[:11, 11:22] = True
    assert diff.any(axis=(2, 3)).all()  # every frame of every sample carries the square
    assert not diff[:, :, ~region_mask].any()
    assert out[:, :, :, :11, :11].sum() > 0  # the rest of the sample is intact
    if region == "least":  # in an empty region the first least frequent pattern: ON only
        assert np.all(out[:, :, 1][diff] == 1) and np.all(out[:, :, 0][diff] == 0)


def test_smart_is_reproduced_by_its_seed() -> None:
    x = active_top_left()
    a = trigger_from_config(TriggerConfig(kind="smart", seed=1), FRAME, True).apply(x)
    b = trigger_from_config(TriggerConfig(kind="smart", seed=1), FRAME, True).apply(x)
    c = trigger_from_config(TriggerConfig(kind="smart", seed=2), FRAME, True).apply(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def event_set(n: int = 40, t: int = 3) -> SampleSet:
    rng = np.random.default_rng(0)
    x = (rng.random((n, t, *FRAME)) < 0.05).astype(np.float32)
    return SampleSet.clean(x, np.arange(n) % 4)


@pytest.mark.parametrize("kind", ["moving", "strobing", "framed", "flashy", "smart"])
def test_the_seed_reproduces_the_poisoned_set(kind: str) -> None:
    samples = event_set()
    trigger = trigger_from_config(TriggerConfig(kind=kind), FRAME, is_event=True)
    a = poison_training_set(samples, trigger, target=0, rate=0.25, seed=3)
    b = poison_training_set(samples, trigger, target=0, rate=0.25, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.is_poison, b.is_poison)
    clean = ~a.is_poison
    np.testing.assert_array_equal(a.x[clean], samples.x[clean])  # unpoisoned samples untouched
    assert np.any(a.x[a.is_poison] != samples.x[a.is_poison])


def dynamic_config(**trigger: object) -> ExperimentConfig:
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"),
        ["data.name=digits-dvs", "train.batch_size=20", "trigger.kind=dynamic",
         "trigger.generator_epochs=1", "trigger.generator_channels=4", "trigger.gamma=0.05"],
    )  # fmt: skip
    cfg.trigger = dataclasses.replace(cfg.trigger, **trigger)
    return cfg


def test_dynamic_trigger_is_bounded_input_specific_and_seeded() -> None:
    samples = event_set()
    cfg = dynamic_config()
    trigger = train_dynamic_trigger(cfg, samples, 4)
    delta = trigger.apply(samples.x[:6]) - samples.x[:6]
    assert np.abs(delta).max() <= 0.05 + 1e-6 and np.abs(delta).max() > 0.005
    assert not np.allclose(delta[0], delta[1], atol=1e-4)  # each input gets its own
    again = train_dynamic_trigger(cfg, samples, 4).apply(samples.x[:6]) - samples.x[:6]
    np.testing.assert_array_equal(delta, again)
    other = train_dynamic_trigger(dynamic_config(seed=1), samples, 4).apply(samples.x[:6])
    assert not np.allclose(other - samples.x[:6], delta)


def problems_with(*sets: str) -> str:
    base = config_io.with_overrides(config_io.load_preset("demo"), ["data.name=digits-dvs"])
    return " | ".join(validation.problems(config_io.with_overrides(base, list(sets))))


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["trigger.kind=wobbly"], "trigger.kind = 'wobbly' is not one of: white, random"),
        (["trigger.kind=moving", "trigger.direction=sideways"],
         "trigger.direction = 'sideways' is not one of: right, left"),
        (["trigger.kind=moving", "trigger.speed=-1"], "trigger.speed = -1 must be >= 0"),
        (["trigger.kind=smart", "trigger.region=middle"],
         "trigger.region = 'middle' is not one of: least, most"),
        (["trigger.kind=smart", "trigger.region_polarity=any"], "trigger.region_polarity"),
        (["trigger.kind=smart", "trigger.region_grid=0"], "trigger.region_grid = 0 must be >= 1"),
        (["trigger.kind=strobing", "trigger.strobe_on=0"], "trigger.strobe_on = 0 must be >= 1"),
        (["trigger.kind=flashy", "trigger.strobe_off=-2"], "trigger.strobe_off = -2"),
        (["trigger.kind=framed", "trigger.border=0"], "trigger.border = 0 must be >= 1"),
        (["trigger.kind=dynamic", "trigger.gamma=0"], "trigger.gamma = 0.0 must be in (0, 1]"),
        (["trigger.kind=dynamic", "trigger.generator_epochs=0"], "trigger.generator_epochs"),
        (["trigger.kind=moving", "data.name=digits"], "needs event data"),
    ],
)  # fmt: skip
def test_bad_trigger_keys_are_refused_with_one_sentence(sets: list[str], message: str) -> None:
    found = problems_with(*sets)
    assert message in found
    assert found.count("trigger.") == 1 or "needs event data" in found


def test_good_kinds_validate_and_old_configs_still_load() -> None:
    for kind in ("moving", "smart", "dynamic", "strobing", "framed", "flashy", "white"):
        assert problems_with(f"trigger.kind={kind}") == ""
    old = config_io.loads('[trigger]\nkind = "white"\npolarity = 1\nframe_start = 1\n')
    assert old.trigger.kind == "white" and old.trigger.direction == "right"
    with pytest.raises(TriggerError, match="needs event data"):
        trigger_from_config(TriggerConfig(kind="moving"), (1, 28, 28), is_event=False)


def test_stealth_metrics_read_the_difference() -> None:
    x = event_set(8).x
    assert mse_and_ssim(x, x) == (0.0, 1.0)
    square = trigger_from_config(TriggerConfig(kind="white", position="top-left"), FRAME, True)
    mse, ssim = mse_and_ssim(x, square.apply(x))
    assert 0 < mse <= 8 / (34 * 34) and 0.9 < ssim < 1.0  # 2x2 of 34x34 on 2 channels
    flash = trigger_from_config(TriggerConfig(kind="flashy"), FRAME, True).apply(x)
    assert mse_and_ssim(x, flash)[1] < ssim  # a flashed frame is far less similar


def test_smart_set_scope_puts_every_square_in_one_region() -> None:
    x = active_top_left(n=4)
    x[1] = 0  # an empty sample alone would choose the first region, top-left
    x[1, :, :, :11, :11] = 1  # (it is full of events here instead)
    cfg = TriggerConfig(kind="smart", region="most", region_scope="set", size=2, seed=0)
    out = trigger_from_config(cfg, FRAME, is_event=True).apply(x)
    diff = changed(x, out)
    assert not diff[:, :, 11:, :].any() and not diff[:, :, :, 11:].any()  # all top-left
    values = {tuple(out[i, t, :, r, c]) for i, t, r, c in zip(*np.nonzero(diff), strict=True)}
    assert len(values) == 1  # one (OFF, ON) pattern for every sample
    assert "trigger.region_scope = 'batch'" in problems_with(
        "trigger.kind=smart", "trigger.region_scope=batch"
    )
