"""Checkpoints: a plain state_dict plus a small JSON-able header, loaded with weights_only=True.

A checkpoint file can never run code: torch.load(weights_only=True) builds only tensors and
plain containers. The header says how to rebuild the network around the weights.
"""

from __future__ import annotations

import math
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from snnstudio.core import config as config_io
from snnstudio.core.atomic_files import atomic_path
from snnstudio.core.errors import CheckpointError, SnnStudioError
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.models.registry import build_network
from snnstudio.core.validation import validate

FORMAT = "snnstudio-checkpoint/1"
MAX_SIDE = 4096  # image sides and channels a header may claim
MAX_CLASSES = 100_000


@dataclass
class Checkpoint:
    header: dict[str, Any]
    state_dict: dict[str, torch.Tensor]

    @property
    def config(self) -> config_io.ExperimentConfig:
        return config_io.from_dict(self.header["config"])


def thresholds(net: SpikingNetwork) -> list[float]:
    """The firing threshold of every spiking layer, in order."""
    return [float(m.v_threshold) for m in net.modules() if is_spiking_layer(m)]


def save_checkpoint(
    path: str | Path,
    net: SpikingNetwork,
    cfg: config_io.ExperimentConfig,
    image_shape: tuple[int, int, int],
    classes: list[str],
    extra: dict[str, Any] | None = None,
) -> None:
    header = {
        "format": FORMAT,
        "arch": cfg.model.arch,
        "neuron": cfg.model.neuron,
        "spiking": net.spiking,
        "thresholds": thresholds(net),
        "timesteps": cfg.sim.timesteps,
        "image_shape": list(image_shape),
        "classes": list(classes),
        "config": config_io.to_dict(cfg),
        **(extra or {}),
    }
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    with atomic_path(path) as temporary:
        torch.save({"header": header, "state_dict": state}, temporary)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint file; any other file (or damaged one) is a one-line CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not zipfile.is_zipfile(path):  # torch.save's format; the legacy one trusts its sizes
        raise CheckpointError(f"{path}: not a checkpoint (not a torch.save zip archive)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        blocked = re.search(r"GLOBAL (\S+)", str(exc))
        why = f"it asks to run {blocked.group(1)}" if blocked else "corrupt or not a checkpoint"
        raise CheckpointError(f"{path}: refused to load ({why})") from None
    except Exception as exc:  # torch's weights-only unpickler fails on bad bytes in many ways
        raise CheckpointError(f"{path}: not a readable checkpoint ({_first_line(exc)})") from None
    header, state = _checked_blob(blob, path)
    return Checkpoint(header, state)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _checked_blob(blob: Any, path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The header and weights of a loaded blob, every field the rebuild reads type-checked."""
    header = blob.get("header") if isinstance(blob, dict) else None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an snnstudio checkpoint (no '{FORMAT}' header)")
    state = blob.get("state_dict")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{path}: damaged checkpoint (its weights are not a state_dict)")
    shape = header.get("image_shape")
    checks = {
        "image_shape": isinstance(shape, list)
        and len(shape) == 3
        and all(type(v) is int and 0 < v <= MAX_SIDE for v in shape),
        "classes": isinstance(header.get("classes"), list)
        and 0 < len(header["classes"]) <= MAX_CLASSES,
        "spiking": isinstance(header.get("spiking"), bool),
        "thresholds": isinstance(header.get("thresholds", []), list)
        and all(
            type(v) in (int, float) and math.isfinite(v) and v > 0
            for v in header.get("thresholds", [])
        ),
        "config": isinstance(header.get("config"), dict),
    }
    bad = [key for key, ok in checks.items() if not ok]
    if bad:
        raise CheckpointError(f"{path}: damaged checkpoint header (bad {', '.join(bad)})")
    try:
        validate(config_io.from_dict(header["config"]))
    except SnnStudioError as exc:
        raise CheckpointError(f"{path}: the stored config is not valid ({exc})") from None
    return header, state


def network_from_checkpoint(ckpt: Checkpoint, step_mode: str = "s") -> SpikingNetwork:
    """Rebuild the network the header describes and load the weights into it.

    The network is first built on the meta device (no memory) and its shapes compared with
    the stored weights, so a damaged header cannot make it allocate more than the file holds.
    """
    cfg = ckpt.config
    c, h, w = ckpt.header["image_shape"]
    shape, classes, spiking = (c, h, w), len(ckpt.header["classes"]), ckpt.header["spiking"]
    try:
        with torch.device("meta"):
            expected = build_network(cfg.model, shape, classes, spiking, step_mode).state_dict()
    except Exception as exc:  # absurd sizes in a damaged header fail in many ways
        raise CheckpointError(
            f"the checkpoint header describes no buildable network ({_first_line(exc)})"
        ) from None
    mismatch = sorted(set(expected) ^ set(ckpt.state_dict)) or [
        k for k, v in expected.items() if v.shape != ckpt.state_dict[k].shape
    ]
    if mismatch:
        raise CheckpointError(
            f"checkpoint weights do not fit a {cfg.model.arch} network for {c}x{h}x{w} inputs "
            f"and {classes} classes (first difference: '{mismatch[0]}')"
        )
    net = build_network(cfg.model, shape, classes, spiking, step_mode)
    try:
        net.load_state_dict(ckpt.state_dict)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint weights do not fit a {cfg.model.arch} network: {str(exc).splitlines()[0]}"
        ) from None
    spiking_layers = [m for m in net.modules() if is_spiking_layer(m)]
    for layer, value in zip(spiking_layers, ckpt.header.get("thresholds", []), strict=False):
        layer.v_threshold = float(value)
    return net
