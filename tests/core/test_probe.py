from __future__ import annotations

import numpy as np
import pytest
import torch

from snnstudio.core.config import ModelConfig
from snnstudio.core.errors import ConfigError
from snnstudio.core.models.registry import build_network
from snnstudio.core.probe import record_layer, record_layers, spiking_layer_names
from tests.core.backdoored_models import one_torch_thread  # noqa: F401


def _net(step_mode: str = "s", **model):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    model.setdefault("v_threshold", 0.05)  # an untrained net's BN keeps voltages small
    net = build_network(ModelConfig(**model), (1, 28, 28), 10, step_mode=step_mode)
    return net.eval()


def _hook_count(net: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in net.modules())


def _input(t: int = 4, n: int = 3) -> torch.Tensor:
    return torch.rand(t, n, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 3


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_recording_leaves_outputs_and_hooks_as_they_were(step_mode: str) -> None:
    net = _net(step_mode)
    x = _input()
    with torch.no_grad():
        before = net(x)
    hooks = _hook_count(net)
    recordings, readout = record_layers(net, x, spiking_layer_names(net))
    with torch.no_grad():
        after = net(x)
    assert _hook_count(net) == hooks
    torch.testing.assert_close(before, after, rtol=0, atol=0)
    np.testing.assert_array_equal(readout, before.numpy())
    assert not net.training
    assert list(recordings) == ["layers.2", "layers.6", "layers.10"]


@pytest.mark.parametrize(
    "model",
    [{}, {"neuron": "if"}, {"reset": "soft"}, {"neuron": "if", "reset": "soft", "v_init": 0.5}],
)
def test_voltage_is_the_charged_potential_the_spikes_come_from(model: dict) -> None:
    net = _net(**model)
    rec = record_layer(net, _input(), "layers.6")
    assert rec.voltage.shape == (4, 3, 32 * 14 * 14) == rec.spikes.shape
    assert rec.neuron_shape == (32, 14, 14)
    assert 0 < rec.spikes.mean() < 1  # the input drives some neurons, not all
    np.testing.assert_array_equal(rec.spikes, (rec.voltage >= rec.threshold).astype(np.float32))
    np.testing.assert_allclose(rec.cumulative_voltage, rec.voltage.sum(0))


def test_default_layer_is_the_last_and_channels_can_be_aggregated() -> None:
    net = _net()
    assert record_layer(net, _input()).layer == "layers.10"
    rec = record_layer(net, _input(), "layers.2", per_channel=True)
    assert rec.voltage.shape == (4, 3, 16) and rec.neuron_shape == (16,) and rec.per_channel


def test_single_and_multi_step_record_the_same() -> None:
    x = _input()
    single = record_layer(_net("s"), x, "layers.6")
    multi = record_layer(_net("m"), x, "layers.6")
    # Multi-step mode hands each conv T times the rows: GEMM rounding may differ (1e-7), so
    # the spikes are the same wherever a voltage is not within that rounding of threshold.
    np.testing.assert_allclose(single.voltage, multi.voltage, atol=1e-5)
    clear = np.abs(single.voltage - single.threshold) > 1e-5
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(single.spikes[clear], multi.spikes[clear])


def test_hooks_are_removed_when_the_forward_pass_fails() -> None:
    net = _net()
    hooks = _hook_count(net)
    with pytest.raises(RuntimeError):
        record_layer(net, torch.rand(2, 3, 1, 27, 27))  # wrong size for the FC layer
    assert _hook_count(net) == hooks


def test_unknown_layer_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"no spiking layer named 'layers\.3'.*layers\.2"):
        record_layer(_net(), _input(), "layers.3")
