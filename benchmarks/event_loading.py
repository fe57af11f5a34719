"""Event decoding speed and the frame cache's speed-up, measured in the same run.

Prints, for N-MNIST (.bin) and AER-DAT 2.0 (DVS128 .aedat) recordings:

    decode   events per second of the reader alone (file -> structured events)
    frame    events per second of reader + framing (tonic Downsample/ToFrame, T bins)

and for the whole N-MNIST loader (all Train + Test files, T frames):

    cold     load_dataset with an empty cache: decode every file, frame, write the cache
    warm     the same call again: frames read from the cache, no decoding
    speed-up = cold / warm

Each figure is the fastest of --repeats runs (the least disturbed one on a shared machine).
The real files in ../shared/data are used when present; otherwise files are written in the
official formats with random events (say which in the output).

    python benchmarks/event_loading.py [--timesteps 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from snnstudio.core.config import DataConfig
from snnstudio.core.data.cifar10dvs import DVS128_SENSOR, read_aedat2_dvs128
from snnstudio.core.data.event_frames import FramingSpec, events_to_frames
from snnstudio.core.data.nmnist import NMNIST_SENSOR, read_nmnist_events
from snnstudio.core.data.registry import load_dataset

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def fastest(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def write_random_files(folder: Path) -> tuple[list[Path], list[Path], Path]:
    """Stand-ins in the official formats when ../shared/data is absent (see tests/core)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/
    from tests.core.event_files import random_events, write_aedat2, write_nmnist_bin

    rng = np.random.default_rng(0)
    nmnist = folder / "nmnist"
    for split, count in (("Train", 200), ("Test", 20)):
        for i in range(count):
            write_nmnist_bin(nmnist / split / str(i % 10) / f"{i:05d}.bin",
                             random_events(rng, 4000, 34))  # fmt: skip
    aedat = [write_aedat2(folder / f"rec{i}.aedat", random_events(rng, 100_000, 128))
             for i in range(3)]  # fmt: skip
    return sorted(nmnist.rglob("*.bin")), aedat, nmnist


def rate(reader, files: list[Path], spec: FramingSpec | None, repeats: int) -> tuple[float, int]:
    """Events per second over `files` (reader alone, or reader + framing) and the event count."""
    count = sum(len(reader(f)) for f in files)

    def run() -> None:
        for f in files:
            ev = reader(f)
            if spec is not None:
                events_to_frames(ev, spec)

    return count / fastest(run, repeats), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        if (SHARED_DATA / "nmnist").is_dir():
            source = f"real files in {SHARED_DATA}"
            nmnist_root = SHARED_DATA / "nmnist"
            nmnist_files = sorted(nmnist_root.rglob("*.bin"))
            aedat_files = sorted((SHARED_DATA / "events").glob("*.aedat"))
        else:
            source = "random events written in the official formats"
            nmnist_files, aedat_files, nmnist_root = write_random_files(Path(tmp))
        print(f"source: {source}; T = {args.timesteps}, frames by time")
        for name, reader, files, sensor in (
            ("N-MNIST .bin", read_nmnist_events, nmnist_files, NMNIST_SENSOR),
            ("AER-DAT 2.0 .aedat", read_aedat2_dvs128, aedat_files, DVS128_SENSOR),
        ):
            spec = FramingSpec(sensor, args.timesteps)
            decode, count = rate(reader, files, None, args.repeats)
            framed, _ = rate(reader, files, spec, args.repeats)
            print(
                f"{name:20s} {len(files):5d} files {count:9d} events: decode "
                f"{decode / 1e6:6.2f} M events/s, decode+frame {framed / 1e6:6.2f} M events/s"
            )

        cfg = DataConfig(name="nmnist", root=str(nmnist_root), cache_dir=str(Path(tmp) / "c"))
        cold = float("inf")
        for i in range(args.repeats):
            cfg.cache_dir = str(Path(tmp) / f"cache{i}")
            started = time.perf_counter()
            load_dataset(cfg, timesteps=args.timesteps)
            cold = min(cold, time.perf_counter() - started)
        warm = fastest(lambda: load_dataset(cfg, timesteps=args.timesteps), args.repeats)
        print(f"N-MNIST loader ({len(nmnist_files)} files): cold {cold:.2f} s, "
              f"warm (frame cache) {warm:.3f} s, speed-up {cold / warm:.1f}x")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
