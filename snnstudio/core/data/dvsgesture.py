"""DVS128 Gesture: tonic's preprocessed layout or IBM's original release.

Accepted layouts under `root` (or `root/DVSGesture`, `root/DvsGesture`):

- tonic's: `ibmGestureTrain|ibmGestureTest/user<NN>_<lighting>/<label>.npy`, one gesture per
  file, columns x, y, p, t with t in milliseconds (read as tonic's DVSGesture does).
- IBM's original: `user<NN>_<lighting>.aedat` (AEDAT 3.1) with `user<NN>_<lighting>_labels.csv`
  (class 1..11, start and end in microseconds) and `trials_to_train.txt` /
  `trials_to_test.txt`; each labelled span becomes one sample.

AEDAT 3.1 is parsed here packet by packet: tonic 1.7's `read_dvs_ibm` fails on its own header
reader (three return values unpacked into two), and its packet reader ignores the event type.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from snnstudio.core.data.base import DatasetSplits, SampleSet, require_folder
from snnstudio.core.data.cifar10dvs import DVS128_SENSOR, EVENT_DTYPE
from snnstudio.core.data.event_frames import (
    EventLoadOptions,
    cached_frames,
    decode_and_frame,
    file_fingerprint,
    limit_files,
    load_event_splits,
    read_guarded,
)
from snnstudio.core.errors import DatasetError

PACKET_HEADER = np.dtype(
    [("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
     ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4")]
)  # fmt: skip
POLARITY_EVENT = 1
POLARITY_RECORD = np.dtype([("data", "<u4"), ("t", "<i4")])
TONIC_FOLDERS = {"train": "ibmGestureTrain", "test": "ibmGestureTest"}
TRIAL_LISTS = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}


def read_aedat31_polarity(path: Path) -> np.ndarray:
    """The valid polarity events (x, y, t, p) of an AEDAT 3.1 file; t in microseconds."""

    from tonic.io import (
        read_aedat_header_from_file,
    )  # tonic is imported where it is used: it is slow to load and `run` rarely needs it

    def read(p: Path) -> np.ndarray:
        version, data_start, _ = read_aedat_header_from_file(str(p))
        if not 3 <= version < 4:
            raise DatasetError(f"{p}: AER-DAT {version} file, expected AEDAT 3.1")
        raw = p.read_bytes()
        chunks, offset = [], data_start
        while offset < len(raw):
            if offset + PACKET_HEADER.itemsize > len(raw):
                raise DatasetError(f"{p}: truncated packet header at byte {offset}")
            head = np.frombuffer(raw, PACKET_HEADER, 1, offset)[0]
            offset += PACKET_HEADER.itemsize
            size = int(head["size"]) * int(head["capacity"])
            if size < 0 or offset + size > len(raw):
                raise DatasetError(f"{p}: truncated event packet at byte {offset}")
            if head["type"] == POLARITY_EVENT and head["size"] == POLARITY_RECORD.itemsize:
                rec = np.frombuffer(raw, POLARITY_RECORD, int(head["number"]), offset)
                rec = rec[(rec["data"] & 1) == 1]  # bit 0: the event is valid
                t = (np.int64(head["ts_overflow"]) << 31) | rec["t"].astype(np.int64)
                chunks.append((rec["data"].astype(np.int64), t))
            offset += size
        return chunks

    chunks = read_guarded(read, path, "AEDAT 3.1")
    data = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
    events = np.zeros(len(data), EVENT_DTYPE)
    events["x"] = (data >> 17) & 0x7FFF
    events["y"] = (data >> 2) & 0x7FFF
    events["p"] = (data >> 1) & 1
    events["t"] = np.concatenate([c[1] for c in chunks]) if chunks else 0
    return events


def read_tonic_npy(path: Path) -> np.ndarray:
    """One gesture of tonic's preprocessed release: columns x, y, p, t (t in milliseconds)."""
    array = read_guarded(lambda p: np.load(p, allow_pickle=False), path, "DVS Gesture .npy")
    if array.ndim != 2 or array.shape[1] != 4:
        raise DatasetError(f"{path}: expected an (N, 4) array of x, y, p, t, got {array.shape}")
    events = np.zeros(len(array), EVENT_DTYPE)
    events["x"], events["y"], events["p"] = array[:, 0], array[:, 1], array[:, 2]
    events["t"] = array[:, 3].astype(np.int64) * 1000
    return events


def gesture_classes() -> list[str]:
    """tonic's DVS Gesture class names (tonic is imported here: it is slow to load)."""
    from tonic.datasets import DVSGesture

    return list(DVSGesture.classes)


def tonic_split(folder: Path) -> tuple[list[Path], list[int]]:
    paths, labels = [], []
    for trial in sorted(p for p in folder.iterdir() if p.is_dir()):
        for file in sorted(trial.glob("*.npy"), key=lambda p: (len(p.stem), p.stem)):
            if not (file.stem.isdigit() and int(file.stem) < len(gesture_classes())):
                raise DatasetError(f"{file}: tonic's layout names each gesture <label 0..10>.npy")
            paths.append(file)
            labels.append(int(file.stem))
    if not paths:
        raise DatasetError(f"no .npy gestures in {folder}/user*_*/")
    return paths, labels


def read_label_spans(path: Path) -> list[tuple[int, int, int]]:
    """(label 0..10, start, end) rows of an IBM `_labels.csv` (classes there count from 1)."""
    if not path.is_file():
        raise DatasetError(f"labels file not found: {path}")
    rows = []
    try:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                label = int(row["class"]) - 1
                if not 0 <= label < len(gesture_classes()):
                    raise ValueError(f"class {row['class']} is not 1..11")
                rows.append((label, int(row["startTime_usec"]), int(row["endTime_usec"])))
    except (KeyError, ValueError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a DVS Gesture labels file ({exc})") from None
    return rows


def original_split(folder: Path, split: str) -> tuple[list[tuple[Path, int, int]], list[int]]:
    """Samples (aedat file, start, end) and labels of the trials listed for `split`."""
    listing = folder / TRIAL_LISTS[split]
    trials = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    items, labels = [], []
    for trial in trials:
        aedat = folder / trial
        if not aedat.is_file():
            raise DatasetError(f"{listing} lists {trial}, which is not in {folder}")
        for label, start, end in read_label_spans(folder / f"{aedat.stem}_labels.csv"):
            items.append((aedat, start, end))
            labels.append(label)
    return items, labels


@lru_cache(maxsize=1)
def _whole_trial(path: Path) -> np.ndarray:
    return read_aedat31_polarity(path)  # every span of one trial is cut from one decoding


def read_span(item: tuple[Path, int, int]) -> np.ndarray:
    path, start, end = item
    events = _whole_trial(path)
    return events[(events["t"] >= start) & (events["t"] < end)]


def find_layout(root: Path) -> tuple[str, Path]:
    for folder in (root, root / "DVSGesture", root / "DvsGesture"):
        if (folder / TONIC_FOLDERS["train"]).is_dir():
            return "tonic", folder
        if (folder / TRIAL_LISTS["train"]).is_file():
            return "ibm", folder
    raise DatasetError(
        f"no DVS Gesture data in {root}: expected tonic's ibmGestureTrain/ and ibmGestureTest/ "
        "folders or IBM's trials_to_train.txt with user*.aedat and *_labels.csv"
    )


def load_dvsgesture(root: str | Path, options: EventLoadOptions) -> DatasetSplits:
    """DVS128 Gesture as frames (N, T, 2, 128, 128), or data.frame_side for CPU runs."""
    layout, folder = find_layout(require_folder(root, "DVS Gesture"))
    spec = options.spec(DVS128_SENSOR)
    notes: list[str] = []

    def load_split(split: str, limit: int, seed: int) -> SampleSet:
        if layout == "tonic":
            items, labels = tonic_split(folder / TONIC_FOLDERS[split])
            reader, files = read_tonic_npy, items
        else:
            items, labels = original_split(folder, split)
            reader, files = read_span, sorted({item[0] for item in items})
        notes.append(f"DVS Gesture ({layout} layout) {split}: found {len(items)} gestures")
        items, labels = limit_files(items, labels, limit, seed)
        payload = {
            "reader": f"dvsgesture-{layout}",
            "files": file_fingerprint(files),
            "items": [str(i) for i in items],
            "labels": labels,
        }
        frames = cached_frames(
            f"dvsgesture-{split}", payload, spec,
            lambda items=items, reader=reader: decode_and_frame(
                reader, items, spec, options.cancel
            ),
            options.cache_dir, notes,
        )  # fmt: skip
        return SampleSet.clean(frames.astype(np.float32), labels)

    try:
        return load_event_splits("dvsgesture", gesture_classes(), options, notes, load_split)
    finally:
        _whole_trial.cache_clear()
