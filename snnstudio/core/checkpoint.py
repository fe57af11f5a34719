"""Checkpoints: a plain state_dict plus a small JSON-able header, loaded with weights_only=True.

A checkpoint file can never run code: torch.load(weights_only=True) builds only tensors and
plain containers. The header says how to rebuild the network around the weights.
"""

from __future__ import annotations

import pickle
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from snnstudio.core import config as config_io
from snnstudio.core.errors import CheckpointError
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.models.registry import build_network
from snnstudio.core.rundir import atomic_path

FORMAT = "snnstudio-checkpoint/1"


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
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        blocked = re.search(r"GLOBAL (\S+)", str(exc))
        why = f"it asks to run {blocked.group(1)}" if blocked else "corrupt or not a checkpoint"
        raise CheckpointError(f"{path}: refused to load ({why})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, struct.error) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    if not isinstance(blob, dict) or blob.get("header", {}).get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an snnstudio checkpoint (no '{FORMAT}' header)")
    return Checkpoint(blob["header"], blob["state_dict"])


def network_from_checkpoint(ckpt: Checkpoint, step_mode: str = "s") -> SpikingNetwork:
    """Rebuild the network the header describes and load the weights into it."""
    cfg = ckpt.config
    c, h, w = ckpt.header["image_shape"]
    net = build_network(
        cfg.model, (c, h, w), len(ckpt.header["classes"]), ckpt.header["spiking"], step_mode
    )
    try:
        net.load_state_dict(ckpt.state_dict)
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint weights do not fit a {cfg.model.arch} network: {str(exc).splitlines()[0]}"
        ) from None
    spiking = [m for m in net.modules() if is_spiking_layer(m)]
    for layer, value in zip(spiking, ckpt.header.get("thresholds", []), strict=False):
        layer.v_threshold = float(value)
    return net
