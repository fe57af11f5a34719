"""Dataset names -> loaders. The one place that turns `data.*` config into arrays."""

from __future__ import annotations

from collections.abc import Callable

from snnstudio.core.config import DataConfig
from snnstudio.core.data.base import DatasetSplits, seeded_subset
from snnstudio.core.data.cifar10 import load_cifar10
from snnstudio.core.data.digits import load_digits_dataset
from snnstudio.core.data.mnist import load_mnist

Loader = Callable[[DataConfig], DatasetSplits]

LOADERS: dict[str, Loader] = {
    "digits": lambda cfg: load_digits_dataset(),
    "mnist": lambda cfg: load_mnist(cfg.root),
    "cifar10": lambda cfg: load_cifar10(cfg.root),
}
NEEDS_ROOT = {"mnist", "cifar10"}


def dataset_names() -> list[str]:
    return list(LOADERS)


def load_dataset(cfg: DataConfig, seed: int = 0) -> DatasetSplits:
    """Load the dataset `cfg.name`, cut to data.train_limit / data.test_limit when set."""
    splits = LOADERS[cfg.name](cfg)
    splits.train = seeded_subset(splits.train, cfg.train_limit, seed)
    splits.test = seeded_subset(splits.test, cfg.test_limit, seed + 1)
    return splits
