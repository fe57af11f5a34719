"""Load a checkpoint a user points at, with the data and trigger its config describes.

A dynamic trigger is not described by the config alone: it is the generator its run saved
beside the checkpoint (attack/saved_trigger.py), loaded and checked with the checkpoint, so a
missing or damaged one refuses the checkpoint before any job writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.attack.dynamic_trigger import DynamicTrigger
from snnstudio.core.attack.saved_trigger import checkpoint_trigger
from snnstudio.core.checkpoint import Checkpoint, load_checkpoint, network_from_checkpoint
from snnstudio.core.data.base import SampleSet, seeded_subset
from snnstudio.core.errors import CheckpointError, ConfigError
from snnstudio.core.events import CancelToken
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.runner import PreparedData, prepare_data, resolve_device, resolve_step_mode


@dataclass
class LoadedModel:
    """A checkpoint's network on its device, and the data it was attacked with."""

    path: Path
    checkpoint: Checkpoint
    config: config_io.ExperimentConfig
    network: SpikingNetwork
    device: torch.device
    trigger: DynamicTrigger | None = None  # the run's saved generator (trigger.kind = dynamic)

    def prepared_data(self, cancel: CancelToken | None = None) -> PreparedData:
        """The data this model was attacked with, its trigger the run's own."""
        return prepare_data(self.config, cancel, self.trigger)


def load_model(
    path: str | Path, overrides: list[str] | None = None, with_trigger: bool = True
) -> LoadedModel:
    """Load `path`; `overrides` (`key=value`) adjust its stored config, e.g. a moved data.root.
    `with_trigger` also loads the dynamic trigger saved beside it (TriggerError when it is
    missing or damaged); a model whose inputs are never triggered goes without."""
    ckpt = load_checkpoint(path)
    try:
        cfg = validation.validate(config_io.with_overrides(ckpt.config, list(overrides or [])))
    except KeyError as exc:
        raise CheckpointError(f"{path}: the checkpoint header lacks {exc}") from None
    if not ckpt.header.get("spiking", True):
        raise CheckpointError(f"{path}: holds an ANN, not a spiking network")
    device = resolve_device(cfg.train.device)
    image_shape = tuple(ckpt.header["image_shape"])
    trigger = checkpoint_trigger(path, cfg, image_shape) if with_trigger else None
    net = network_from_checkpoint(ckpt, resolve_step_mode(cfg.train.step_mode, device))
    return LoadedModel(Path(path), ckpt, cfg, net.to(device).eval(), device, trigger)


def load_reference(path: str | Path, suspect: LoadedModel) -> LoadedModel:
    """Load a trusted clean model and check that it has the suspect's architecture and data
    (the suspect's trigger is the one that stamps the inputs of both)."""
    reference = load_model(path, with_trigger=False)
    for key in ("arch", "image_shape", "classes"):
        mine, theirs = suspect.checkpoint.header.get(key), reference.checkpoint.header.get(key)
        if mine != theirs:
            raise CheckpointError(
                f"reference {path} does not match the suspect model: {key} is {theirs!r}, "
                f"the suspect's is {mine!r}"
            )
    return reference


def clean_fraction_subset(train: SampleSet, fraction: float, seed: int) -> SampleSet:
    """The defender's trusted clean data: a seeded share of the clean training set."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"clean fraction = {fraction} must be in (0, 1]")
    count = max(1, round(fraction * len(train)))
    return seeded_subset(train, count, seed)


def join_sets(*sets: SampleSet) -> SampleSet:
    return SampleSet(
        np.concatenate([s.x for s in sets]),
        np.concatenate([s.y for s in sets]),
        np.concatenate([s.original_y for s in sets]),
        np.concatenate([s.is_poison for s in sets]),
    )
