"""The converted net's own layers: the spike-count max-pool and ResNet18's residual balancing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.config import ModelConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.models.conversion_layers import ScaledShortcut, SpikeCountMaxPool2d
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.models.registry import build_network
from snnstudio.core.probe import spiking_layer_names
from snnstudio.core.rules.spike_norm import spike_norm
from snnstudio.core.rules.stdb import STDBIFNode, swap_spike_layers
from snnstudio.core.rules.threshold_balancing import (
    activation_norms,
    ann_state_dict,
    set_threshold,
    spike_slots,
)

CPU = torch.device("cpu")


@pytest.mark.parametrize("v_init", [0.0, 0.5])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_if_neuron_started_at_half_threshold_rounds_its_rate(v_init: float, step_mode: str) -> None:
    """Soft-reset IF under constant input a: floor(a t / theta) spikes by t from 0, and
    round(a t / theta) from theta / 2, whatever threshold conversion sets after building."""
    net = build_network(
        ModelConfig(neuron="if", reset="soft", v_init=v_init), (1, 28, 28), 10, step_mode=step_mode
    )
    node = next(m for m in net.modules() if is_spiking_layer(m))
    node.v_threshold = 2.0
    current = torch.tensor([0.3, 0.7, 1.1, 1.9])
    t = torch.arange(1, 9, dtype=torch.float32)[:, None]
    with torch.no_grad():
        for _ in range(2):  # the second run starts again from v_init x the threshold
            node.reset()
            x_seq = current.expand(8, 4).contiguous()
            spikes = node(x_seq) if step_mode == "m" else torch.stack([node(x) for x in x_seq])
            expected = torch.floor(current * t / 2.0 + v_init)
            torch.testing.assert_close(spikes.cumsum(0), expected)


def test_count_max_pool_fires_as_often_as_the_busiest_input_of_its_window() -> None:
    spikes = (torch.rand(20, 3, 2, 4, 4, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    single = SpikeCountMaxPool2d(2)
    out = torch.stack([single(x) for x in spikes])
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    # after every t the output count is the largest input count of the window
    counts = spikes.cumsum(0).flatten(0, 1)
    expected = F.max_pool2d(counts, 2).unflatten(0, (20, 3))
    torch.testing.assert_close(out.cumsum(0), expected)
    multi = SpikeCountMaxPool2d(2, step_mode="m")
    torch.testing.assert_close(torch.cat([multi(spikes[:7]), multi(spikes[7:])]), out)
    # a plain max-pool ORs the spike trains: it over-counts
    assert F.max_pool2d(spikes.flatten(0, 1), 2).sum() > out.sum()


def tiny_resnet(spiking: bool) -> torch.nn.Module:
    cfg = ModelConfig(arch="resnet18", neuron="if", reset="soft", converted=spiking)
    return build_network(cfg, (1, 8, 8), 3, spiking=spiking).eval()


def reference(n: int = 6) -> SampleSet:
    x = np.random.default_rng(0).random((n, 1, 8, 8), dtype=np.float32)
    return SampleSet.clean(x, np.arange(n) % 3)


@pytest.fixture(scope="module")
def resnet_ann():
    torch.manual_seed(0)
    ann = tiny_resnet(spiking=False)
    with torch.no_grad():  # BN statistics that are not the identity, as after training
        for module in ann.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return ann


def converted_resnet(ann, norm: str):
    snn = tiny_resnet(spiking=True)
    snn.load_state_dict(ann.state_dict(), strict=False)
    if norm == "spike":
        spike_norm(snn, reference(), 4, "repeat", CPU)
    else:
        values = activation_norms(ann, reference(), CPU, norm, 99.0)
        for slot, value in zip(spike_slots(snn.layers), values, strict=True):
            set_threshold(snn, slot, value)
    return snn


def test_resnet_slots_read_both_paths_of_every_block() -> None:
    slots = {s.activation: s.readers for s in spike_slots(tiny_resnet(spiking=True).layers)}
    assert len(slots) == 1 + 2 * 8
    assert slots["2"] == ("4.conv1", "4.shortcut")  # identity shortcut: its gain
    assert slots["4.act1"] == ("4.conv2",)
    assert slots["5.act2"] == ("6.conv1", "6.shortcut.0")  # downsampling: the 1x1 conv
    assert slots["11.act2"] == ("14",)  # the readout, after avg-pool and flatten


@pytest.mark.parametrize("norm", ["max", "robust", "spike"])
def test_converted_resnet_follows_its_ann_and_gives_its_weights_back(resnet_ann, norm) -> None:
    snn = converted_resnet(resnet_ann, norm)
    gains = [m.weight.item() for m in snn.modules() if isinstance(m, ScaledShortcut)]
    assert len(gains) == 5 and all(g > 0 for g in gains)  # balanced, not left at 1
    for name, value in ann_state_dict(snn).items():
        torch.testing.assert_close(value, resnet_ann.state_dict()[name])
    if norm != "max":
        return
    x = torch.from_numpy(reference().x)
    with torch.no_grad():
        logits = resnet_ann.layers(x)
        rates = snn(encode_batch(x, 100, "repeat")).mean(0)
    # rate coding converges to the ANN: both residual paths are in the same units
    assert (rates - logits).abs().mean() < 0.15 * logits.abs().mean()


def test_stdb_reaches_the_spike_layers_inside_residual_blocks() -> None:
    snn = tiny_resnet(spiking=True)
    swap_spike_layers(snn, lambda th: STDBIFNode(th, 0.3, 0.01))
    kinds = {type(m) for m in snn.modules() if is_spiking_layer(m)}
    assert kinds == {STDBIFNode} and len(spiking_layer_names(snn)) == 17
    x = torch.from_numpy(reference(2).x)
    snn.train()
    snn.classify(encode_batch(x, 2, "repeat")).sum().backward()  # trains through both paths
    assert snn.layers[4].conv1.weight.grad is not None
