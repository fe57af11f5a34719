"""ACC, ASR and MR, and the model predictions they are computed from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.events import CancelToken, check_cancel
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


NO_DECISION = -1  # the prediction when every class has the same output (e.g. no spike arrived)


def decide(outputs: torch.Tensor) -> torch.Tensor:
    """Argmax over the last axis, NO_DECISION where all classes tie.

    A readout that received no spikes is all zeros; argmax would call that class 0 and count
    it as a hit when the target is 0, inflating ASR. A tie is no decision: wrong for ACC,
    no success for ASR.
    """
    tied = outputs.amax(-1) == outputs.amin(-1)
    return outputs.argmax(-1).masked_fill(tied, NO_DECISION)


EVAL_SAMPLE_STEPS = 4096  # samples x timesteps per evaluation batch


def eval_batch_size(timesteps: int) -> int:
    """Samples per evaluation batch: about EVAL_SAMPLE_STEPS sample-timesteps (16..1024).

    A batch's memory and a multi-step layer's work grow with T x N, so a fixed N made long
    sequences slow and large; with T x N fixed, T = 4 reads 1024 samples at once, T = 16
    256, T = 400 16.
    """
    return min(1024, max(16, EVAL_SAMPLE_STEPS // max(1, timesteps)))


@torch.no_grad()
def predict(
    net: SpikingNetwork,
    samples: SampleSet,
    timesteps: int,
    encoder: str,
    device: torch.device,
    batch_size: int | None = None,
    per_timestep: bool = False,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Predicted classes, shape (N,); with `per_timestep`, shape (T, N): the argmax of the
    output accumulated up to each t, all from one pass. NO_DECISION (-1) marks a tie.
    `batch_size` defaults to eval_batch_size(timesteps); `cancel` is checked between
    batches."""
    was_training = net.training
    net.eval()
    chunks = []
    size = batch_size or eval_batch_size(timesteps)
    for batch in iterate_batches(samples, size, device):
        check_cancel(cancel)
        outputs = net(encode_batch(batch.x, timesteps, encoder), cancel)
        accumulated = outputs.cumsum(0) if per_timestep else outputs.mean(0)
        chunks.append(decide(accumulated).cpu())
    net.train(was_training)
    return torch.cat(chunks, dim=-1).numpy()


@dataclass
class TimestepScores:
    """ACC and ASR read out after every timestep t = 1..T (index t - 1)."""

    acc: np.ndarray
    asr: np.ndarray

    def summary(self, at: int | None = None) -> dict[str, float]:
        """Values at t = `at` (default T_max) and at the t with the best ACC (the first one)."""
        at = len(self.acc) if at is None else at
        best = int(np.argmax(self.acc))
        return {
            "acc": float(self.acc[at - 1]),
            "asr": float(self.asr[at - 1]),
            "eval_timesteps": at,
            "best_t": best + 1,
            "best_t_acc": float(self.acc[best]),
            "best_t_asr": float(self.asr[best]),
        }


def timestep_scores(
    net: SpikingNetwork,
    test: SampleSet,
    triggered_test: SampleSet,
    target: int,
    timesteps: int,
    encoder: str,
    device: torch.device,
    cancel: CancelToken | None = None,
) -> TimestepScores:
    """ACC and ASR for every t = 1..timesteps from one forward pass per test set."""
    clean = predict(net, test, timesteps, encoder, device, per_timestep=True, cancel=cancel)
    triggered = predict(
        net, triggered_test, timesteps, encoder, device, per_timestep=True, cancel=cancel
    )
    return TimestepScores(
        np.array([accuracy(p, test.y) for p in clean]),
        np.array([attack_success_rate(p, triggered_test.original_y, target) for p in triggered]),
    )
