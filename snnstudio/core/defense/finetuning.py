"""Fine-tuning on a small clean set, in the variants that remove a backdoor.

One loop (`fine_tune`) serves every fine-tuning elimination method; a `Recipe` says which:

- plain fine-tuning (the paper's "Defences"): a constant learning rate;
- super-fine-tuning (Sha et al. 2022, "Fine-tuning is all you need to mitigate backdoor
  attacks"; called super-FT in Pang et al. 2023's benchmark): a large cyclic / one-cycle
  learning rate (torch's `OneCycleLR` / `CyclicLR`), so the weights leave the backdoor's
  basin before the rate falls and clean accuracy settles;
- FT-SAM (Zhu et al., ICCV 2023, "Enhancing fine-tuning based backdoor defense with
  sharpness-aware minimization"): each step takes the gradient at the worst nearby
  weights, w + rho * g / ||g|| (Foret et al. 2021's SAM), which shrinks the large weights
  the trigger's pathway relies on;
- NAD (Li et al., ICLR 2021, "Neural attention distillation"): a teacher is fine-tuned
  from the backdoored model first, then the backdoored model is fine-tuned with a loss
  that pulls its spiking layers' attention maps towards the teacher's (`Distillation`).

Spiking layers are tapped with forward hooks: a layer's feature is its firing rate (the
spikes averaged over the T timesteps, differentiable through the surrogate gradient) or
its membrane voltage (spikingjelly's `v` after each step, averaged over T).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from snnstudio.core.batches import Batch, batch_count
from snnstudio.core.data.base import SampleSet
from snnstudio.core.defense.settings import DISTILLED_FEATURES, SCHEDULES
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken, Event
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.training import (
    EvalSets,
    TrainSettings,
    evaluate,
    make_optimizer,
    train_epochs,
)

CYCLES = 2  # triangular cycles of the `cyclic` schedule over the whole run

# (net, encoded input [T, N, ...], labels) -> (loss to minimise, logits [N, K])
LossFn = Callable[[SpikingNetwork, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class Recipe:
    """How one fine-tuning run trains."""

    epochs: int
    lr: float  # the constant rate, or the peak of a cyclic / one-cycle schedule
    optimizer: str  # adam | sgd (momentum 0.9)
    batch_size: int
    timesteps: int
    encoder: str
    seed: int
    schedule: str = "constant"  # constant | one-cycle | cyclic
    sam_rho: float = 0.0  # > 0: sharpness-aware steps with this radius


def cross_entropy(
    net: SpikingNetwork, x_seq: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    logits = net.classify(x_seq)
    return F.cross_entropy(logits, labels), logits


def lr_schedule(
    optimizer: torch.optim.Optimizer, schedule: str, peak: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """torch's scheduler for the named schedule, stepped once per batch (None = constant)."""
    if schedule == "constant" or total_steps < 2:
        return None
    if schedule == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=peak, total_steps=total_steps, pct_start=0.3,
            cycle_momentum=isinstance(optimizer, torch.optim.SGD),
        )  # fmt: skip
    if schedule == "cyclic":
        half = max(1, total_steps // (2 * CYCLES))
        return torch.optim.lr_scheduler.CyclicLR(
            optimizer, base_lr=peak / 100, max_lr=peak, step_size_up=half,
            mode="triangular2", cycle_momentum=isinstance(optimizer, torch.optim.SGD),
        )  # fmt: skip
    raise ConfigError(f"schedule '{schedule}' is not one of: {', '.join(SCHEDULES)}")


class SharpnessAware:
    """SAM's ascent to the worst weights within radius rho, and the way back.

    Written by hand (a dozen lines): torch has no SAM, and the PyPI ports wrap the
    optimizer, which would hide the learning-rate schedule from torch's schedulers.
    """

    def __init__(self, net: nn.Module, rho: float) -> None:
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.rho = rho
        self.steps: list[torch.Tensor | None] = []

    @torch.no_grad()
    def ascend(self) -> None:
        grads = [p.grad for p in self.params]
        norm = torch.norm(torch.stack([g.norm() for g in grads if g is not None]))
        scale = self.rho / (norm + 1e-12)
        self.steps = []
        for p, g in zip(self.params, grads, strict=True):
            step = None if g is None else g * scale
            if step is not None:
                p.add_(step)
            self.steps.append(step)

    @torch.no_grad()
    def descend_back(self) -> None:
        for p, step in zip(self.params, self.steps, strict=True):
            if step is not None:
                p.sub_(step)


def fine_tune(
    net: SpikingNetwork,
    clean: SampleSet,
    sets: EvalSets,
    recipe: Recipe,
    device: torch.device,
    stage: str,
    cancel: CancelToken | None,
    loss_fn: LossFn = cross_entropy,
) -> Generator[Event, None, dict[str, float]]:
    """Train `net` in place on `clean` by the shared training loop (`train_epochs`: a
    BatchDone per step, an EpochDone with ACC/ASR per epoch) with the recipe's step.
    Returns the last epoch's metrics (ACC/ASR as they are, for 0 epochs)."""
    if recipe.epochs <= 0:
        return evaluate(net, sets, recipe.timesteps, recipe.encoder, device)
    optimizer = make_optimizer(net, recipe.optimizer, recipe.lr)
    total = recipe.epochs * batch_count(clean, recipe.batch_size, fold_single_tail=True)
    scheduler = lr_schedule(optimizer, recipe.schedule, recipe.lr, total)
    sam = SharpnessAware(net, recipe.sam_rho) if recipe.sam_rho > 0 else None

    def step(net: SpikingNetwork, x_seq: torch.Tensor, batch: Batch) -> tuple[float, torch.Tensor]:
        loss, logits = loss_fn(net, x_seq, batch.y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if sam is not None:  # the gradient at the worst weights within rho, applied here
            sam.ascend()
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net, x_seq, batch.y)[0].backward()
            sam.descend_back()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return loss.item(), logits

    settings = TrainSettings(
        epochs=recipe.epochs, lr=recipe.lr, batch_size=recipe.batch_size,
        timesteps=recipe.timesteps, encoder=recipe.encoder, poison_weight=0.0,
        clean_weight=1.0, seed=recipe.seed, optimizer=recipe.optimizer,
    )  # fmt: skip
    return (
        yield from train_epochs(net, clean, sets, settings, device, stage, cancel, step_fn=step)
    )


class LayerTaps:
    """Forward hooks that keep each spiking layer's feature, summed over the timesteps of
    one forward pass (`mean()` divides by T): its spikes (`rate`) or its voltage."""

    def __init__(self, net: nn.Module, feature: str) -> None:
        if feature not in DISTILLED_FEATURES:
            raise ConfigError(f"feature '{feature}' is not one of: {', '.join(DISTILLED_FEATURES)}")
        self.feature = feature
        self.nodes = [m for m in net.modules() if is_spiking_layer(m)]
        if not self.nodes:
            raise ConfigError("this network has no spiking layer to distil")
        self.sums: list[torch.Tensor | None] = [None] * len(self.nodes)
        self.calls = [0] * len(self.nodes)
        self.enabled = False  # only the forward passes of the distillation loss are kept
        self.handles = [n.register_forward_hook(self._hook(i)) for i, n in enumerate(self.nodes)]
        self.stored = [n.store_v_seq for n in self.nodes]
        for node in self.nodes:
            node.store_v_seq = True  # multi-step mode keeps v of every step in v_seq

    def _hook(self, index: int) -> Callable[[nn.Module, tuple, torch.Tensor], None]:
        def keep(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if not self.enabled:
                return
            node = self.nodes[index]
            multi = node.step_mode == "m"
            if self.feature == "rate":
                value = output.sum(0) if multi else output
            else:
                value = node.v_seq.sum(0) if multi else node.v
            steps = output.shape[0] if multi else 1
            total = self.sums[index]
            self.sums[index] = value if total is None else total + value
            self.calls[index] += steps

        return keep

    def reset(self, enabled: bool) -> None:
        """Forget what was kept; keep the next forward passes only when `enabled`."""
        self.sums = [None] * len(self.nodes)
        self.calls = [0] * len(self.nodes)
        self.enabled = enabled

    def mean(self) -> list[torch.Tensor]:
        return [s / c for s, c in zip(self.sums, self.calls, strict=True) if s is not None]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        for node, stored in zip(self.nodes, self.stored, strict=True):
            node.store_v_seq = stored


def attention_map(feature: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    """NAD's attention: |a|^p averaged over channels (conv maps) or per neuron (FC),
    flattened and L2-normalised per input; [N, ...] -> [N, d]."""
    a = feature.abs().pow(power)
    if a.dim() == 4:
        a = a.mean(1)
    return F.normalize(a.flatten(1), dim=1)


class Distillation:
    """NAD's loss for the student: cross-entropy plus beta times the mean squared distance
    between its spiking layers' attention maps and the teacher's on the same inputs."""

    def __init__(self, student: SpikingNetwork, teacher: SpikingNetwork, feature: str,
                 beta: float) -> None:  # fmt: skip
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.student_taps = LayerTaps(student, feature)
        self.teacher_taps = LayerTaps(teacher, feature)
        self.beta = beta

    def __call__(
        self, net: SpikingNetwork, x_seq: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.student_taps.reset(enabled=True)
        self.teacher_taps.reset(enabled=True)
        logits = net.classify(x_seq)
        with torch.no_grad():
            self.teacher(x_seq)
        loss = F.cross_entropy(logits, labels)
        pairs = zip(self.student_taps.mean(), self.teacher_taps.mean(), strict=True)
        for mine, theirs in pairs:
            loss = loss + self.beta * (attention_map(mine) - attention_map(theirs)).pow(2).mean()
        self.student_taps.reset(enabled=False)  # evaluation passes are not kept
        self.teacher_taps.reset(enabled=False)
        return loss, logits

    def remove(self) -> None:
        self.student_taps.remove()
        self.teacher_taps.remove()


def teacher_copy(net: SpikingNetwork) -> SpikingNetwork:
    """An independent copy of the backdoored network to fine-tune into NAD's teacher (its
    neurons' state is reset first: a state left by a forward pass cannot be copied)."""
    functional.reset_net(net)
    return copy.deepcopy(net)
