"""CIFAR10-DVS from per-class folders: tonic's `.aedat4` files or the original AER-DAT 2.0.

Accepted layouts under `root` (or `root/CIFAR10DVS`): `<class>/<name>.aedat4` (the release tonic
downloads, read with tonic's `read_aedat4`, which needs the `aedat` package) and
`<class>/<name>.aedat` (the original release: jAER AER-DAT 2.0 from a DVS128). CIFAR10-DVS has no
official train/test split: as spikingjelly does, the first 90% of each class (in natural file
order, cifar10_cat_2 before cifar10_cat_10) train and the rest test.
"""

from __future__ import annotations

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from snnstudio.core.data.base import DatasetSplits, SampleSet, require_folder
from snnstudio.core.data.cifar10 import CIFAR10_CLASSES
from snnstudio.core.data.event_frames import (
    EventLoadOptions,
    limit_files,
    load_event_splits,
    load_framed,
    read_guarded,
)
from snnstudio.core.errors import DatasetError

DVS128_SENSOR = (128, 128, 2)
TRAIN_FRACTION = 0.9
AER_EVENT_BYTES = 8
EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
EXTERNAL_EVENT_BIT = 1 << 15  # jAER marks special (external input) events with address bit 15


def read_aedat2_dvs128(path: Path) -> np.ndarray:
    """AER-DAT 2.0 DVS128 events (x, y, t, p): tonic's header and record reader, then the jAER
    DVS128 address layout x = (a >> 1) & 127, y = (a >> 8) & 127, p = a & 1.

    tonic's own `read_dvs_128` is not used: in tonic 1.7 it unpacks the header reader's three
    return values into two names (a ValueError) and swaps x and y.
    """

    from tonic.io import (
        get_aer_events_from_file,
        read_aedat_header_from_file,
    )  # tonic is imported where it is used: it is slow to load and `run` rarely needs it

    def read(p: Path) -> np.ndarray:
        version, data_start, _ = read_aedat_header_from_file(str(p))
        if not 2 <= version < 3:
            raise DatasetError(f"{p}: AER-DAT {version} file, expected AER-DAT 2.0")
        body = p.stat().st_size - data_start
        if body % AER_EVENT_BYTES:
            raise DatasetError(
                f"{p}: {body} bytes of events is not a whole number of 8-byte AER-DAT 2.0 "
                "records (truncated file)"
            )
        return get_aer_events_from_file(str(p), version, data_start)

    raw = read_guarded(read, path, "AER-DAT 2.0")
    address = raw["address"].astype(np.int64)
    keep = (address & EXTERNAL_EVENT_BIT) == 0
    address = address[keep]
    events = np.zeros(len(address), EVENT_DTYPE)
    events["x"] = (address >> 1) & 0x7F
    events["y"] = (address >> 8) & 0x7F
    events["p"] = address & 1
    events["t"] = raw["timeStamp"][keep].astype(np.int64)
    return events


def read_aedat4_events(path: Path) -> np.ndarray:
    """AEDAT 4 events (x, y, t, p) with tonic's `read_aedat4` (needs the `aedat` package)."""
    try:
        import aedat  # noqa: F401  (tonic imports it inside read_aedat4)
    except ImportError:
        raise DatasetError(
            f"{path}: reading .aedat4 files needs the 'aedat' package (pip install aedat)"
        ) from None
    raw = read_guarded(_decode_aedat4_isolated, path, "AEDAT 4")
    names = raw.dtype.names or ()
    events = np.zeros(len(raw), EVENT_DTYPE)
    events["t"] = raw["t"]
    events["x"] = raw["x"]
    events["y"] = raw["y"]
    events["p"] = raw["on"] if "on" in names else raw["p"]
    return events


# The Rust `aedat` decoder aborts the whole process on some damaged files (a panic while
# unwinding: tests/core/test_reader_fuzz.py found it), so it runs in one spawned worker process:
# a crash there becomes a DatasetError here and the next file gets a fresh worker.
_aedat4_worker: ProcessPoolExecutor | None = None


def _decode_aedat4_isolated(path: Path) -> np.ndarray:
    global _aedat4_worker
    if _aedat4_worker is None:
        _aedat4_worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return _aedat4_worker.submit(_decode_aedat4, str(path)).result()
    except BrokenProcessPool:
        _aedat4_worker = None
        raise DatasetError(
            f"{path}: the AEDAT 4 decoder crashed on this file (damaged or not AEDAT 4)"
        ) from None


def _decode_aedat4(path: str) -> np.ndarray:
    """In the worker: tonic's reader; its errors (a pyo3 panic cannot be pickled) as text."""
    from tonic.io import read_aedat4

    try:
        return read_aedat4(path)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


def natural_key(path: Path) -> list[object]:
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", path.name)]


def find_class_folders(root: Path) -> Path:
    for folder in (root, root / "CIFAR10DVS", root / "CIFAR10-DVS"):
        if any((folder / name).is_dir() for name in CIFAR10_CLASSES):
            return folder
    raise DatasetError(
        f"no CIFAR10-DVS class folders in {root}: expected {root}/<class>/<name>.aedat4 or "
        f".aedat with <class> one of {', '.join(CIFAR10_CLASSES)}"
    )


def split_files(folder: Path) -> tuple[dict[str, list[Path]], dict[str, list[int]], str]:
    """Train and test files and labels per class (first 90% / rest), and the file suffix."""
    paths: dict[str, list[Path]] = {"train": [], "test": []}
    labels: dict[str, list[int]] = {"train": [], "test": []}
    suffixes = set()
    for label, name in enumerate(CIFAR10_CLASSES):
        files = sorted(
            (p for p in (folder / name).glob("*") if p.suffix in (".aedat", ".aedat4")),
            key=natural_key,
        ) if (folder / name).is_dir() else []  # fmt: skip
        suffixes |= {p.suffix for p in files}
        n_train = min(int(TRAIN_FRACTION * len(files)), max(len(files) - 1, 1))
        for split, part in (("train", files[:n_train]), ("test", files[n_train:])):
            paths[split] += part
            labels[split] += [label] * len(part)
    if len(suffixes) != 1:
        found = ", ".join(sorted(suffixes)) or "none"
        raise DatasetError(
            f"{folder}: expected the class folders to hold .aedat4 or .aedat files (found {found})"
        )
    return paths, labels, suffixes.pop()


def count_cifar10dvs(root: str | Path) -> tuple[int, int]:
    """Train and test recordings under `root` (the 90/10 split per class), without reading
    them."""
    paths, _, _ = split_files(find_class_folders(require_folder(root, "CIFAR10-DVS")))
    return len(paths["train"]), len(paths["test"])


def load_cifar10dvs(root: str | Path, options: EventLoadOptions) -> DatasetSplits:
    """CIFAR10-DVS as frames (N, T, 2, 128, 128), or data.frame_side for CPU runs."""
    folder = find_class_folders(require_folder(root, "CIFAR10-DVS"))
    paths, labels, suffix = split_files(folder)
    reader, name = (
        (read_aedat4_events, "cifar10dvs-aedat4")
        if suffix == ".aedat4"
        else (read_aedat2_dvs128, "cifar10dvs-aedat2")
    )
    spec = options.spec(DVS128_SENSOR)
    notes = [
        f"CIFAR10-DVS: found {len(paths['train']) + len(paths['test'])} {suffix} recordings in "
        f"{folder} (the full set has 10000); {len(paths['train'])} train, {len(paths['test'])} test"
    ]

    def load_split(split: str, limit: int, seed: int) -> SampleSet:
        chosen, chosen_labels = limit_files(paths[split], labels[split], limit, seed)
        return load_framed(
            reader, name, chosen, chosen_labels, spec, options.cache_dir, notes, options.cancel
        )

    return load_event_splits("cifar10dvs", list(CIFAR10_CLASSES), options, notes, load_split)
