"""The embedded neuromorphic default: scikit-learn's digits seen by a simulated event camera.

Made the way N-MNIST was made (Orchard et al. 2015): each digit (the 28x28 images of the
`digits` dataset) sits on a 34x34 sensor and moves along three small saccades, a triangle
(0, 0) -> (2, 4) -> (4, 0) -> (0, 0) pixels in 3 x 100 ms (N-MNIST's path, scaled so the
digit stays on the sensor). A pixel fires an event each time its log intensity moves a
contrast threshold away from the level of its last event: ON (polarity 1) when brighter,
OFF (polarity 0) when darker. No noise is added, so the data set is deterministic; it
needs no files and is framed and cached like the real event datasets.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import torch
import torch.nn.functional as F

from snnstudio.core.data.base import DatasetSplits, SampleSet, seeded_indices
from snnstudio.core.data.digits import load_digits_dataset
from snnstudio.core.data.event_frames import (
    EventLoadOptions,
    cached_frames,
    decode_and_frame,
    load_event_splits,
)
from snnstudio.core.data.nmnist import NMNIST_SENSOR

SACCADE_PATH = ((0.0, 0.0), (2.0, 4.0), (4.0, 0.0), (0.0, 0.0))  # (dx, dy) corners, pixels
SACCADE_US = 100_000  # duration of one saccade
STEPS_PER_SACCADE = 10  # camera samples per saccade (10 ms apart)
CONTRAST_THRESHOLD = 0.25  # change of log intensity per event
LOG_EPS = 0.1  # log(I + eps): keeps the dark background finite
CANVAS_OFFSET = 1  # the digit's top-left corner at rest
GENERATOR_VERSION = 1  # bump when the simulation changes (invalidates cached frames)
EVENT_DTYPE = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])


def saccade_offsets() -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy) of every camera sample and its timestamp in microseconds."""
    offsets = [np.asarray(SACCADE_PATH[0])]
    for start, stop in itertools.pairwise(SACCADE_PATH):
        for k in range(1, STEPS_PER_SACCADE + 1):
            offsets.append(
                np.asarray(start) + (np.asarray(stop) - np.asarray(start)) * k / (STEPS_PER_SACCADE)
            )
    times = np.arange(len(offsets)) * (SACCADE_US // STEPS_PER_SACCADE)
    return np.stack(offsets), times


def shifted_view(canvas: torch.Tensor, dx: float, dy: float) -> torch.Tensor:
    """Canvases (N, 1, side, side) moved by (dx, dy) pixels, bilinear: (N, side, side)."""
    n, _, side, _ = canvas.shape
    # affine_grid works in [-1, 1] units: a shift of d pixels is 2 d / side
    theta = torch.tensor(
        [[1.0, 0.0, -2 * dx / side], [0.0, 1.0, -2 * dy / side]], dtype=torch.float32
    )
    grid = F.affine_grid(theta[None], [1, 1, side, side], align_corners=False)
    return F.grid_sample(canvas, grid.expand(n, -1, -1, -1), align_corners=False)[:, 0]


def simulate_events(images: np.ndarray, side: int = NMNIST_SENSOR[0]) -> list[np.ndarray]:
    """Event recordings (x, y, t, p) of images (N, h, w) with values in [0, 1]."""
    n, h, w = images.shape
    canvas = torch.zeros(n, 1, side, side)
    canvas[:, 0, CANVAS_OFFSET : CANVAS_OFFSET + h, CANVAS_OFFSET : CANVAS_OFFSET + w] = (
        torch.from_numpy(images.astype(np.float32))
    )
    offsets, times = saccade_offsets()
    reference = torch.log(shifted_view(canvas, *offsets[0]) + LOG_EPS)
    found = []  # per camera sample: sample index, y, x, signed event count, time
    for (dx, dy), t in zip(offsets[1:], times[1:], strict=True):
        level = torch.log(shifted_view(canvas, dx, dy) + LOG_EPS)
        steps = torch.trunc((level - reference) / CONTRAST_THRESHOLD)
        reference += steps * CONTRAST_THRESHOLD
        idx, y, x = (v.numpy() for v in torch.nonzero(steps, as_tuple=True))
        count = steps[idx, y, x].numpy().astype(np.int64)
        found.append((idx, y, x, count, np.full(len(idx), t)))
    idx, y, x, count, t = (np.concatenate(parts) for parts in zip(*found, strict=True))
    repeat = np.abs(count)
    events = np.zeros(int(repeat.sum()), EVENT_DTYPE)
    for name, values in (("x", x), ("y", y), ("t", t), ("p", count > 0)):
        events[name] = np.repeat(values, repeat)
    owner = np.repeat(idx, repeat)
    order = np.argsort(owner, kind="stable")  # stable: each recording stays in time order
    bounds = np.searchsorted(owner[order], np.arange(n + 1))
    events = events[order]
    return [events[bounds[i] : bounds[i + 1]] for i in range(n)]


def _fingerprint(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]


def _event_set(name: str, static: SampleSet, options: EventLoadOptions, notes: list[str]):
    spec = options.spec(NMNIST_SENSOR)
    images = static.x[:, 0]
    payload = {
        "generator": GENERATOR_VERSION,
        "images": _fingerprint(images),
        "params": [SACCADE_PATH, SACCADE_US, STEPS_PER_SACCADE, CONTRAST_THRESHOLD, LOG_EPS],
    }

    def build() -> np.ndarray:
        notes.append(f"digits-dvs {name}: simulating the event camera for {len(images)} digits")
        recordings = simulate_events(images)
        return decode_and_frame(
            lambda i: recordings[i], range(len(recordings)), spec, options.cancel
        )

    frames = cached_frames(f"digits-dvs-{name}", payload, spec, build, options.cache_dir, notes)
    return SampleSet.clean(frames.astype(np.float32), static.y)


def load_digits_dvs(options: EventLoadOptions) -> DatasetSplits:
    """digits-dvs as frames (N, T, 2, 34, 34): 1437 training and 360 test samples."""
    static = load_digits_dataset()
    notes: list[str] = []
    images = {"train": static.train, "test": static.test}

    def load_split(split: str, limit: int, seed: int) -> SampleSet:
        # data.train_limit/test_limit apply before simulating: only kept digits are simulated
        kept = images[split].subset(seeded_indices(len(images[split]), limit, seed))
        return _event_set(split, kept, options, notes)

    return load_event_splits("digits-dvs", list(static.classes), options, notes, load_split)
