"""Trigger patterns and where they go on an image.

A `Trigger` is a small pattern (c, h, w) with a mask (h, w) of the pixels it sets. It is
placed on an image of shape (C, H, W) at a corner or at x/y, and stamped channel by
channel: x' = x * (1 - m) + pattern * m. A one-channel pattern is used for every channel.

Event frames (N, T, 2, H, W) take the same stamp in every frame, or in the frames
trigger.frame_start .. frame_stop. For event data a "white" trigger is the paper's polarity
square; trigger.polarity says which of the two channels it sets to 1, the other channel
inside the square is set to 0 (the mapping of GorkaAbad/NeuromorphicBackdoors, whose three
patterns the paper uses; their later Sneaky-Spikes code numbers four patterns differently):

    polarity 0: channel 0 = 1, channel 1 = 0   (OFF events only; channel c = polarity bit c)
    polarity 1: channel 0 = 0, channel 1 = 1   (ON events only)
    polarity 2: channel 0 = 1, channel 1 = 1   (both)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from snnstudio.core.config import CORNERS, TriggerConfig
from snnstudio.core.errors import TriggerError

TRIGGER_SIDE_FRACTION = 0.1  # the paper: about 10% of the side (MNIST 2x2, CIFAR-10 3x3)
POLARITY_CHANNELS = {0: (0,), 1: (1,), 2: (0, 1)}  # trigger.polarity -> channels set to 1
MAX_TRIGGER_SIDE = 4096  # a trigger image larger than this is a mistake, not a trigger


def default_trigger_side(image_side: int) -> int:
    return max(1, int(TRIGGER_SIDE_FRACTION * image_side))


def default_event_trigger_side(frame_side: int) -> int:
    """The paper's event trigger: 2x2 on N-MNIST's 34x34 sensor, 12x12 on 128x128 sensors,
    scaled with downsampling (sides up to 34 follow N-MNIST, larger ones the 128 sensors,
    so 128 -> 64 gives 6x6 and 128 -> 48 gives 5x5)."""
    paper_side, paper_sensor = (2, 34) if frame_side <= 34 else (12, 128)
    return max(1, int(paper_side * frame_side / paper_sensor + 0.5))


@dataclass(frozen=True)
class Trigger:
    """A pattern of shape (c, h, w), values in [0, 1], and a boolean mask of shape (h, w)."""

    pattern: np.ndarray
    mask: np.ndarray

    def __post_init__(self) -> None:
        if self.pattern.ndim != 3 or self.mask.shape != self.pattern.shape[1:]:
            raise TriggerError(
                f"trigger pattern {self.pattern.shape} and mask {self.mask.shape} do not match"
            )
        if not self.mask.any():
            raise TriggerError("trigger mask is empty: no pixel would be changed")

    @property
    def height(self) -> int:
        return int(self.mask.shape[0])

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])


@dataclass(frozen=True)
class PlacedTrigger:
    """A trigger expanded to a full image: `pattern` (C, H, W) and `mask` (1, H, W) as floats."""

    pattern: np.ndarray
    mask: np.ndarray
    top: int
    left: int
    frames: tuple[int, int] = (0, 0)  # event frames (start, stop) stamped; stop 0 = to the end

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Stamp the trigger into images whose last three axes are (C, H, W); returns a copy.

        Event frames (..., T, C, H, W) are stamped in every frame, or in `frames` only.
        """
        start, stop = self.frames
        if x.ndim < 4 or (start == 0 and stop == 0):
            return self._stamp(x)
        out = x.copy()
        window = (..., slice(start, stop or None), slice(None), slice(None), slice(None))
        out[window] = self._stamp(x[window])
        return out

    def _stamp(self, x: np.ndarray) -> np.ndarray:
        return (x * (1.0 - self.mask) + self.pattern * self.mask).astype(x.dtype, copy=False)


class SampleTrigger(Protocol):
    """What poisoning needs of any trigger: stamp it into a batch of samples (a copy).

    `PlacedTrigger` (the same pattern everywhere), the event kinds of attack/event_triggers.py
    (per frame or per sample) and attack/dynamic_trigger.py's generator all have it."""

    def apply(self, x: np.ndarray) -> np.ndarray: ...


def white_trigger(side: int, channels: int = 1) -> Trigger:
    return Trigger(np.ones((channels, side, side), np.float32), np.ones((side, side), bool))


def polarity_trigger(side: int, polarity: int) -> Trigger:
    """The paper's event trigger: a square on two polarity channels (see the module text)."""
    if polarity not in POLARITY_CHANNELS:
        raise TriggerError(f"trigger.polarity = {polarity} is not one of: 0, 1, 2")
    pattern = np.zeros((2, side, side), np.float32)
    pattern[list(POLARITY_CHANNELS[polarity])] = 1.0
    return Trigger(pattern, np.ones((side, side), bool))


def random_trigger(side: int, channels: int, seed: int) -> Trigger:
    pattern = np.random.default_rng(seed).random((channels, side, side), dtype=np.float32)
    return Trigger(pattern, np.ones((side, side), bool))


def array_trigger(values: object) -> Trigger:
    """A trigger from nested lists or an array, shape (h, w) or (c, h, w); NaN = transparent."""
    try:
        array = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TriggerError(
            f"trigger pattern is not a rectangular array of numbers: {exc}"
        ) from None
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or 0 in array.shape:
        raise TriggerError(
            f"trigger pattern must have shape (h, w) or (c, h, w), got {array.shape}"
        )
    opaque = ~np.isnan(array)
    values_ok = array[opaque]
    if values_ok.size and (values_ok.min() < 0 or values_ok.max() > 1):
        raise TriggerError("trigger pattern values must lie in [0, 1]")
    return Trigger(np.nan_to_num(array, nan=0.0), opaque.all(axis=0))


def image_trigger(path: str | Path) -> Trigger:
    """A trigger from a PNG (alpha = 0 is transparent) or an NPY array (NaN is transparent)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise TriggerError(f"trigger file not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as exc:  # numpy's header parser fails on bad bytes in many ways
            raise TriggerError(
                f"{path}: cannot read NPY trigger ({type(exc).__name__}: {exc})"
            ) from None
        return array_trigger(array)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if max(img.size) > MAX_TRIGGER_SIDE:
                raise TriggerError(
                    f"{path}: a {img.size[0]}x{img.size[1]} image is no trigger (at most "
                    f"{MAX_TRIGGER_SIDE} pixels a side)"
                )
            rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
            grey = img.mode in ("1", "L", "LA", "I", "I;16", "F")
    except TriggerError:
        raise
    except UnidentifiedImageError:
        raise TriggerError(
            f"{path}: cannot read image trigger (not an image: use PNG or NPY)"
        ) from None
    except Exception as exc:  # PIL's decoders fail on damaged files in many ways
        raise TriggerError(
            f"{path}: cannot read image trigger ({type(exc).__name__}: {exc})"
        ) from None
    pattern = rgba[..., :1] if grey else rgba[..., :3]
    return Trigger(np.ascontiguousarray(pattern.transpose(2, 0, 1)), rgba[..., 3] > 0)


def build_trigger(
    cfg: TriggerConfig, image_shape: tuple[int, int, int], is_event: bool = False
) -> Trigger:
    """The trigger described by `cfg`, sized for images (or event frames) of shape (C, H, W)."""
    channels, height, width = image_shape
    default_side = default_event_trigger_side if is_event else default_trigger_side
    side = cfg.size or default_side(min(height, width))
    if cfg.kind == "white" and is_event:
        if channels != 2:
            raise TriggerError(f"a polarity trigger needs 2-channel frames, these have {channels}")
        return polarity_trigger(side, cfg.polarity)
    if cfg.kind == "white":
        return white_trigger(side, channels)
    if cfg.kind == "random":
        return random_trigger(side, channels, cfg.seed)
    if cfg.kind == "array":
        return array_trigger(cfg.pattern)
    if cfg.kind == "image":
        return image_trigger(cfg.path)
    raise TriggerError(f"unknown trigger kind '{cfg.kind}'")


def corner_offset(position: str, trigger: Trigger, height: int, width: int) -> tuple[int, int]:
    if position not in CORNERS:
        raise TriggerError(f"unknown trigger position '{position}'")
    top = 0 if position.startswith("top") else height - trigger.height
    left = 0 if position.endswith("left") else width - trigger.width
    return top, left


def place_trigger(
    trigger: Trigger,
    image_shape: tuple[int, int, int],
    position: str,
    x: int = 0,
    y: int = 0,
    frames: tuple[int, int] = (0, 0),
) -> PlacedTrigger:
    """Place `trigger` on images of shape (C, H, W) at a corner or (for 'xy') at column x, row y;
    on event data only in `frames` (start, stop), stop 0 meaning to the last frame."""
    channels, height, width = image_shape
    if trigger.height > height or trigger.width > width:
        raise TriggerError(
            f"trigger of {trigger.height}x{trigger.width} is larger than the {height}x{width} image"
        )
    if trigger.pattern.shape[0] not in (1, channels):
        raise TriggerError(
            f"trigger has {trigger.pattern.shape[0]} channels; the images have {channels}"
        )
    if position == "xy":
        top, left = y, x
        if not (0 <= top <= height - trigger.height and 0 <= left <= width - trigger.width):
            raise TriggerError(
                f"trigger of {trigger.height}x{trigger.width} at x={x}, y={y} leaves the "
                f"{height}x{width} image"
            )
    else:
        top, left = corner_offset(position, trigger, height, width)
    pattern = np.zeros(image_shape, np.float32)
    mask = np.zeros((1, height, width), np.float32)
    rows, cols = slice(top, top + trigger.height), slice(left, left + trigger.width)
    pattern[:, rows, cols] = trigger.pattern  # broadcasts a one-channel pattern to all channels
    mask[0, rows, cols] = trigger.mask
    return PlacedTrigger(pattern * mask, mask, top, left, frames)


def placed_trigger_from_config(
    cfg: TriggerConfig, image_shape: tuple[int, int, int], is_event: bool = False
) -> PlacedTrigger:
    """The trigger of `cfg` placed on images of shape (C, H, W) or, with `is_event`, on event
    frames (polarity square, frame range)."""
    trigger = build_trigger(cfg, image_shape, is_event)
    frames = (cfg.frame_start, cfg.frame_stop) if is_event else (0, 0)
    return place_trigger(trigger, image_shape, cfg.position, cfg.x, cfg.y, frames)
