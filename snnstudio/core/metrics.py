"""ACC, ASR and MR, and the model predictions they are computed from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from spikingjelly.activation_based import functional

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


# The metrics that are migration rates. A clean twin has no backdoor to migrate: its MR is
# chance ASR over chance ASR (ResNet18's LR_H twin: 0.0034 / 0.0011 = 3.0), so it has none.
MIGRATION_KEYS = frozenset({"mr", "converted_mr"})


NO_DECISION = -1  # the prediction when every class has the same output (e.g. no spike arrived)


def decide(outputs: torch.Tensor) -> torch.Tensor:
    """Argmax over the last axis, NO_DECISION where all classes tie.

    A readout that received no spikes is all zeros; argmax would call that class 0 and count
    it as a hit when the target is 0, inflating ASR. A tie is no decision: wrong for ACC,
    no success for ASR.
    """
    tied = outputs.amax(-1) == outputs.amin(-1)
    return outputs.argmax(-1).masked_fill(tied, NO_DECISION)


EVAL_SAMPLE_STEPS = {"cpu": 512, "cuda": 4096}  # samples x timesteps per evaluation batch


def eval_batch_size(timesteps: int, device: torch.device | None = None) -> int:
    """Samples per evaluation batch on `device` (default the CPU): about EVAL_SAMPLE_STEPS
    sample-timesteps for its type (16..1024).

    A batch's memory and a multi-step layer's work grow with T x N, so a fixed N made long
    sequences slow and large. A CPU is fastest near the training batch's T x N, where a
    layer's output (25.7 MB for the CSNN's first at 512 frames of 28 x 28) stays in cache:
    predict over 512 MNIST test images at T = 4 (CSNN, fastest of 7 runs, load 3.3 on 2
    cores) took with 1 thread 0.13 s at 64 or 128 samples a batch, 0.35 s at 1024; with 2
    threads 0.86 s at 64, 0.47 s at 128, 0.40 s at 1024 (under load each parallel region
    waits for a descheduled thread, and small batches have more of them): 512 frames is
    the compromise. A GPU wants large batches: T x N = 4096 (1024 samples at T = 4, 16 at
    T = 400).
    """
    steps = EVAL_SAMPLE_STEPS["cuda" if device is not None and device.type == "cuda" else "cpu"]
    return min(1024, max(16, steps // max(1, timesteps)))


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
    output accumulated up to each t, all from one pass (`timestep_decisions`). NO_DECISION
    (-1) marks a tie. `batch_size` defaults to eval_batch_size(timesteps, device), or with
    `per_timestep` CURVE_BATCH; `cancel` is checked between batches (and chunks of t)."""
    was_training = net.training
    net.eval()
    chunks = []
    streamed = per_timestep and net.spiking
    size = batch_size or (CURVE_BATCH if streamed else eval_batch_size(timesteps, device))
    with torch.inference_mode():
        for batch in iterate_batches(samples, size, device):
            check_cancel(cancel)
            if streamed:
                chunks.append(timestep_decisions(net, batch.x, timesteps, encoder, cancel).cpu())
                continue
            outputs = net(encode_batch(batch.x, timesteps, encoder), cancel)
            accumulated = outputs.cumsum(0) if per_timestep else outputs.mean(0)
            chunks.append(decide(accumulated).cpu())
    net.train(was_training)
    return torch.cat(chunks, dim=-1).numpy()


CURVE_BATCH = 64  # samples per batch of the per-timestep curve
CURVE_CHUNK_SAMPLE_STEPS = 512  # samples x timesteps per multi-step chunk of the curve


def timestep_decisions(
    net: SpikingNetwork,
    x: torch.Tensor,
    timesteps: int,
    encoder: str,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """decide() of the readout accumulated up to each t = 1..timesteps, shape (T, N), for
    the batch `x`: the same numbers as `decide(net(encode_batch(x, ...)).cumsum(0))`, faster.

    - The sequence runs in multi-step chunks of about CURVE_CHUNK_SAMPLE_STEPS sample-steps,
      the state carried from chunk to chunk: a whole T = 400 sequence at once made tensors
      of T x N frames per layer, slower than single-step mode (memory-bound), and one t at a
      time pays every layer's call overhead T times.
    - Under repeat coding of static images the layers before the first neuron see the same
      frame at every t: they run once and their output is repeated (a view, no copy).
    - The readout is accumulated in float64 across chunks as torch's float32 cumsum does
      within one. The sums equal the one-pass form's up to float32 rounding, not bit for
      bit: a chunk gives each conv/FC layer fewer rows, and MKL's GEMM may round a row
      differently by the row count (tests/core/test_timestep_curve.py). A decision can
      differ only where two classes' sums, or a neuron's voltage and its threshold, are
      within that rounding of each other.
    """
    chunk = max(1, CURVE_CHUNK_SAMPLE_STEPS // len(x))
    previous = net.step_mode
    net.set_step_mode("m")
    try:
        functional.reset_net(net.layers)
        static = x.dim() == 4 and encoder == "repeat"
        start = net.stateless_prefix() if static else 0
        frame = net.continue_sequence(x.unsqueeze(0), 0, start) if static else x
        sequence = None if static else encode_batch(x, timesteps, encoder)
        total: torch.Tensor | None = None  # the float64 running sum of the readout
        decisions = []
        for first in range(0, timesteps, chunk):
            check_cancel(cancel)
            steps = min(chunk, timesteps - first)
            if sequence is None:
                inputs = frame.expand(steps, *frame.shape[1:])
            else:
                inputs = sequence[first : first + steps]
            readout = net.continue_sequence(inputs, start).double()
            running = (
                readout.cumsum(0) if total is None else torch.cat((total, readout)).cumsum(0)[1:]
            )
            total = running[-1:]
            decisions.append(decide(running.float()))
    finally:
        net.set_step_mode(previous)
    return torch.cat(decisions)


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
