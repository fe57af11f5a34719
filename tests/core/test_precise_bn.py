"""Batch-norm recalibration (precise_bn.py): the pass stops after the last batch norm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snnstudio.core import precise_bn
from snnstudio.core.config import ModelConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.models.registry import build_network

CPU = torch.device("cpu")


def _samples(count: int) -> SampleSet:
    rng = np.random.default_rng(0)
    x = rng.random((count, 1, 16, 16), dtype=np.float32)
    y = rng.integers(0, 4, count)
    return SampleSet(x, y, y.copy(), np.zeros(count, bool))


def _recalibrated(arch: str, spiking: bool, stop_early: bool, monkeypatch) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = build_network(ModelConfig(arch=arch), (1, 16, 16), 4, spiking, "m")
    if not stop_early:  # the whole network, as before the pass stopped early
        monkeypatch.setattr(precise_bn, "batch_norm_stop", lambda net: None)
    read = precise_bn.recompute_batch_norm_statistics(
        net, _samples(80), 72, 4 if spiking else 1, "repeat", CPU, seed=3
    )
    assert read == 72 and net.training
    return [t for m in precise_bn.trainable_batch_norms(net)
            for t in (m.running_mean, m.running_var)]  # fmt: skip


@pytest.mark.parametrize(("arch", "spiking"), [("csnn", True), ("csnn", False), ("vgg11", True)])
def test_the_pass_after_the_last_batch_norm_changes_no_statistic(arch, spiking, monkeypatch):
    early = _recalibrated(arch, spiking, True, monkeypatch)
    whole = _recalibrated(arch, spiking, False, monkeypatch)
    assert all(torch.equal(a, b) for a, b in zip(early, whole, strict=True))


def test_the_pass_stops_after_the_last_layer_holding_a_batch_norm() -> None:
    csnn = build_network(ModelConfig(), (1, 16, 16), 4, True, "m")
    assert precise_bn.batch_norm_stop(csnn) == 6  # conv, BN, LIF, pool, conv, BN
    vgg = build_network(ModelConfig(arch="vgg11"), (1, 16, 16), 4, True, "m")
    assert precise_bn.batch_norm_stop(vgg) == len(vgg.layers) - 2  # ..., FC, BN | LIF, FC
    resnet = build_network(ModelConfig(arch="resnet18"), (1, 16, 16), 4, True, "m")
    assert precise_bn.batch_norm_stop(resnet) == len(resnet.layers) - 3  # | pool, flat, FC
