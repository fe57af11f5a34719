"""MNIST from the official IDX files (gzip or raw), read with numpy.

Accepted layouts under `root`: the four files directly, or torchvision's `MNIST/raw/`.
torchvision itself is never imported (it does not load beside the CPU torch here).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from snnstudio.core.data.base import DatasetSplits, SampleSet, require_folder
from snnstudio.core.errors import DatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def find_idx_file(root: Path, stem: str) -> Path:
    """The file `stem`, `stem.gz` or Kaggle's `stem` with a dot before 'idx', in a known layout."""
    dotted = stem.replace("-idx", ".idx")
    for folder in (root, root / "MNIST" / "raw", root / "raw"):
        for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
            if (folder / name).is_file():
                return folder / name
    raise DatasetError(
        f"MNIST file '{stem}' (or '{stem}.gz') not found in {root} or {root / 'MNIST' / 'raw'}"
    )


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes, checking its magic number and its length."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 8:
        raise DatasetError(f"{path}: file is truncated ({len(raw)} bytes)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DatasetError(
            f"{path}: wrong magic number {found} (expected {magic}); not this IDX file"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if 0 in dims:
        raise DatasetError(f"{path}: IDX shape {tuple(dims)} holds no samples")
    expected = header + math.prod(dims)  # Python ints: four u32 sizes overflow int64
    if len(raw) != expected:
        raise DatasetError(
            f"{path}: expected {expected} bytes for shape {tuple(dims)}, found {len(raw)} "
            "(truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _split(root: Path, images_key: str, labels_key: str) -> SampleSet:
    images = read_idx(find_idx_file(root, MNIST_FILES[images_key]), IMAGES_MAGIC)
    labels = read_idx(find_idx_file(root, MNIST_FILES[labels_key]), LABELS_MAGIC)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(
            f"{root}: MNIST images {images.shape} and labels {labels.shape} do not match"
        )
    if labels.max(initial=0) > 9:
        raise DatasetError(f"{root}: MNIST labels must be 0..9, found {labels.max()}")
    return SampleSet.clean(images[:, None].astype(np.float32) / 255.0, labels)


def load_mnist(root: str | Path) -> DatasetSplits:
    root = require_folder(root, "MNIST")
    return DatasetSplits(
        name="mnist",
        train=_split(root, "train_images", "train_labels"),
        test=_split(root, "test_images", "test_labels"),
        classes=[str(d) for d in range(10)],
    )
