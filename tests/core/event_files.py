"""Writers of small event files in the official formats, for the loader tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def events(x, y, t, p) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.int64) for k, v in zip("xytp", (x, y, t, p), strict=True)}


def write_nmnist_bin(path: Path, ev: dict[str, np.ndarray]) -> Path:
    """N-MNIST's 5-byte events: x, y, polarity bit 7 + timestamp bits 22..16, then 15..0."""
    t = ev["t"]
    raw = np.zeros((len(t), 5), np.uint8)
    raw[:, 0] = ev["x"]
    raw[:, 1] = ev["y"]
    raw[:, 2] = (ev["p"] << 7) | ((t >> 16) & 0x7F)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw.tobytes())
    return path


def write_aedat2(path: Path, ev: dict[str, np.ndarray]) -> Path:
    """jAER AER-DAT 2.0 from a DVS128: '#' header lines, then big-endian int32 address and
    timestamp; x = (a >> 1) & 127, y = (a >> 8) & 127, p = a & 1."""
    address = (ev["y"] << 8) | (ev["x"] << 1) | ev["p"]
    body = np.zeros(len(address), np.dtype([("a", ">u4"), ("t", ">u4")]))
    body["a"], body["t"] = address, ev["t"]
    header = b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n# AEChip: DVS128\r\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body.tobytes())
    return path


def random_events(rng: np.random.Generator, count: int, side: int, duration: int = 300_000):
    t = np.sort(rng.integers(0, duration, count))
    return events(rng.integers(0, side, count), rng.integers(0, side, count), t,
                  rng.integers(0, 2, count))  # fmt: skip
