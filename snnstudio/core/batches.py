"""Mini-batches straight from in-memory arrays.

Written by hand rather than with torch's DataLoader: every dataset here already sits in
memory as one array, and slicing it is several times cheaper than per-sample collation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from snnstudio.core.data.base import SampleSet


@dataclass
class Batch:
    x: torch.Tensor
    y: torch.Tensor
    is_poison: torch.Tensor
    original_y: torch.Tensor


def iterate_batches(
    samples: SampleSet,
    batch_size: int,
    device: torch.device,
    rng: np.random.Generator | None = None,
    fold_single_tail: bool = False,
) -> Iterator[Batch]:
    """Batches in order, or shuffled by `rng` when given. With `fold_single_tail`, a last
    batch of one sample joins the one before it: training-mode batch norm cannot normalise a
    single value per channel (VGG11's 1x1 maps, its FC head, any ANN twin)."""
    order = rng.permutation(len(samples)) if rng is not None else np.arange(len(samples))
    for start, stop in batch_bounds(len(order), batch_size, fold_single_tail):
        idx = order[start:stop]
        if rng is None:
            idx = slice(int(idx[0]), int(idx[-1]) + 1)  # contiguous: a view, no copy
        yield Batch(
            to_device(samples.x[idx], device),
            to_device(samples.y[idx], device),
            to_device(samples.is_poison[idx], device),
            to_device(samples.original_y[idx], device),
        )


def batch_bounds(
    count: int, batch_size: int, fold_single_tail: bool = False
) -> list[tuple[int, int]]:
    """[start, stop) of each batch of `count` samples."""
    starts = list(range(0, count, batch_size))
    if fold_single_tail and len(starts) > 1 and count - starts[-1] == 1:
        starts.pop()
    return list(zip(starts, [*starts[1:], count], strict=True))


def pins_memory(device: torch.device) -> bool:
    """Whether host batches go through page-locked memory: for a CUDA device, where a
    pinned source lets the copy run asynchronously (non_blocking) beside the GPU's work."""
    return device.type == "cuda"


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """`array` as a tensor on `device`: on the CPU a view of it (no copy), for a GPU
    through pinned memory with a non-blocking copy."""
    tensor = torch.from_numpy(array)
    if not pins_memory(device):
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def batch_count(samples: SampleSet, batch_size: int, fold_single_tail: bool = False) -> int:
    return len(batch_bounds(len(samples), batch_size, fold_single_tail))
