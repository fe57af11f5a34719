"""ACC, ASR and MR, and the model predictions they are computed from."""

from __future__ import annotations

import numpy as np
import torch

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.models.network import SpikingNetwork


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predictions == labels)) if len(labels) else float("nan")


def attack_success_rate(
    predictions: np.ndarray, original_labels: np.ndarray, target: int, include_target: bool = False
) -> float:
    """Share of triggered samples classified as `target`.

    By default (BackdoorBench's definition) samples whose true class is the target are left
    out; `include_target=True` is the variant that keeps them, reported under its own name.
    """
    keep = np.ones(len(predictions), bool) if include_target else original_labels != target
    return float(np.mean(predictions[keep] == target)) if keep.any() else float("nan")


def migration_rate(snn_asr: float, ann_asr: float) -> float:
    """The paper's MR (Eq. 15) as a fraction: how much of the ANN's backdoor the SNN kept."""
    return snn_asr / ann_asr if ann_asr > 0 else float("nan")


@torch.no_grad()
def predict(
    net: SpikingNetwork,
    samples: SampleSet,
    timesteps: int,
    encoder: str,
    device: torch.device,
    batch_size: int = 256,
    per_timestep: bool = False,
) -> np.ndarray:
    """Predicted classes, shape (N,); with `per_timestep`, shape (T, N): the argmax of the
    output accumulated up to each t, all from one pass."""
    was_training = net.training
    net.eval()
    chunks = []
    for batch in iterate_batches(samples, batch_size, device):
        outputs = net(encode_batch(batch.x, timesteps, encoder))
        if per_timestep:
            chunks.append(outputs.cumsum(0).argmax(-1).cpu())
        else:
            chunks.append(outputs.mean(0).argmax(-1).cpu())
    net.train(was_training)
    return torch.cat(chunks, dim=-1).numpy()
