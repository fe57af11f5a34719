"""The event-data triggers of the SNN backdoor literature beyond the paper's static square.

Every trigger here works on event frames (N, T, 2, H, W) and has `apply(x) -> x'` (a copy),
as `PlacedTrigger` does, so poisoning, the triggered test set and the GUI treat them alike:

- `moving` (Sneaky Spikes): the polarity square travels `trigger.speed` pixels per frame in
  `trigger.direction`, starting at `trigger.position`, and bounces back at the frame's edge.
- `strobing` (Flashy Backdoor): the static square, on `trigger.strobe_on` frames, off
  `trigger.strobe_off` frames, repeating inside frame_start .. frame_stop.
- `framed` (a frame border): a `trigger.border`-pixel border of the polarity pattern around
  the frame, on the frames frame_start .. frame_stop. (Flashy Backdoor's code calls its square
  over a window of frames "framed"; that one is `white` with frame_start / frame_stop.)
- `flashy` (Flashy Backdoor): the whole frame set to the polarity pattern, on the frames of
  the strobe schedule (a flash of the camera).
- `smart` (Sneaky Spikes): per sample, the frame is cut into trigger.region_grid^2 regions;
  the square goes into the least (or most) active one by event count, with the (OFF, ON)
  pattern that is the least (or most) frequent there, and wanders 2 pixels a frame inside it.
- `dynamic` (Sneaky Spikes): attack/dynamic_trigger.py, x' = x + gamma * G(x).

The polarity square's channels follow trigger.polarity (attack/trigger.py's mapping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnstudio.core.attack.trigger import (
    POLARITY_CHANNELS,
    SampleTrigger,
    corner_offset,
    default_event_trigger_side,
    placed_trigger_from_config,
    polarity_trigger,
)
from snnstudio.core.config import EVENT_TRIGGER_KINDS, TriggerConfig
from snnstudio.core.errors import TriggerError

DIRECTIONS = {  # trigger.direction -> (rows, columns) per step
    "right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0),
    "down-right": (1, 1), "down-left": (1, -1), "up-right": (-1, 1), "up-left": (-1, -1),
}  # fmt: skip
SQUARE_KINDS = ("moving", "strobing", "framed", "flashy")  # one pattern per frame, all samples
EVENT_ONLY_KINDS = EVENT_TRIGGER_KINDS
SMART_STEP = 2  # pixels the smart square wanders per frame (Sneaky Spikes' r)
# the four (OFF, ON) values a smart square can take; Sneaky Spikes' order 0..3
SMART_PATTERNS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))


def bounce(start: int, step: int, limit: int) -> int:
    """`start + step` folded into 0..limit (a ball bouncing between two walls)."""
    if limit <= 0:
        return 0
    position = (start + step) % (2 * limit)
    return position if position <= limit else 2 * limit - position


def strobe_frames(cfg: TriggerConfig, timesteps: int) -> np.ndarray:
    """Boolean (T,): the frames of frame_start .. frame_stop that the strobe schedule lights
    (strobe_on frames on, strobe_off off, from frame_start on)."""
    stop = cfg.frame_stop or timesteps
    lit = np.zeros(timesteps, bool)
    period = cfg.strobe_on + cfg.strobe_off
    for t in range(cfg.frame_start, min(stop, timesteps)):
        lit[t] = (t - cfg.frame_start) % period < cfg.strobe_on
    return lit


def window_frames(cfg: TriggerConfig, timesteps: int) -> np.ndarray:
    lit = np.zeros(timesteps, bool)
    lit[cfg.frame_start : cfg.frame_stop or timesteps] = True
    return lit


@dataclass(frozen=True)
class FrameScheduleTrigger:
    """A trigger that is the same for every sample but may change from frame to frame:
    `masks(T)` gives (T, 1, H, W) and `patterns(T)` (T, C, H, W), stamped as
    x' = x * (1 - m) + p * m."""

    cfg: TriggerConfig
    image_shape: tuple[int, int, int]
    side: int

    def apply(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 5:
            kind = self.cfg.kind
            raise TriggerError(f"trigger.kind = '{kind}' needs event frames (N, T, C, H, W)")
        mask, pattern = self.masks(x.shape[1]), self.patterns(x.shape[1])
        return (x * (1.0 - mask) + pattern * mask).astype(x.dtype, copy=False)

    def masks(self, timesteps: int) -> np.ndarray:
        _, height, width = self.image_shape
        mask = np.zeros((timesteps, 1, height, width), np.float32)
        kind, side = self.cfg.kind, self.side
        if kind == "moving":
            for t, (top, left) in enumerate(self.moving_path(timesteps)):
                mask[t, 0, top : top + side, left : left + side] = 1.0
            return mask
        if kind == "framed":
            border = np.ones((height, width), np.float32)
            b = self.cfg.border
            border[b : height - b, b : width - b] = 0.0
            mask[window_frames(self.cfg, timesteps), 0] = border
            return mask
        lit = strobe_frames(self.cfg, timesteps)
        if kind == "flashy":
            mask[lit] = 1.0
            return mask
        top, left = self.corner()
        mask[lit, 0, top : top + side, left : left + side] = 1.0  # strobing
        return mask

    def patterns(self, timesteps: int) -> np.ndarray:
        channels, height, width = self.image_shape
        pattern = np.zeros((1, channels, height, width), np.float32)
        pattern[0, list(POLARITY_CHANNELS[self.cfg.polarity])] = 1.0
        return np.broadcast_to(pattern, (timesteps, channels, height, width))

    def corner(self) -> tuple[int, int]:
        _, height, width = self.image_shape
        if self.cfg.position == "xy":
            return self.cfg.y, self.cfg.x
        return corner_offset(self.cfg.position, polarity_trigger(self.side, 0), height, width)

    def moving_path(self, timesteps: int) -> list[tuple[int, int]]:
        """(top, left) of the square in each frame: from its position, `speed` pixels a frame
        along `direction`, bouncing at the edges."""
        _, height, width = self.image_shape
        top, left = self.corner()
        rows, cols = DIRECTIONS[self.cfg.direction]
        speed = self.cfg.speed
        return [
            (bounce(top, rows * speed * t, height - self.side),
             bounce(left, cols * speed * t, width - self.side))
            for t in range(timesteps)
        ]  # fmt: skip


@dataclass(frozen=True)
class SmartTrigger:
    """Sneaky Spikes' smart trigger, chosen per sample from its own events, or with
    trigger.region_scope = 'set' once for all the samples stamped together (their code counts
    the events of the whole poisoned batch at once, so all its samples share one region and
    pattern). The wander is seeded by trigger.seed, so the same config poisons the same set
    the same way."""

    cfg: TriggerConfig
    image_shape: tuple[int, int, int]
    side: int

    def regions(self) -> list[tuple[int, int, int, int]]:
        """(top, bottom, left, right) of each grid cell, row by row."""
        _, height, width = self.image_shape
        n = self.cfg.region_grid
        rows = np.linspace(0, height, n + 1).astype(int)
        cols = np.linspace(0, width, n + 1).astype(int)
        return [(rows[i], rows[i + 1], cols[j], cols[j + 1]) for i in range(n) for j in range(n)]

    def choose(self, sample: np.ndarray) -> tuple[tuple[int, int, int, int], int]:
        """The region of `sample` (T, 2, H, W) and the index of its SMART_PATTERNS value."""
        counts, patterns = [], []
        for top, bottom, left, right in self.regions():
            off = sample[:, 0, top:bottom, left:right] > 0.5
            on = sample[:, 1, top:bottom, left:right] > 0.5
            combos = [(~off & ~on).sum(), (~off & on).sum(), (off & ~on).sum(), (off & on).sum()]
            counts.append(int(off.sum() + on.sum()))
            patterns.append(combos)
        pick = np.argmin if self.cfg.region == "least" else np.argmax
        index = int(pick(counts))
        pick_pattern = np.argmin if self.cfg.region_polarity == "least" else np.argmax
        return self.regions()[index], int(pick_pattern(patterns[index]))

    def choose_for_set(self, x: np.ndarray) -> tuple[tuple[int, int, int, int], int]:
        """One region and pattern for all of `x` (N, T, 2, H, W), from the events of all its
        samples together (trigger.region_scope = 'set', Sneaky Spikes' code)."""
        return self.choose(x.reshape(-1, *x.shape[2:]))

    def apply(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 5 or x.shape[2] != 2:
            raise TriggerError("trigger.kind = 'smart' needs 2-channel event frames")
        out = x.copy()
        rng = np.random.default_rng(self.cfg.seed)
        shared = self.choose_for_set(x) if self.cfg.region_scope == "set" and len(x) else None
        for i in range(len(x)):
            region, pattern = shared or self.choose(x[i])
            value = np.asarray(SMART_PATTERNS[pattern], x.dtype)[:, None, None]
            for t, (top, left) in enumerate(self.wander(region, x.shape[1], rng)):
                rows, cols = slice(top, top + self.side), slice(left, left + self.side)
                out[i, t, :, rows, cols] = value
        return out

    def wander(
        self, region: tuple[int, int, int, int], timesteps: int, rng: np.random.Generator
    ) -> list[tuple[int, int]]:
        """(top, left) per frame: a random start in the region, then SMART_STEP pixels up or
        down and left or right each frame, kept inside the region (or the frame, when the
        region is smaller than the square)."""
        _, height, width = self.image_shape
        top, bottom, left, right = region
        low_r, high_r = top, max(top, min(bottom, height) - self.side)
        low_c, high_c = left, max(left, min(right, width) - self.side)
        r, c = int(rng.integers(low_r, high_r + 1)), int(rng.integers(low_c, high_c + 1))
        path = []
        for _ in range(timesteps):
            r = int(np.clip(r + SMART_STEP * rng.choice((-1, 1)), low_r, high_r))
            c = int(np.clip(c + SMART_STEP * rng.choice((-1, 1)), low_c, high_c))
            path.append((min(r, height - self.side), min(c, width - self.side)))
        return path


def event_trigger_from_config(
    cfg: TriggerConfig, image_shape: tuple[int, int, int], side: int
) -> FrameScheduleTrigger | SmartTrigger:
    """The trigger of an event-only kind but `dynamic` (which needs training, see
    attack/dynamic_trigger.py), for frames of shape (C, H, W) and a square of `side`."""
    channels, height, width = image_shape
    if channels != 2:
        raise TriggerError(
            f"trigger.kind = '{cfg.kind}' needs 2-channel event frames, these have {channels}"
        )
    if side > min(height, width):
        raise TriggerError(f"trigger of {side}x{side} is larger than the {height}x{width} frames")
    if cfg.kind == "smart":
        return SmartTrigger(cfg, image_shape, side)
    if cfg.kind in SQUARE_KINDS:
        return FrameScheduleTrigger(cfg, image_shape, side)
    raise TriggerError(f"unknown event trigger kind '{cfg.kind}'")


def square_side(cfg: TriggerConfig, image_shape: tuple[int, int, int]) -> int:
    """The side of an event kind's square: trigger.size, else the paper's default."""
    return cfg.size or default_event_trigger_side(min(image_shape[1:]))


def trigger_from_config(
    cfg: TriggerConfig, image_shape: tuple[int, int, int], is_event: bool = False
) -> SampleTrigger:
    """The trigger `cfg` describes for samples of shape (C, H, W), any kind but `dynamic`
    (which is trained on the data: attack/dynamic_trigger.py, `train_dynamic_trigger`)."""
    if cfg.kind not in EVENT_ONLY_KINDS:
        return placed_trigger_from_config(cfg, image_shape, is_event)
    if not is_event:
        raise TriggerError(f"trigger.kind = '{cfg.kind}' needs event data (frames over time)")
    if cfg.kind == "dynamic":
        raise TriggerError("trigger.kind = 'dynamic' is trained on the data, not placed")
    return event_trigger_from_config(cfg, image_shape, square_side(cfg, image_shape))
