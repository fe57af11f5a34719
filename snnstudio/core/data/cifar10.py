"""CIFAR-10 from the official binary (`cifar-10-batches-bin`) or python (`cifar-10-batches-py`)
release, read with numpy.

The python batches are pickles. They are read with a restricted unpickler that can build
only numpy arrays and plain containers, so a hostile file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np

from snnstudio.core.data.base import DatasetSplits, SampleSet, require_folder
from snnstudio.core.errors import DatasetError

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
RECORD_BYTES = 1 + 3 * 32 * 32
# The only globals a CIFAR-10 pickle needs: numpy's array reconstruction (numpy 1 and 2 names).
SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global outside SAFE_GLOBALS."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load '{module}.{name}'")


# Protocol 5's out-of-band buffers: a damaged pickle can hand numpy a bytearray that is freed
# while an array still views it (the fuzz test saw "deallocated bytearray object has exported
# buffers"); CIFAR-10's protocol 2 batches never use them.
BUFFER_OPCODES = {"BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER"}


def safe_unpickle(path: Path) -> Any:
    try:
        data = path.read_bytes()
        for opcode, _arg, _pos in pickletools.genops(data):
            if opcode.name in BUFFER_OPCODES:
                raise pickle.UnpicklingError(f"refused opcode {opcode.name}")
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError as exc:
        raise DatasetError(f"{path}: unsafe or corrupt pickle ({exc})") from None
    except Exception as exc:  # the pickle machine fails on bad bytes in many ways
        raise DatasetError(f"{path}: cannot read pickle ({type(exc).__name__}: {exc})") from None


def _key(batch: dict[Any, Any], name: str) -> Any:
    for key in (name, name.encode()):
        if key in batch:
            return batch[key]
    raise KeyError(name)


def read_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"CIFAR-10 batch not found: {path}")
    batch = safe_unpickle(path)
    try:
        data = np.asarray(_key(batch, "data"), dtype=np.uint8)
        labels = np.asarray(_key(batch, "labels"), dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: not a CIFAR-10 batch (missing or bad {exc})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise DatasetError(f"{path}: expected data of shape (N, 3072), got {data.shape}")
    return data, labels


def read_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"CIFAR-10 batch not found: {path}")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise DatasetError(
            f"{path}: size {raw.size} is not a multiple of {RECORD_BYTES}-byte records "
            "(truncated or corrupt)"
        )
    records = raw.reshape(-1, RECORD_BYTES)
    return records[:, 1:], records[:, 0].astype(np.int64)


def _samples(parts: list[tuple[np.ndarray, np.ndarray]], where: Path) -> SampleSet:
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"{where}: CIFAR-10 labels must be 0..9, found {labels.max()}")
    x = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return SampleSet.clean(x, labels)


def load_cifar10(root: str | Path) -> DatasetSplits:
    """Load whichever official version is found in `root` (the batches folder or its parent)."""
    root = require_folder(root, "CIFAR-10")
    for folder in (root, root / "cifar-10-batches-bin", root / "cifar-10-batches-py"):
        if (folder / "data_batch_1.bin").is_file():
            read, suffix = read_binary_batch, ".bin"
        elif (folder / "data_batch_1").is_file():
            read, suffix = read_python_batch, ""
        else:
            continue
        train = _samples([read(folder / f"{b}{suffix}") for b in TRAIN_BATCHES], folder)
        test = _samples([read(folder / f"{TEST_BATCH}{suffix}")], folder)
        return DatasetSplits("cifar10", train, test, list(CIFAR10_CLASSES))
    raise DatasetError(
        f"no CIFAR-10 batches in {root}: expected data_batch_1.bin (binary version) or "
        "data_batch_1 (python version), directly or in cifar-10-batches-bin/-py"
    )
