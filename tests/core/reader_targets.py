"""Every file reader of snnstudio as a fuzz target: a valid sample file and a call that reads it.

Each target reads one file the way the loaders do (events are also checked and framed, a
checkpoint is also rebuilt into a network, a config is also validated). Any bytes must end in
a value or a SnnStudioError; tests/core/test_reader_fuzz.py feeds them random and mutated files.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from snnstudio.core import config as config_io
from snnstudio.core.attack.trigger import image_trigger
from snnstudio.core.checkpoint import load_checkpoint, network_from_checkpoint, save_checkpoint
from snnstudio.core.data.cifar10 import read_binary_batch, read_python_batch
from snnstudio.core.data.cifar10dvs import DVS128_SENSOR, read_aedat2_dvs128, read_aedat4_events
from snnstudio.core.data.dvsgesture import read_aedat31_polarity, read_tonic_npy
from snnstudio.core.data.event_frames import EventReader, FramingSpec, decode_and_frame
from snnstudio.core.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from snnstudio.core.data.nmnist import NMNIST_SENSOR, read_nmnist_events
from snnstudio.core.models.registry import build_network
from snnstudio.core.validation import validate
from tests.core.event_files import (
    random_events,
    write_aedat2,
    write_aedat4,
    write_aedat31,
    write_nmnist_bin,
)


@dataclass(frozen=True)
class ReaderTarget:
    """`read(path)` must return or raise SnnStudioError for any file; `valid` writes a good one."""

    suffix: str
    valid: Callable[[Path], Path]
    read: Callable[[Path], object]


def _idx(path: Path, magic: int, dims: tuple[int, ...]) -> Path:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
    body = np.arange(int(np.prod(dims)), dtype=np.uint8).tobytes()
    path.write_bytes(header + body)
    return path


def _gz_idx(path: Path) -> Path:
    raw = _idx(path, IMAGES_MAGIC, (2, 4, 4)).read_bytes()
    path.write_bytes(gzip.compress(raw))
    return path


def _cifar_bin(path: Path) -> Path:
    records = np.zeros((2, 3073), np.uint8)
    records[:, 0] = [3, 7]
    records[:, 1:] = np.arange(3072) % 251
    path.write_bytes(records.tobytes())
    return path


def _cifar_py(path: Path) -> Path:
    batch = {b"data": np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072), b"labels": [3, 7]}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return path


def _rng_events(side: int):  # type: ignore[no-untyped-def]
    return random_events(np.random.default_rng(0), 40, side, duration=20_000)


def _gesture_npy(path: Path) -> Path:
    ev = _rng_events(128)
    buffer = io.BytesIO()
    np.save(buffer, np.stack([ev["x"], ev["y"], ev["p"], ev["t"] // 1000], axis=1))
    path.write_bytes(buffer.getvalue())
    return path


def _config(path: Path) -> Path:
    cfg = config_io.ExperimentConfig()
    cfg.trigger.pattern = [[0.0, 1.0], [1.0, 0.5]]
    config_io.save(cfg, path)
    return path


def _checkpoint(path: Path) -> Path:
    cfg = config_io.ExperimentConfig()
    torch.manual_seed(0)
    net = build_network(cfg.model, (1, 4, 4), 3)
    save_checkpoint(path, net, cfg, (1, 4, 4), ["a", "b", "c"])
    return path


def _png(path: Path) -> Path:
    from PIL import Image

    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)).save(path)
    return path


def _trigger_npy(path: Path) -> Path:
    np.save(path, np.array([[0.0, 1.0], [np.nan, 0.5]], np.float32))
    return path


def framed(reader: EventReader, sensor: tuple[int, int, int]) -> Callable[[Path], object]:
    """Read one recording as the loaders do: decode, check the addresses, bin into frames."""
    spec = FramingSpec(sensor, timesteps=3)
    return lambda path: decode_and_frame(reader, [path], spec)


def event_target(
    suffix: str, write: Callable[[Path, Any], object], reader: EventReader,
    sensor: tuple[int, int, int],
) -> ReaderTarget:  # fmt: skip
    """A recording format: a valid file of seeded events on `sensor`, read and framed."""
    return ReaderTarget(suffix, lambda p: write(p, _rng_events(sensor[0])), framed(reader, sensor))


def _validated_config(path: Path) -> object:
    return validate(config_io.load(path))


TARGETS: dict[str, ReaderTarget] = {
    "idx-images": ReaderTarget(
        "", lambda p: _idx(p, IMAGES_MAGIC, (2, 4, 4)), lambda p: read_idx(p, IMAGES_MAGIC)
    ),
    "idx-labels": ReaderTarget(
        "", lambda p: _idx(p, LABELS_MAGIC, (5,)), lambda p: read_idx(p, LABELS_MAGIC)
    ),
    "idx-gzip": ReaderTarget(".gz", _gz_idx, lambda p: read_idx(p, IMAGES_MAGIC)),
    "cifar10-bin": ReaderTarget(".bin", _cifar_bin, read_binary_batch),
    "cifar10-py": ReaderTarget("", _cifar_py, read_python_batch),
    "nmnist-bin": event_target(".bin", write_nmnist_bin, read_nmnist_events, NMNIST_SENSOR),
    "aedat2": event_target(".aedat", write_aedat2, read_aedat2_dvs128, DVS128_SENSOR),
    "aedat31": event_target(".aedat", write_aedat31, read_aedat31_polarity, DVS128_SENSOR),
    "aedat4": event_target(".aedat4", write_aedat4, read_aedat4_events, DVS128_SENSOR),
    "gesture-npy": ReaderTarget(".npy", _gesture_npy, framed(read_tonic_npy, DVS128_SENSOR)),
    "config-toml": ReaderTarget(".toml", _config, _validated_config),
    "checkpoint": ReaderTarget(
        ".pt", _checkpoint, lambda p: network_from_checkpoint(load_checkpoint(p))
    ),
    "trigger-png": ReaderTarget(".png", _png, image_trigger),
    "trigger-npy": ReaderTarget(".npy", _trigger_npy, image_trigger),
}
