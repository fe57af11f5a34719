"""The containers every dataset loader returns and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snnstudio.core.errors import DatasetError


@dataclass
class SampleSet:
    """Samples with their labels, in the BackdoorBench style.

    Attributes
    ----------
    x : float32 array, shape (N, C, H, W) for images or (N, T, C, H, W) for event frames,
        values in [0, 1] for images.
    y : int64 array (N,), the label used for training or scoring (the target class for
        poisoned samples).
    original_y : int64 array (N,), the true class before any label change.
    is_poison : bool array (N,), whether the trigger was stamped into the sample.
    """

    x: np.ndarray
    y: np.ndarray
    original_y: np.ndarray
    is_poison: np.ndarray

    @classmethod
    def clean(cls, x: np.ndarray, y: np.ndarray) -> SampleSet:
        y = np.asarray(y, dtype=np.int64)
        return cls(np.asarray(x, dtype=np.float32), y, y.copy(), np.zeros(len(y), dtype=bool))

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: np.ndarray) -> SampleSet:
        return SampleSet(
            self.x[indices], self.y[indices], self.original_y[indices], self.is_poison[indices]
        )


@dataclass
class DatasetSplits:
    """A loaded dataset: train and test sets plus what the models need to know about it."""

    name: str
    train: SampleSet
    test: SampleSet
    classes: list[str]
    is_event: bool = False  # samples carry their own time axis (N, T, C, H, W)
    notes: list[str] = field(default_factory=list)  # for the run log: samples found, cache use

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one frame."""
        c, h, w = self.train.x.shape[-3:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def seeded_subset(samples: SampleSet, limit: int, seed: int) -> SampleSet:
    """A reproducible random subset of `limit` samples (all of them when limit is 0 or larger)."""
    if limit <= 0 or limit >= len(samples):
        return samples
    return samples.subset(seeded_indices(len(samples), limit, seed))


def seeded_indices(count: int, limit: int, seed: int) -> np.ndarray:
    """The sorted indices `seeded_subset` keeps; loaders use them to read only those files."""
    if limit <= 0 or limit >= count:
        return np.arange(count)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=limit, replace=False))


def require_folder(root: str | Path, what: str) -> Path:
    """The dataset folder `root` as a Path, or a clear error when it is unset or missing."""
    if not str(root).strip():
        raise DatasetError(f"{what} needs a folder: set data.root")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetError(f"{what} folder not found: {path}")
    return path
