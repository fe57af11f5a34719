"""Event recordings -> frames [T, 2, H, W], with an on-disk frame cache.

Every neuromorphic loader lists its files and labels, then calls `load_framed`: each recording
is decoded by the loader's reader into a structured array with fields x, y, t, p, optionally
downsampled (tonic's Downsample) and binned into `T` frames (tonic's ToFrame: equal time spans
or equal event counts). A frame pixel is 1 when at least one event of that polarity fell into
the bin, else 0, so event frames share the [0, 1] range of images and a trigger value of 1 is
the maximum. Channel c holds the events whose polarity bit p == c (for N-MNIST and DVS128:
0 = OFF, 1 = ON).

Frames are cached as compressed .npz keyed by everything that shaped them (the reader, the
files' paths, sizes and mtimes, T, the slicing and the output size), so the second epoch
reads arrays and the second run never decodes events again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnstudio.core.data.base import DatasetSplits, SampleSet, seeded_indices
from snnstudio.core.errors import DatasetError
from snnstudio.core.events import CancelToken, check_cancel

FRAMES_BY = ("time", "count")
CACHE_FORMAT = 2  # bump when the framing code changes what a cached file holds
CACHE_OFF = "none"

EventReader = Callable[[Path], np.ndarray]


@dataclass(frozen=True)
class FramingSpec:
    """How events become frames.

    Attributes
    ----------
    sensor_size : (width, height, polarities) of the recording sensor.
    timesteps : T, the number of frames per sample.
    frames_by : 'time' (T bins of equal duration) or 'count' (T bins of equal event counts).
    side : output frame side; 0 keeps the sensor size, otherwise tonic's Downsample scales
        the sensor to side x side (for example 128 -> 48 for CPU runs).
    """

    sensor_size: tuple[int, int, int]
    timesteps: int
    frames_by: str = "time"
    side: int = 0

    @property
    def frame_size(self) -> tuple[int, int, int]:
        """(width, height, polarities) of the frames."""
        width, height, pols = self.sensor_size
        return (self.side, self.side, pols) if self.side else (width, height, pols)


def events_to_frames(events: np.ndarray, spec: FramingSpec) -> np.ndarray:
    """Bin one recording into binary frames of shape (T, P, H, W), dtype uint8.

    By time, the T windows are ceil(duration / T) microseconds long from the first event on, so
    every event lands in a frame (tonic's own `n_time_bins` drops the last event: its windows are
    duration // T long and end-exclusive).
    """
    if spec.frames_by not in FRAMES_BY:
        raise DatasetError(f"data.frames_by = '{spec.frames_by}' is not one of: time, count")
    width, height, pols = spec.frame_size
    if not len(events):
        return np.zeros((spec.timesteps, pols, height, width), np.uint8)
    from tonic.transforms import (
        Downsample,
        ToFrame,
    )  # tonic is imported where it is used: it is slow to load and `run` rarely needs it

    if np.any(np.diff(events["t"]) < 0):
        events = np.sort(events, order="t", kind="stable")  # tonic's slicing needs time order
    if spec.side:
        events = Downsample(sensor_size=spec.sensor_size, target_size=(spec.side, spec.side))(
            events
        )
    if spec.frames_by == "time":
        start = int(events["t"][0])
        window = (int(events["t"][-1]) - start) // spec.timesteps + 1
        to_frame = ToFrame(
            sensor_size=spec.frame_size, time_window=window, start_time=start,
            end_time=start + window * spec.timesteps,
        )  # fmt: skip
    else:
        to_frame = ToFrame(sensor_size=spec.frame_size, n_event_bins=spec.timesteps)
    frames = to_frame(events)
    return np.minimum(frames, 1).astype(np.uint8)


def check_events(events: np.ndarray, sensor_size: tuple[int, int, int], path: object) -> None:
    """Refuse recordings whose addresses leave the sensor: a corrupt or foreign file."""
    if not len(events):
        return
    width, height, pols = sensor_size
    x, y, p = events["x"], events["y"], events["p"].astype(np.int64)
    if x.min() < 0 or y.min() < 0 or x.max() >= width or y.max() >= height:
        raise DatasetError(
            f"{path}: events at x {x.min()}..{x.max()}, y {y.min()}..{y.max()} leave the "
            f"{width}x{height} sensor (corrupt file or a different sensor)"
        )
    if p.min() < 0 or p.max() >= pols:
        raise DatasetError(f"{path}: polarity values {p.min()}..{p.max()} are not 0..{pols - 1}")


# ---------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """$SNNSTUDIO_CACHE, else $XDG_CACHE_HOME/snnstudio, else ~/.cache/snnstudio (+ /frames)."""
    if os.environ.get("SNNSTUDIO_CACHE"):
        return Path(os.environ["SNNSTUDIO_CACHE"]).expanduser() / "frames"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "snnstudio" / "frames"


def resolve_cache_dir(setting: str) -> Path | None:
    """data.cache_dir: '' = the default folder, 'none' = no cache, else that folder."""
    if setting.strip().lower() == CACHE_OFF:
        return None
    return Path(setting).expanduser() if setting.strip() else default_cache_dir()


def file_fingerprint(paths: Sequence[Path]) -> list[tuple[str, int, int]]:
    """(resolved path, size, mtime in ns) of every file: a change to any file changes the key."""
    out = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
        out.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return out


def cache_key(payload: dict[str, object], spec: FramingSpec) -> str:
    """A short hash of everything that shaped the frames (sources, labels, framing)."""
    full = {"format": CACHE_FORMAT, "spec": asdict(spec), **payload}
    return hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:24]


def read_cached(path: Path) -> np.ndarray | None:
    """Cached frames, or None when the file is missing or unreadable (then it is rebuilt)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return np.asarray(data["frames"])
    except (OSError, ValueError, KeyError, EOFError):
        return None


def write_cached(path: Path, frames: np.ndarray) -> str | None:
    """Write atomically (another run may read the same key); returns a warning or None."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, frames=frames)
        os.replace(tmp, path)
    except OSError as exc:
        return f"frame cache not written to {path.parent} ({exc.strerror}); set data.cache_dir"
    return None


# ---------------------------------------------------------------- decoding


def decode_and_frame(
    reader: Callable[[Any], np.ndarray],
    items: Sequence[Any],
    spec: FramingSpec,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Frames (N, T, P, H, W) uint8 of every item (a file, or an index for generated data).

    Every unreadable item is reported, all at once; none is skipped. `cancel` is checked
    before each item (a superseded dataset check stops within one file).
    """
    width, height, pols = spec.frame_size
    frames = np.zeros((len(items), spec.timesteps, pols, height, width), np.uint8)
    failures: list[str] = []
    for i, item in enumerate(items):
        check_cancel(cancel)
        try:
            events = reader(item)
            check_events(events, spec.sensor_size, item)
            frames[i] = events_to_frames(events, spec)
        except DatasetError as exc:
            failures.append(str(exc))
    if failures:
        shown = "; ".join(failures[:5])
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        raise DatasetError(f"{len(failures)} unreadable event file(s): {shown}{more}")
    return frames


def cached_frames(
    name: str,
    payload: dict[str, object],
    spec: FramingSpec,
    build: Callable[[], np.ndarray],
    cache_dir: Path | None,
    notes: list[str] | None = None,
) -> np.ndarray:
    """Frames from `cache_dir` when an entry with the same key exists, else `build()` them
    and store them. Returns uint8 (N, T, P, H, W)."""
    if cache_dir is None:
        return build()
    path = cache_dir / f"{name}-{cache_key(payload, spec)}.npz"
    frames = read_cached(path)
    width, height, pols = spec.frame_size
    if frames is not None and frames.shape[1:] == (spec.timesteps, pols, height, width):
        _note(notes, f"{name}: {len(frames)} samples read from the frame cache {path}")
        return frames
    frames = build()
    _note(notes, write_cached(path, frames))
    return frames


def load_framed(
    reader: EventReader,
    reader_name: str,
    paths: Sequence[Path],
    labels: Sequence[int] | np.ndarray,
    spec: FramingSpec,
    cache_dir: Path | None,
    notes: list[str] | None = None,
    cancel: CancelToken | None = None,
) -> SampleSet:
    """The recordings `paths` as frames (N, T, P, H, W) float32, from the cache when possible."""
    labels = np.asarray(labels, dtype=np.int64)
    payload = {"reader": reader_name, "files": file_fingerprint(paths), "labels": labels.tolist()}

    def build() -> np.ndarray:
        _note(
            notes, f"{reader_name}: decoding {len(paths)} event files into {spec.timesteps} frames"
        )
        return decode_and_frame(reader, paths, spec, cancel)

    frames = cached_frames(reader_name, payload, spec, build, cache_dir, notes)
    return SampleSet.clean(frames.astype(np.float32), labels)


def _note(notes: list[str] | None, message: str | None) -> None:
    if notes is not None and message:
        notes.append(message)


def read_guarded(read: Callable[[Path], np.ndarray], path: Path, what: str) -> np.ndarray:
    """Run a third-party reader; any failure becomes a DatasetError naming the file.

    tonic's readers signal bad input with assorted exceptions (AssertionError, ValueError,
    struct.error, UnboundLocalError ...) and the Rust `aedat` reader with a PanicException, a
    BaseException, so everything but an interrupt or exit is caught here.
    """
    try:
        return read(path)
    except DatasetError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # see the docstring; the aedat package panics (a BaseException)
        raise DatasetError(f"{path}: cannot read {what} ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class EventLoadOptions:
    """What every event loader needs besides its folder (from data.* and the run)."""

    timesteps: int  # T: frames per sample (the run's sim.timesteps)
    frames_by: str = "time"
    side: int = 0  # data.frame_side
    cache_dir: Path | None = None
    train_limit: int = 0
    test_limit: int = 0
    seed: int = 0
    cancel: CancelToken | None = field(default=None, compare=False)  # checked while decoding

    def spec(self, sensor_size: tuple[int, int, int]) -> FramingSpec:
        if self.side and self.side > min(sensor_size[:2]):
            raise DatasetError(
                f"data.frame_side = {self.side} is larger than the "
                f"{sensor_size[0]}x{sensor_size[1]} sensor (frames can only be downsampled)"
            )
        return FramingSpec(sensor_size, self.timesteps, self.frames_by, self.side)


SplitLoader = Callable[[str, int, int], SampleSet]


def load_event_splits(
    name: str,
    classes: list[str],
    options: EventLoadOptions,
    notes: list[str],
    load_split: SplitLoader,
) -> DatasetSplits:
    """The per-split loop of every event loader: `load_split(split, limit, seed)` for 'train'
    (data.train_limit, seed) and 'test' (data.test_limit, seed + 1), as event DatasetSplits."""
    train = load_split("train", options.train_limit, options.seed)
    test = load_split("test", options.test_limit, options.seed + 1)
    return DatasetSplits(name, train, test, classes, is_event=True, notes=notes)


def limit_files(
    paths: Sequence[Path], labels: Sequence[int], limit: int, seed: int
) -> tuple[list[Path], list[int]]:
    """The seeded subset data.train_limit/test_limit keeps, chosen before any decoding."""
    keep = seeded_indices(len(paths), limit, seed)
    return [paths[i] for i in keep], [int(labels[i]) for i in keep]
