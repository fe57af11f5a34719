"""The conversion benchmarks' common start: a config's data and its ANN twin, trained."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.events import run_to_end
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.rules.context import RuleContext
from snnstudio.core.rules.conversion import train_ann
from snnstudio.core.runner import PreparedData, prepare_data

CPU = torch.device("cpu")


@dataclass
class TrainedAnn:
    data: PreparedData
    ctx: RuleContext  # the rule context the ANN was trained in (convert and score with it)
    ann: SpikingNetwork
    metrics: dict[str, float]  # the ANN's ACC / ASR
    seconds: float  # its training time


def train_ann_twin(
    cfg: ExperimentConfig,
    stage: str = "bench",
    step_mode: str = "s",
    device: torch.device = CPU,
) -> TrainedAnn:
    """Load `cfg`'s data with its attack and train its ANN twin (LR_C's first stage), seed 0."""
    data = prepare_data(cfg)
    ctx = RuleContext(cfg, data.splits, data.poisoned_train, data.sets, device, step_mode, stage)
    torch.manual_seed(0)
    started = time.perf_counter()
    ann, metrics = run_to_end(train_ann(ctx, ctx.train_set))
    return TrainedAnn(data, ctx, ann, metrics, time.perf_counter() - started)
