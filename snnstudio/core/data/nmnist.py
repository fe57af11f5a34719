"""N-MNIST from its official folder layout `Train|Test/<digit>/<id>.bin`, read with tonic.

tonic's NMNIST class insists on at least 10000 files before it stops trying to download, and
nothing can be downloaded here; users often hold a subset. So the files that are present are
listed here and each is decoded with tonic's own reader (`tonic.io.read_mnist_file`); the run
log says how many samples were found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from snnstudio.core.data.base import DatasetSplits, SampleSet, require_folder
from snnstudio.core.data.event_frames import (
    EventLoadOptions,
    limit_files,
    load_event_splits,
    load_framed,
    read_guarded,
)
from snnstudio.core.errors import DatasetError

NMNIST_SENSOR = (34, 34, 2)  # width, height, polarities
NMNIST_EVENT_BYTES = 5
NMNIST_FULL_SIZES = {"Train": 60000, "Test": 10000}
NMNIST_READER = "nmnist"


def read_nmnist_events(path: Path) -> np.ndarray:
    """One N-MNIST recording as a structured array (x, y, t, p); t in microseconds."""
    from tonic.datasets import NMNIST  # tonic is imported where it is used: slow to load
    from tonic.io import read_mnist_file

    size = path.stat().st_size
    if size % NMNIST_EVENT_BYTES:
        raise DatasetError(
            f"{path}: {size} bytes is not a whole number of 5-byte N-MNIST events "
            "(truncated or not an N-MNIST file)"
        )
    return read_guarded(lambda p: read_mnist_file(str(p), dtype=NMNIST.dtype), path, "N-MNIST")


def find_split_folder(root: Path, split: str) -> Path:
    for folder in (root / split, root / "NMNIST" / split):
        if folder.is_dir():
            return folder
    raise DatasetError(
        f"no N-MNIST '{split}' folder in {root}: expected {root / split}/<digit>/<id>.bin"
    )


def list_nmnist_files(folder: Path) -> tuple[list[Path], list[int]]:
    """Every `<digit>/<id>.bin` under `folder`, sorted, with the digit as label."""
    paths: list[Path] = []
    labels: list[int] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not (sub.name.isdigit() and 0 <= int(sub.name) <= 9):
            raise DatasetError(
                f"{sub}: N-MNIST class folders must be named 0..9 (official layout "
                "Train|Test/<digit>/<id>.bin)"
            )
        files = sorted(sub.glob("*.bin"))
        paths += files
        labels += [int(sub.name)] * len(files)
    if not paths:
        raise DatasetError(f"no N-MNIST .bin files in {folder}/<digit>/")
    return paths, labels


def count_nmnist(root: str | Path) -> tuple[int, int]:
    """Recordings in the Train and Test folders under `root`, without reading them."""
    root = require_folder(root, "N-MNIST")
    train, test = (list_nmnist_files(find_split_folder(root, s))[0] for s in ("Train", "Test"))
    return len(train), len(test)


def load_nmnist(root: str | Path, options: EventLoadOptions) -> DatasetSplits:
    """N-MNIST as frames (N, T, 2, 34, 34) (or downsampled); train on Train, test on Test."""
    root = require_folder(root, "N-MNIST")
    spec = options.spec(NMNIST_SENSOR)
    notes: list[str] = []

    def load_split(split: str, limit: int, seed: int) -> SampleSet:
        folder_name = split.capitalize()  # N-MNIST's folders are Train and Test
        folder = find_split_folder(root, folder_name)
        paths, labels = list_nmnist_files(folder)
        notes.append(
            f"N-MNIST {folder_name}: found {len(paths)} recordings in {folder} "
            f"(the full split has {NMNIST_FULL_SIZES[folder_name]})"
        )
        paths, labels = limit_files(paths, labels, limit, seed)
        return load_framed(
            read_nmnist_events, NMNIST_READER, paths, labels, spec, options.cache_dir, notes,
            options.cancel,
        )  # fmt: skip

    classes = [str(d) for d in range(10)]
    return load_event_splits("nmnist", classes, options, notes, load_split)
