from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from snnstudio.core.attack.trigger import (
    array_trigger,
    build_trigger,
    default_trigger_side,
    image_trigger,
    place_trigger,
    placed_trigger_from_config,
    random_trigger,
    white_trigger,
)
from snnstudio.core.config import TriggerConfig
from snnstudio.core.errors import TriggerError


def test_default_size_follows_the_paper() -> None:
    assert default_trigger_side(28) == 2  # MNIST 2x2
    assert default_trigger_side(32) == 3  # CIFAR-10 3x3
    assert default_trigger_side(128) == 12
    assert default_trigger_side(8) == 1


@pytest.mark.parametrize(
    ("position", "rows", "cols"),
    [("top-left", (0, 2), (0, 2)), ("top-right", (0, 2), (26, 28)),
     ("bottom-left", (26, 28), (0, 2)), ("bottom-right", (26, 28), (26, 28))],
)  # fmt: skip
def test_corner_placement_is_pixel_exact(position: str, rows, cols) -> None:
    placed = placed_trigger_from_config(TriggerConfig(position=position), (1, 28, 28))
    x = np.zeros((5, 1, 28, 28), np.float32)
    out = placed.apply(x)
    expected = np.zeros_like(x)
    expected[:, :, rows[0] : rows[1], cols[0] : cols[1]] = 1.0
    np.testing.assert_array_equal(out, expected)
    assert x.max() == 0  # the input is not modified


def test_xy_placement_and_per_channel_pattern() -> None:
    pattern = np.stack([np.full((2, 3), 0.2), np.full((2, 3), 0.5), np.full((2, 3), 0.9)])
    trig = array_trigger(pattern)
    placed = place_trigger(trig, (3, 10, 12), "xy", x=4, y=6)
    x = np.full((2, 3, 10, 12), 0.1, np.float32)
    out = placed.apply(x)
    for c, value in enumerate((0.2, 0.5, 0.9)):
        np.testing.assert_allclose(out[:, c, 6:8, 4:7], value)
    untouched = np.ones((10, 12), bool)
    untouched[6:8, 4:7] = False
    np.testing.assert_allclose(out[:, :, untouched], 0.1)


def test_one_channel_pattern_is_applied_to_every_channel() -> None:
    placed = place_trigger(white_trigger(3, 1), (3, 32, 32), "bottom-right")
    out = placed.apply(np.zeros((1, 3, 32, 32), np.float32))
    assert out[0, :, 29:, 29:].min() == 1.0 and out.sum() == 27


def test_transparent_pixels_keep_the_image() -> None:
    trig = array_trigger([[1.0, float("nan")], [float("nan"), 0.0]])
    placed = place_trigger(trig, (1, 4, 4), "top-left")
    out = placed.apply(np.full((1, 1, 4, 4), 0.5, np.float32))
    np.testing.assert_allclose(out[0, 0, :2, :2], [[1.0, 0.5], [0.5, 0.0]])


def test_random_trigger_is_seeded() -> None:
    a, b, c = random_trigger(3, 3, 7), random_trigger(3, 3, 7), random_trigger(3, 3, 8)
    np.testing.assert_array_equal(a.pattern, b.pattern)
    assert not np.array_equal(a.pattern, c.pattern)
    cfg = TriggerConfig(kind="random", seed=7)
    np.testing.assert_array_equal(build_trigger(cfg, (3, 32, 32)).pattern, a.pattern)


def test_png_trigger_with_alpha(tmp_path) -> None:
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[0, 0, 3] = 255
    rgba[1, 2, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    trig = image_trigger(tmp_path / "t.png")
    assert trig.pattern.shape == (3, 2, 3)
    np.testing.assert_array_equal(trig.mask, [[True, False, False], [False, False, True]])
    np.save(tmp_path / "t.npy", np.ones((2, 2)))
    assert image_trigger(tmp_path / "t.npy").mask.all()


def test_bad_triggers_are_clear_errors(tmp_path) -> None:
    with pytest.raises(TriggerError, match="larger than the 28x28 image"):
        place_trigger(white_trigger(30), (1, 28, 28), "top-left")
    with pytest.raises(TriggerError, match="leaves the 28x28 image"):
        place_trigger(white_trigger(2), (1, 28, 28), "xy", x=27, y=0)
    with pytest.raises(TriggerError, match="leaves"):
        place_trigger(white_trigger(2), (1, 28, 28), "xy", x=-1, y=0)
    with pytest.raises(TriggerError, match="3 channels; the images have 1"):
        place_trigger(random_trigger(2, 3, 0), (1, 28, 28), "top-left")
    with pytest.raises(TriggerError, match=r"values must lie in \[0, 1\]"):
        array_trigger([[2.0]])
    with pytest.raises(TriggerError, match="mask is empty"):
        array_trigger([[float("nan")]])
    with pytest.raises(TriggerError, match="not found"):
        image_trigger(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(TriggerError, match="cannot read image trigger"):
        image_trigger(tmp_path / "junk.png")
