from __future__ import annotations

import pytest
import torch

from snnstudio.core.config import ModelConfig
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.models.registry import arch_names, build_network


@pytest.mark.parametrize("arch", ["csnn", "vgg11", "resnet18"])
def test_every_architecture_runs_as_snn_and_ann_with_the_same_parameters(arch: str) -> None:
    cfg = ModelConfig(arch=arch)
    snn = build_network(cfg, (3, 32, 32), 10, spiking=True).eval()
    ann = build_network(cfg, (3, 32, 32), 10, spiking=False).eval()
    assert snn.state_dict().keys() == ann.state_dict().keys()
    assert any(is_spiking_layer(m) for m in snn.modules())
    assert not any(is_spiking_layer(m) for m in ann.modules())
    x = torch.rand(2, 2, 3, 32, 32)
    assert snn(x).shape == (2, 2, 10) and ann(x).shape == (2, 2, 10)


@pytest.mark.parametrize("neuron", ["if", "lif"])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("surrogate", ["h1", "h2", "h3", "h4"])
def test_single_and_multi_step_agree_and_train(neuron: str, reset: str, surrogate: str) -> None:
    # a low threshold makes every layer fire on random input, so each surrogate has gradient
    cfg = ModelConfig(neuron=neuron, reset=reset, surrogate=surrogate, v_threshold=0.3)
    torch.manual_seed(0)
    single = build_network(cfg, (1, 16, 16), 10, step_mode="s")
    multi = build_network(cfg, (1, 16, 16), 10, step_mode="m")
    multi.load_state_dict(single.state_dict())
    x = torch.rand(3, 4, 1, 16, 16) * 2
    single.eval()
    multi.eval()
    torch.testing.assert_close(single(x), multi(x))
    single.train()
    single.classify(x).sum().backward()
    first_conv = next(single.parameters())
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0


def test_state_does_not_leak_between_sequences() -> None:
    net = build_network(ModelConfig(), (1, 16, 16), 10).eval()
    x = torch.rand(4, 2, 1, 16, 16)
    torch.testing.assert_close(net(x), net(x))


def test_registry_lists_the_paper_architectures() -> None:
    assert {"csnn", "vgg11", "resnet18"} <= set(arch_names())
