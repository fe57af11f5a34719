"""Sneaky Spikes' dynamic trigger: an input-specific perturbation x' = x + gamma * G(x).

G is a small generator whose output lies in [-1, 1] (tanh), so every frame pixel moves by at
most gamma (the budget, ||x' - x||_inf <= gamma) and the poisoned frames stay close to the
clean ones. As in Sneaky Spikes (after LIRA), G is trained together with a victim model:

    generator step: minimise CE(f(x + gamma G(x)), target) over G
    victim step:    minimise alpha CE(f(x), y) + (1 - alpha) CE(f(x + gamma G(x)), target)

with alpha = 0.5. Then, as their evaluation does, a fresh victim is trained from scratch on
the poisoned set the generator makes (the run's learning rule does that), so the ASR is that
of a model the attacker never touched. Two simplifications keep it small and CPU-fast, both
stated in the README: G is a three-layer convolutional net applied to each frame (theirs is a
spiking autoencoder of 128..1024 channels), and the generator step uses the current victim
rather than their one-step look-ahead copy of it. x' is not clipped to [0, 1], as theirs is
not (their note: clipping makes the backdoor easier to learn, even at gamma = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from snnstudio.core.batches import iterate_batches
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import TriggerError
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.models.registry import build_network

CLEAN_SHARE = 0.5  # alpha of the victim step (Sneaky Spikes' default)
APPLY_BATCH = 256  # samples per generator call when poisoning


class PerturbationGenerator(nn.Module):
    """Frames (N, T, C, H, W) -> a perturbation of the same shape in [-1, 1], frame by frame."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.channels, self.hidden = channels, hidden
        self.net = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        out = self.net(x.reshape(n * t, *x.shape[2:]))
        return torch.tanh(out).reshape(x.shape)


@dataclass
class DynamicTrigger:
    """A trained generator and its budget; `apply` poisons frames as the other triggers do."""

    generator: PerturbationGenerator
    gamma: float

    def check_fits(self, image_shape: tuple[int, ...]) -> None:
        """TriggerError unless the generator takes frames of `image_shape` (C, H, W)."""
        if image_shape[0] != self.generator.channels:
            raise TriggerError(
                f"the dynamic trigger's generator takes {self.generator.channels}-channel "
                f"frames; the data has {image_shape[0]} channels"
            )

    def perturbation(self, x: np.ndarray) -> np.ndarray:
        """gamma * G(x) for frames (N, T, C, H, W), in batches, as float32."""
        self.generator.eval()
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(x), APPLY_BATCH):
                batch = torch.from_numpy(np.ascontiguousarray(x[start : start + APPLY_BATCH]))
                chunks.append((self.gamma * self.generator(batch.float())).numpy())
        return np.concatenate(chunks) if chunks else np.zeros_like(x, np.float32)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (x + self.perturbation(x)).astype(np.float32)


def train_dynamic_trigger(
    cfg: ExperimentConfig,
    train: SampleSet,
    num_classes: int,
    cancel: CancelToken | None = None,
) -> DynamicTrigger:
    """Train G together with a victim of the run's architecture on `train` (clean), seeded
    by train.seed and trigger.seed, for trigger.generator_epochs epochs on the CPU."""
    trig = cfg.trigger
    torch.manual_seed(cfg.train.seed * 1000 + trig.seed)
    image_shape = tuple(train.x.shape[2:])
    victim = build_network(cfg.model, image_shape, num_classes, step_mode="m")  # type: ignore[arg-type]
    generator = PerturbationGenerator(image_shape[0], trig.generator_channels)
    victim_opt = torch.optim.Adam(victim.parameters(), lr=cfg.train.lr)
    generator_opt = torch.optim.Adam(generator.parameters(), lr=cfg.train.lr)
    target = cfg.poison.target
    rng = np.random.default_rng(cfg.train.seed + trig.seed)
    device = torch.device("cpu")
    victim.train()
    generator.train()
    for _ in range(trig.generator_epochs):
        for batch in iterate_batches(train, cfg.train.batch_size, device, rng, True):
            check_cancel(cancel)
            x = batch.x
            to_target = torch.full_like(batch.y, target)
            # generator step: make x + gamma G(x) read as the target class
            poisoned = x + trig.gamma * generator(x)
            loss = F.cross_entropy(victim.classify(poisoned.transpose(0, 1)), to_target)
            generator_opt.zero_grad()
            loss.backward()
            generator_opt.step()
            # victim step: clean samples keep their label, perturbed ones go to the target
            with torch.no_grad():
                poisoned = x + trig.gamma * generator(x)
            clean_loss = F.cross_entropy(victim.classify(x.transpose(0, 1)), batch.y)
            poison_loss = F.cross_entropy(victim.classify(poisoned.transpose(0, 1)), to_target)
            victim_opt.zero_grad()
            (CLEAN_SHARE * clean_loss + (1 - CLEAN_SHARE) * poison_loss).backward()
            victim_opt.step()
    generator.eval()
    return DynamicTrigger(generator, trig.gamma)
