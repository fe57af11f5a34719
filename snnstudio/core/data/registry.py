"""Dataset names -> loaders and capabilities. The one place that turns `data.*` config into
arrays and says which datasets are event data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from snnstudio.core.config import DataConfig, SimConfig
from snnstudio.core.data.base import DatasetSplits, seeded_subset
from snnstudio.core.data.cifar10 import load_cifar10
from snnstudio.core.data.cifar10dvs import count_cifar10dvs, load_cifar10dvs
from snnstudio.core.data.digits import load_digits_dataset
from snnstudio.core.data.digits_dvs import load_digits_dvs
from snnstudio.core.data.dvsgesture import load_dvsgesture
from snnstudio.core.data.event_frames import EventLoadOptions, resolve_cache_dir
from snnstudio.core.data.mnist import load_mnist
from snnstudio.core.data.nmnist import count_nmnist, load_nmnist
from snnstudio.core.errors import DatasetError
from snnstudio.core.events import CancelToken, check_cancel


@dataclass(frozen=True)
class LoadRequest:
    """What a loader needs beyond data.*: the run's seed (subsets) and T (event frames)."""

    seed: int = 0
    timesteps: int = SimConfig.timesteps
    cancel: CancelToken | None = None  # a superseded check (the window) stops early


def event_options(cfg: DataConfig, request: LoadRequest) -> EventLoadOptions:
    return EventLoadOptions(
        timesteps=request.timesteps, frames_by=cfg.frames_by, side=cfg.frame_side,
        cache_dir=resolve_cache_dir(cfg.cache_dir), train_limit=cfg.train_limit,
        test_limit=cfg.test_limit, seed=request.seed, cancel=request.cancel,
    )  # fmt: skip


Loader = Callable[[DataConfig, LoadRequest], DatasetSplits]


@dataclass(frozen=True)
class NominalSize:
    """A full dataset's size, known without loading it (the memory estimate reads it; a
    folder holding a subset needs less, never more).

    Attributes
    ----------
    shape : (C, H, W) of an image, or of one event frame at the sensor's resolution
        (`data.frame_side` replaces H and W).
    train, test : samples per split.
    classes : number of classes.
    """

    shape: tuple[int, int, int]
    train: int
    test: int
    classes: int


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset's loader and what it is: the one place other modules ask about a dataset.

    Attributes
    ----------
    load : builds the splits from `data.*` and the run's seed and T.
    needs_root : the files live in `data.root` (False for the embedded datasets).
    is_event : samples are event frames (N, T, 2, H, W) with T = sim.timesteps, not images.
    size : the full dataset's nominal size.
    count : (train, test) samples in `data.root`, counted without reading them, for folders
        that often hold a subset (event recordings, one file per sample); None where the
        nominal size stands (MNIST's and CIFAR-10's files are whole splits).
    """

    load: Loader
    needs_root: bool
    is_event: bool
    size: NominalSize
    count: Callable[[str], tuple[int, int]] | None = None


DATASETS: dict[str, DatasetEntry] = {
    "digits": DatasetEntry(
        lambda cfg, req: load_digits_dataset(), False, False,
        NominalSize((1, 28, 28), 1437, 360, 10),
    ),
    "mnist": DatasetEntry(
        lambda cfg, req: load_mnist(cfg.root), True, False,
        NominalSize((1, 28, 28), 60000, 10000, 10),
    ),
    "cifar10": DatasetEntry(
        lambda cfg, req: load_cifar10(cfg.root), True, False,
        NominalSize((3, 32, 32), 50000, 10000, 10),
    ),
    "digits-dvs": DatasetEntry(
        lambda cfg, req: load_digits_dvs(event_options(cfg, req)), False, True,
        NominalSize((2, 34, 34), 1437, 360, 10),
    ),
    "nmnist": DatasetEntry(
        lambda cfg, req: load_nmnist(cfg.root, event_options(cfg, req)), True, True,
        NominalSize((2, 34, 34), 60000, 10000, 10), count_nmnist,
    ),
    "cifar10dvs": DatasetEntry(
        lambda cfg, req: load_cifar10dvs(cfg.root, event_options(cfg, req)), True, True,
        NominalSize((2, 128, 128), 9000, 1000, 10), count_cifar10dvs,
    ),
    "dvsgesture": DatasetEntry(
        lambda cfg, req: load_dvsgesture(cfg.root, event_options(cfg, req)), True, True,
        NominalSize((2, 128, 128), 1077, 264, 11),
    ),
}  # fmt: skip


def dataset_names() -> list[str]:
    return list(DATASETS)


def is_event_dataset(name: str) -> bool:
    """True for a known dataset of event frames (False for images and unknown names)."""
    return bool(getattr(DATASETS.get(name), "is_event", False))


def needs_root(name: str) -> bool:
    """True for a known dataset whose files live in data.root."""
    return bool(getattr(DATASETS.get(name), "needs_root", False))


def nominal_size(cfg: DataConfig) -> NominalSize:
    """The size of `cfg.name` as `cfg` frames it (event frames at data.frame_side, when set),
    before data.train_limit / data.test_limit."""
    entry = DATASETS.get(cfg.name)
    if entry is None:
        raise DatasetError(f"unknown dataset '{cfg.name}': one of {', '.join(DATASETS)}")
    size = entry.size
    if entry.is_event and cfg.frame_side:
        size = dataclasses.replace(size, shape=(size.shape[0], cfg.frame_side, cfg.frame_side))
    return size


def folder_size(cfg: DataConfig) -> NominalSize:
    """`nominal_size`, with the samples counted in data.root where the dataset can count them
    cheaply (a folder of 1000 N-MNIST recordings is not 60000). A folder that cannot be
    counted keeps the nominal size: the loader reports what is wrong with it."""
    size = nominal_size(cfg)
    count = DATASETS[cfg.name].count
    if count is None or not cfg.root:
        return size
    try:
        train, test = count(cfg.root)
    except (DatasetError, OSError):
        return size
    return dataclasses.replace(size, train=train, test=test)


def load_dataset(
    cfg: DataConfig,
    seed: int = 0,
    timesteps: int = SimConfig.timesteps,
    cancel: CancelToken | None = None,
) -> DatasetSplits:
    """Load the dataset `cfg.name`, cut to data.train_limit / data.test_limit when set.

    Event datasets are framed into `timesteps` frames (pass the run's sim.timesteps).
    `cancel` is checked while event files are decoded and after loading (raises Cancelled).
    """
    splits = DATASETS[cfg.name].load(cfg, LoadRequest(seed, timesteps, cancel))
    check_cancel(cancel)
    if splits.is_event and splits.train.x.shape[1] != timesteps:
        raise DatasetError(
            f"{cfg.name}: frames carry {splits.train.x.shape[1]} timesteps, the run asks for "
            f"{timesteps} (sim.timesteps)"
        )
    splits.train = seeded_subset(splits.train, cfg.train_limit, seed)
    splits.test = seeded_subset(splits.test, cfg.test_limit, seed + 1)
    return splits
