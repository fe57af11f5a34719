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
from snnstudio.core.precise_bn import recompute_batch_norm_statistics
from snnstudio.core.resume import EpochStates, PhaseStart


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
    loss_weighting: str = "per_sample"  # per_sample | per_set (train.loss_weighting)
    precision: str = "fp32"  # fp32 | bf16: autocast of the forward pass
    compile: bool = False  # torch.compile the forward pass
    # samples over which batch-norm statistics are recomputed after each epoch (precise_bn.py);
    # 0 = keep the running averages (LR_H's SNN step: its BN is frozen)
    bn_samples: int = 0


# One optimisation step on a batch: (net, encoded input [T, N, ...], batch) -> (loss, logits).
BatchStep = Callable[[SpikingNetwork, torch.Tensor, Batch], tuple[float, torch.Tensor]]


def poison_weighted_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_poison: torch.Tensor,
    poison_weight: float,
    clean_weight: float,
    weighting: str,
) -> torch.Tensor:
    """The paper's Eq. 10/11: lambda * loss(poisoned) + mu * loss(clean).

    `per_set`: each term is the mean cross-entropy over its own samples. A batch without
    poisoned (or without clean) samples uses the other term alone; the weights are
    normalised by the sum of the terms present so every batch has the same scale.
    `per_sample`: each sample's cross-entropy weighted lambda (poisoned) or mu (clean), the
    weighted mean over the batch; with lambda = mu the plain mean.
    """
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    if weighting == "per_sample":
        weights = torch.where(is_poison, poison_weight, clean_weight).to(per_sample.dtype)
        return (weights * per_sample).sum() / weights.sum().clamp_min(1e-12)
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
) -> Callable[[torch.Tensor, CancelToken | None], torch.Tensor]:
    """`net.classify` (which checks the cancel token between timesteps), or with
    `settings.compile` its torch.compile'd twin (cancelled between batches only: a Python
    check inside would break the graph at every timestep).

    Compiled, the neurons run spikingjelly's own step, which compiles without graph breaks
    (the fused numba step is opaque to torch.compile); shapes are static, so the last,
    shorter batch of an epoch compiles once more.
    """
    if not settings.compile:
        return net.classify
    for module in net.modules():
        if isinstance(module, FusedCpuStep):
            module.fused = False
    compiled = torch.compile(net.classify, dynamic=False)
    return lambda x_seq, cancel: compiled(x_seq)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16 autocast of the forward pass when asked (matmuls and convolutions in bf16,
    losses and batch norm in fp32; the neurons run spikingjelly's own kernels)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


class RuleStep:
    """The rules' step: the poison-weighted loss (Eq. 10) and `settings.optimizer`, the
    forward pass compiled and in bf16 when the settings ask, `cancel` checked between
    timesteps. Its optimizer is part of a resumable epoch state."""

    def __init__(
        self, net: SpikingNetwork, settings: TrainSettings, device: torch.device,
        cancel: CancelToken | None,
    ) -> None:  # fmt: skip
        self.optimizer = make_optimizer(net, settings.optimizer, settings.lr)
        self.classify = training_forward(net, settings)
        self.settings, self.device, self.cancel = settings, device, cancel

    def __call__(
        self, net: SpikingNetwork, x_seq: torch.Tensor, batch: Batch
    ) -> tuple[float, torch.Tensor]:
        settings = self.settings
        with autocast(self.device, settings.precision):
            logits = self.classify(x_seq, self.cancel)
        loss = poison_weighted_loss(
            logits, batch.y, batch.is_poison, settings.poison_weight, settings.clean_weight,
            settings.loss_weighting,
        )  # fmt: skip
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item(), logits


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
    states: EpochStates | None = None,
) -> Generator[Event, None, dict[str, float]]:
    """Train `net` in place as the stage `stage`: StageStarted with its total steps, then a
    BatchDone per step and an EpochDone per epoch.

    Returns the last epoch's metrics. An SNN sees the encoded sequence [T, N, ...]; an ANN
    twin sees each static image once (T = 1). The events carry the stage's role: the network
    kind of `net` and `clean_twin`. `step_fn` replaces the default step (the
    poison-weighted loss and `settings.optimizer`), e.g. for the defences' fine-tuning. With
    `states` (the rules' step only), every epoch's complete state is saved, and training
    resumes after the last saved epoch (its EpochDone events replayed).
    """
    step_fn = step_fn or RuleStep(net, settings, device, cancel)
    rng = np.random.default_rng(settings.seed)
    steps_per_epoch = batch_count(train_set, settings.batch_size, fold_single_tail=True)
    total = settings.epochs * steps_per_epoch
    role = StageRole(NetworkKind.SNN if net.spiking else NetworkKind.ANN, clean_twin)
    yield StageStarted(stage, total, role=role)
    timesteps = settings.timesteps if net.spiking else 1
    optimizer = step_fn.optimizer if isinstance(step_fn, RuleStep) else None
    if states is not None and optimizer is None:
        raise ValueError("resumable states need the rules' step (RuleStep)")
    start = PhaseStart() if states is None else states.start(stage, net, optimizer, rng, role)
    yield from start.events
    done = list(start.events)
    metrics: dict[str, float] = start.metrics
    step = start.epoch * steps_per_epoch
    for epoch in range(start.epoch + 1, settings.epochs + 1):
        started = time.perf_counter()
        net.train()
        losses = []
        for batch in iterate_batches(
            train_set, settings.batch_size, device, rng, fold_single_tail=True
        ):
            check_cancel(cancel)
            loss, logits = step_fn(net, encode_batch(batch.x, timesteps, settings.encoder), batch)
            step += 1
            losses.append(loss)
            batch_acc = (logits.argmax(-1) == batch.y).float().mean().item()
            yield BatchDone(stage, epoch, step, total, losses[-1], batch_acc, role=role)
        check_cancel(cancel)
        recompute_batch_norm_statistics(
            net, train_set, settings.bn_samples, timesteps, settings.encoder, device,
            settings.seed + epoch, cancel,
        )  # fmt: skip
        metrics = evaluate(net, sets, timesteps, settings.encoder, device)
        metrics["loss"] = float(np.mean(losses))
        done.append(EpochDone(
            stage, epoch, metrics["acc"], metrics["asr"], metrics["loss"],
            time.perf_counter() - started, role=role,
        ))  # fmt: skip
        if states is not None:
            states.save(stage, epoch, net, optimizer, rng, metrics, done)
        yield done[-1]
    return metrics
