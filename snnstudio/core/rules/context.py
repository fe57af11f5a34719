"""What a learning rule is given and what it hands back."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import DatasetSplits, SampleSet
from snnstudio.core.events import CancelToken, Event
from snnstudio.core.models.network import AnnTwin, SpikingNetwork
from snnstudio.core.models.registry import build_ann_twin, build_network
from snnstudio.core.resume import EpochStates
from snnstudio.core.rules.ann_cache import AnnCache
from snnstudio.core.training import EvalSets, TrainSettings


@dataclass
class RuleContext:
    """One training job: the config, the (possibly poisoned) training set and the test sets."""

    cfg: ExperimentConfig
    splits: DatasetSplits
    train_set: SampleSet  # poisoned D^ (or clean D for a clean twin)
    sets: EvalSets
    device: torch.device
    step_mode: str  # 's' or 'm'
    stage: str
    cancel: CancelToken | None = None
    clean_twin: bool = False  # the stage trains the clean twin (PR = 0)
    states: EpochStates | None = None  # per-epoch resumable states (a run with a directory)
    ann_cache: AnnCache | None = None  # trained ANN twins to reuse (a sweep's; LR_C, LR_H)

    def build(self) -> SpikingNetwork:
        """The SNN of the config's architecture on the device (the ANN twin: build_ann_twin)."""
        net = build_network(
            self.cfg.model, self.splits.image_shape, self.splits.num_classes, True, self.step_mode
        )
        return net.to(self.device)

    def build_ann_twin(self) -> AnnTwin:
        """The ANN twin of the config's architecture on the device."""
        twin = build_ann_twin(self.cfg.model, self.splits.image_shape, self.splits.num_classes)
        return twin.to(self.device)

    def settings(self) -> TrainSettings:
        t = self.cfg.train
        return TrainSettings(
            epochs=t.epochs, lr=t.lr, batch_size=t.batch_size, timesteps=self.cfg.sim.timesteps,
            encoder=self.cfg.sim.encoder, poison_weight=t.poison_weight,
            clean_weight=t.clean_weight, seed=t.seed, precision=t.precision, compile=t.compile,
            bn_samples=t.bn_recalibration, loss_weighting=t.loss_weighting,
        )  # fmt: skip


@dataclass
class RuleResult:
    """The trained SNN, its final metrics (at least acc and asr) and seconds per stage."""

    network: SpikingNetwork
    metrics: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # the config the network runs under when the rule changes it (conversion: IF neurons,
    # soft reset, T = T_max); the checkpoint stores this one so it rebuilds the same network
    config: ExperimentConfig | None = None


class Rule(Protocol):
    def __call__(self, ctx: RuleContext) -> Generator[Event, None, RuleResult]: ...
