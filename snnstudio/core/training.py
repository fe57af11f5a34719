"""The shared training loop: the paper's poisoned/clean objective, epochs as events."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import Batch, batch_count, iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.events import (
    BatchDone,
    CancelToken,
    EpochDone,
    Event,
    NetworkKind,
    StageRole,
    StageStarted,
    check_cancel,
)
from snnstudio.core.metrics import accuracy, attack_success_rate, predict
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import FusedCpuStep


@dataclass
class EvalSets:
    """What every model is scored on: the clean test set and its triggered twin."""

    test: SampleSet
    triggered_test: SampleSet
    target: int


@dataclass
class TrainSettings:
    epochs: int
    lr: float
    batch_size: int
    timesteps: int
    encoder: str
    poison_weight: float
    clean_weight: float
    seed: int
    optimizer: str = "adam"  # adam | sgd (momentum 0.9)
    precision: str = "fp32"  # fp32 | bf16: autocast of the forward pass
    compile: bool = False  # torch.compile the forward pass


# One optimisation step on a batch: (net, encoded input [T, N, ...], batch) -> (loss, logits).
BatchStep = Callable[[SpikingNetwork, torch.Tensor, Batch], tuple[float, torch.Tensor]]


def poison_weighted_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_poison: torch.Tensor,
    poison_weight: float,
    clean_weight: float,
) -> torch.Tensor:
    """The paper's Eq. 10/11: lambda * loss(poisoned) + mu * loss(clean).

    Each term is the mean cross-entropy over its own samples. A batch without poisoned (or
    without clean) samples uses the other term alone; the weights are normalised by the sum
    of the terms present so every batch has the same scale.
    """
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    total = logits.new_zeros(())
    weight = 0.0
    for mask, w in ((is_poison, poison_weight), (~is_poison, clean_weight)):
        if w > 0 and bool(mask.any()):
            total = total + w * per_sample[mask].mean()
            weight += w
    return total / weight if weight else per_sample.mean()


def evaluate(
    net: SpikingNetwork, sets: EvalSets, timesteps: int, encoder: str, device: torch.device
) -> dict[str, float]:
    """ACC on the clean test set and ASR on the triggered one."""
    clean = predict(net, sets.test, timesteps, encoder, device)
    triggered = predict(net, sets.triggered_test, timesteps, encoder, device)
    return {
        "acc": accuracy(clean, sets.test.y),
        "asr": attack_success_rate(triggered, sets.triggered_test.original_y, sets.target),
    }


def make_optimizer(net: SpikingNetwork, name: str, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    return torch.optim.Adam(net.parameters(), lr=lr)


def training_forward(
    net: SpikingNetwork, settings: TrainSettings
) -> Callable[[torch.Tensor], torch.Tensor]:
    """`net.classify`, or with `settings.compile` its torch.compile'd twin.

    Compiled, the neurons run spikingjelly's own step, which compiles without graph breaks
    (the fused numba step is opaque to torch.compile); shapes are static, so the last,
    shorter batch of an epoch compiles once more.
    """
    if not settings.compile:
        return net.classify
    for module in net.modules():
        if isinstance(module, FusedCpuStep):
            module.fused = False
    return torch.compile(net.classify, dynamic=False)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16 autocast of the forward pass when asked (matmuls and convolutions in bf16,
    losses and batch norm in fp32; the neurons run spikingjelly's own kernels)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def _default_step(net: SpikingNetwork, settings: TrainSettings, device: torch.device) -> BatchStep:
    """The rules' step: the poison-weighted loss (Eq. 10) and `settings.optimizer`, the
    forward pass compiled and in bf16 when the settings ask."""
    optimizer = make_optimizer(net, settings.optimizer, settings.lr)
    classify = training_forward(net, settings)

    def step(net: SpikingNetwork, x_seq: torch.Tensor, batch: Batch) -> tuple[float, torch.Tensor]:
        with autocast(device, settings.precision):
            logits = classify(x_seq)
        loss = poison_weighted_loss(
            logits, batch.y, batch.is_poison, settings.poison_weight, settings.clean_weight
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item(), logits

    return step


def train_epochs(
    net: SpikingNetwork,
    train_set: SampleSet,
    sets: EvalSets,
    settings: TrainSettings,
    device: torch.device,
    stage: str,
    cancel: CancelToken | None,
    clean_twin: bool = False,
    step_fn: BatchStep | None = None,
) -> Generator[Event, None, dict[str, float]]:
    """Train `net` in place as the stage `stage`: StageStarted with its total steps, then a
    BatchDone per step and an EpochDone per epoch.

    Returns the last epoch's metrics. An SNN sees the encoded sequence [T, N, ...]; an ANN
    twin sees each static image once (T = 1). The events carry the stage's role: the network
    kind of `net` and `clean_twin`. `step_fn` replaces the default step (the
    poison-weighted loss and `settings.optimizer`), e.g. for the defences' fine-tuning.
    """
    step_fn = step_fn or _default_step(net, settings, device)
    rng = np.random.default_rng(settings.seed)
    steps_per_epoch = batch_count(train_set, settings.batch_size)
    total = settings.epochs * steps_per_epoch
    role = StageRole(NetworkKind.SNN if net.spiking else NetworkKind.ANN, clean_twin)
    yield StageStarted(stage, total, role=role)
    timesteps = settings.timesteps if net.spiking else 1
    metrics: dict[str, float] = {}
    step = 0
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        net.train()
        losses = []
        for batch in iterate_batches(train_set, settings.batch_size, device, rng):
            check_cancel(cancel)
            loss, logits = step_fn(net, encode_batch(batch.x, timesteps, settings.encoder), batch)
            step += 1
            losses.append(loss)
            batch_acc = (logits.argmax(-1) == batch.y).float().mean().item()
            yield BatchDone(stage, epoch, step, total, losses[-1], batch_acc, role=role)
        check_cancel(cancel)
        metrics = evaluate(net, sets, timesteps, settings.encoder, device)
        metrics["loss"] = float(np.mean(losses))
        yield EpochDone(
            stage, epoch, metrics["acc"], metrics["asr"], metrics["loss"],
            time.perf_counter() - started, role=role,
        )  # fmt: skip
    return metrics
