"""Threshold balancing against hand-computed two-layer cases (Spike-Norm and MaxNorm)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import layer, neuron
from torch import nn

from snnstudio.core.config import ModelConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import ConfigError
from snnstudio.core.models.network import AnnTwin, SpikingNetwork
from snnstudio.core.models.registry import build_network
from snnstudio.core.rules import spike_norm as spike_norm_module
from snnstudio.core.rules.spike_norm import spike_norm
from snnstudio.core.rules.threshold_balancing import (
    activation_norms,
    ann_state_dict,
    spike_slots,
)

W1 = [[1.0, 0.5], [0.25, 0.0]]
W2 = [[0.5, 2.0], [-1.0, 1.0]]
W3 = [[1.0, 1.0]]
X = [0.75, 0.5]  # all values exact in binary, so the thresholds compare exactly


def two_layer(spiking: bool) -> SpikingNetwork:
    act = (lambda: neuron.IFNode(v_reset=None)) if spiking else nn.ReLU
    layers = nn.Sequential(
        layer.Linear(2, 2, bias=False), act(),
        layer.Linear(2, 2, bias=False), act(),
        layer.Linear(2, 1, bias=False),
    )  # fmt: skip
    for module, weight in zip([layers[0], layers[2], layers[4]], [W1, W2, W3], strict=True):
        module.weight.data = torch.tensor(weight)
    return SpikingNetwork(layers) if spiking else AnnTwin(layers)


def reference() -> SampleSet:
    return SampleSet.clean(np.array([X], dtype=np.float32), np.array([0]))


def test_layerwise_spike_norm_matches_hand_computed_thresholds_with_scale_half():
    # Layer 1 receives W1 x = [1.0, 0.1875] at every t, so lambda_1 = 1.0 and theta_1 = 0.5.
    # With theta_1 = 0.5 (soft reset), neuron 0 fires at every step and neuron 1 (0.1875,
    # 0.375, 0.5625 -> fires at t = 3, 0.25) only at t = 3. Layer 2's weights are scaled by
    # theta_1, so its input is 0.5 * W2 s(t): [0.25, -0.5] at t = 1, 2, 4 and
    # 0.5 * [2.5, 0.0] = [1.25, 0.0] at t = 3. Hence lambda_2 = 1.25 and theta_2 = 0.625.
    snn = two_layer(spiking=True)
    cpu = torch.device("cpu")
    thresholds = spike_norm(snn, reference(), 4, "repeat", cpu, scale=0.5, scaling="layerwise")
    assert thresholds == [0.5, 0.625]
    assert [snn.layers[i].v_threshold for i in (1, 3)] == [0.5, 0.625]
    # each threshold rescales the weights that read that layer's spikes
    torch.testing.assert_close(snn.layers[2].weight, 0.5 * torch.tensor(W2))
    torch.testing.assert_close(snn.layers[4].weight, 0.625 * torch.tensor(W3))
    # dividing the thresholds back out gives the ANN the SNN was converted from
    original = two_layer(spiking=False).state_dict()
    for name, value in ann_state_dict(snn).items():
        torch.testing.assert_close(value, original[name])


def test_spike_norm_scale_one_uses_the_first_layer_current_only_once():
    # theta_1 = 1.0: neuron 0 fires every step, neuron 1 never within 4 steps (0.75 < 1),
    # so layer 2 sees W2 [1, 0] = [0.5, -1.0]: theta_2 = 0.5.
    snn = two_layer(spiking=True)
    assert spike_norm(snn, reference(), 4, "repeat", torch.device("cpu")) == [1.0, 0.5]


def test_spike_norm_scaled_after_is_the_unscaled_calibration_times_the_scale():
    """rule.spike_scaling = "after" (the default, Rathi et al.'s code): every layer is
    calibrated at scale 1 ([1.0, 0.5] above), then each threshold and its readers are
    scaled, so the same 0.5 gives [0.5, 0.25] where "layerwise" gives [0.5, 0.625]."""
    snn = two_layer(spiking=True)
    thresholds = spike_norm(snn, reference(), 4, "repeat", torch.device("cpu"), scale=0.5)
    assert thresholds == [0.5, 0.25]
    assert [snn.layers[i].v_threshold for i in (1, 3)] == [0.5, 0.25]
    torch.testing.assert_close(snn.layers[2].weight, 0.5 * torch.tensor(W2))
    torch.testing.assert_close(snn.layers[4].weight, 0.25 * torch.tensor(W3))
    with pytest.raises(ConfigError, match="scaling 'sideways'"):
        spike_norm(snn, reference(), 4, "repeat", torch.device("cpu"), scaling="sideways")


def test_max_norm_and_robust_norm_read_the_ann_activations():
    # ReLU1 = [1.0, 0.1875]; ReLU2 = relu(W2 a1) = relu([0.875, -0.8125]) = [0.875, 0]
    ann = two_layer(spiking=False)
    cpu = torch.device("cpu")
    assert activation_norms(ann, reference(), cpu, "max", 99.9) == [1.0, 0.875]
    # the 50th percentile of the positive values {1.0, 0.1875} is their midpoint
    robust = activation_norms(ann, reference(), cpu, "robust", 50.0)
    assert robust == pytest.approx([0.59375, 0.875])


def test_spike_slots_find_the_reader_of_each_spike_layer_and_refuse_unknown_blocks():
    slots = spike_slots(two_layer(spiking=True).layers)
    assert [(s.activation, s.readers) for s in slots] == [("1", ("2",)), ("3", ("4",))]
    nested = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    with pytest.raises(ConfigError, match="plain layer stacks and ResNet basic blocks"):
        spike_slots(nested)


@pytest.mark.parametrize(
    ("arch", "encoder", "scaling"),
    [("vgg11", "poisson", "after"), ("resnet18", "repeat", "layerwise")],
)
def test_spike_norm_from_cached_spikes_matches_running_each_whole_prefix(
    arch, encoder, scaling, monkeypatch
):
    """Multi-step Spike-Norm keeps each calibrated layer's output (bit-packed spikes, per
    reference batch) and runs only the next segment; the thresholds are those of running the
    whole prefix before every spike layer, residual blocks included."""
    monkeypatch.setattr(spike_norm_module, "eval_batch_size", lambda timesteps, device: 2)
    torch.manual_seed(0)
    model = ModelConfig(arch=arch, neuron="if", converted=True)
    snn = build_network(model, (1, 28, 28), 10, True, "m").eval()
    whole_prefix = build_network(model, (1, 28, 28), 10, True, "m").eval()
    whole_prefix.load_state_dict(snn.state_dict())
    rng = np.random.default_rng(0)
    images = rng.random((5, 1, 28, 28), dtype=np.float32)
    data = SampleSet.clean(images, np.zeros(5, dtype=np.int64))
    cpu = torch.device("cpu")
    fast = spike_norm(snn, data, 6, encoder, cpu, scale=0.5, scaling=scaling)

    expected = spike_norm(
        whole_prefix, data, 6, encoder, cpu, scale=0.5, reuse_outputs=False, scaling=scaling
    )
    assert len(fast) == len(expected) > 8
    np.testing.assert_allclose(fast, expected, rtol=1e-6)
