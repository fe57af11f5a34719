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
) -> Iterator[Batch]:
    """Batches in order, or shuffled by `rng` when given."""
    order = rng.permutation(len(samples)) if rng is not None else np.arange(len(samples))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        if rng is None:
            idx = slice(int(idx[0]), int(idx[-1]) + 1)  # contiguous: a view, no copy
        yield Batch(
            to_device(samples.x[idx], device),
            to_device(samples.y[idx], device),
            to_device(samples.is_poison[idx], device),
            to_device(samples.original_y[idx], device),
        )


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


def batch_count(samples: SampleSet, batch_size: int) -> int:
    return -(-len(samples) // batch_size)
