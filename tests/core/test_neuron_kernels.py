"""The fused CPU neuron step against spikingjelly's own, and multi-step batch norm."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from spikingjelly.activation_based import functional, neuron

from snnstudio.core.config import ModelConfig
from snnstudio.core.models import layout, neurons
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.registry import build_network

REPO = Path(__file__).resolve().parents[2]
CASES = list(itertools.product(["if", "lif"], ["hard", "soft"], ["h1", "h2", "h3", "h4"]))


def _pair(kind: str, reset: str, surrogate: str, step_mode: str):
    cfg = ModelConfig(neuron=kind, reset=reset, surrogate=surrogate)
    fused = neurons.spiking_neuron(cfg)
    common = dict(
        v_reset=0.0 if reset == "hard" else None,
        surrogate_function=neurons.SURROGATE_FACTORIES[surrogate](),
    )
    plain = neuron.IFNode(**common) if kind == "if" else neuron.LIFNode(tau=cfg.tau, **common)
    for node in (fused, plain):
        node.step_mode = step_mode
    return fused, plain


def _run(node: torch.nn.Module, x_seq: torch.Tensor, weights: torch.Tensor):
    """Spikes, last voltage and input gradient of a weighted spike sum over the sequence."""
    x = x_seq.clone().requires_grad_()
    functional.reset_net(node)
    spikes = node(x) if node.step_mode == "m" else torch.stack([node(x_t) for x_t in x])
    (spikes * weights).sum().backward()
    return spikes.detach(), node.v.detach(), x.grad


@pytest.mark.parametrize(("kind", "reset", "surrogate"), CASES)
@pytest.mark.parametrize("step_mode", ["m", "s"])
def test_fused_step_matches_spikingjelly(kind, reset, surrogate, step_mode) -> None:
    torch.manual_seed(0)
    x_seq = torch.randn(6, 5, 3, 4) * 1.5
    weights = torch.randn_like(x_seq)
    fused, plain = _pair(kind, reset, surrogate, step_mode)
    assert isinstance(fused, neuron.BaseNode) and fused._fused_params(x_seq) is not None
    spikes, v, grad = _run(fused, x_seq, weights)
    ref_spikes, ref_v, ref_grad = _run(plain, x_seq, weights)
    assert 0 < spikes.mean() < 1  # the case is not degenerate
    assert torch.equal(spikes, ref_spikes)  # same formulas in the same order: bit-identical
    assert torch.equal(v, ref_v)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_fused_step_steps_aside_where_it_does_not_apply(monkeypatch) -> None:
    node = neurons.spiking_neuron(ModelConfig())
    node.step_mode = "m"
    assert node._fused_params(torch.zeros(2, 3)) is not None
    assert node._fused_params(torch.zeros(2, 3, dtype=torch.float64)) is None
    with monkeypatch.context() as patch:  # torch.compile tracing: numba is opaque to it
        patch.setattr(torch.compiler, "is_compiling", lambda: True)
        assert node._fused_params(torch.zeros(2, 3)) is None
    node.store_v_seq = True
    assert node._fused_params(torch.zeros(2, 3)) is None
    out = node(torch.full((3, 2), 2.0))  # spikingjelly's own path still runs
    assert out.shape == (3, 2) and node.v_seq.shape == (3, 2)


def _trained_running_stats(step_mode: str, timesteps: int, steps: int) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = build_network(ModelConfig(), (1, 12, 12), 4, True, step_mode)
    x = torch.rand(8, 1, 12, 12) * 3 + 1  # far from the initial statistics (0, 1)
    with torch.no_grad():
        for _ in range(steps):
            net(x.unsqueeze(0).expand(timesteps, *x.shape))
    return [m.running_mean.clone() for m in net.modules() if hasattr(m, "running_mean")]


def test_multi_step_batch_norm_moves_its_statistics_as_far_as_single_step() -> None:
    """The first BN sees the same input at every t (repeat encoding): the single-step run
    updates its running mean T times per batch, the multi-step one once with momentum
    1 - (1 - m)^T; both must end at the same place."""
    single = _trained_running_stats("s", timesteps=4, steps=3)
    multi = _trained_running_stats("m", timesteps=4, steps=3)
    torch.testing.assert_close(multi[0], single[0], rtol=1e-4, atol=1e-5)


def test_batch_norm_momentum_follows_step_mode_and_timesteps() -> None:
    net = build_network(ModelConfig(), (1, 12, 12), 4, True, "m")
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    net(torch.rand(5, 2, 1, 12, 12))
    assert all(bn.momentum == pytest.approx(1 - 0.9**5) for bn in bns)
    net.set_step_mode("s")
    assert all(bn.momentum == pytest.approx(0.1) for bn in bns)
    assert isinstance(net, SpikingNetwork)


def channels_last_frames(x_seq: torch.Tensor) -> torch.Tensor:
    """The same values, each frame [N, C, H, W] laid out channels-last in memory."""
    frames = x_seq.flatten(0, 1).contiguous(memory_format=torch.channels_last)
    return frames.unflatten(0, x_seq.shape[:2])


@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_fused_step_runs_in_the_layout_it_is_given(reset) -> None:
    """Channels-last frames (the CSNN's layout on the CPU) give the same spikes and voltage
    and the same gradient up to float rounding (torch's vectorised surrogate rounds the
    elements of a vector's tail differently, and the layout moves which those are), laid
    out channels-last themselves (the next layers stay in it)."""
    torch.manual_seed(0)
    x_seq = torch.randn(5, 3, 4, 6, 7) * 1.5
    weights = torch.randn_like(x_seq)
    results = []
    for frames in (x_seq, channels_last_frames(x_seq)):
        node, _ = _pair("lif", reset, "h3", "m")
        results.append(_run(node, frames, weights))
    (spikes, v, grad), (cl_spikes, cl_v, cl_grad) = results
    assert torch.equal(cl_spikes, spikes) and torch.equal(cl_v, v)
    torch.testing.assert_close(cl_grad, grad, rtol=1e-6, atol=1e-7)
    assert cl_spikes[0].is_contiguous(memory_format=torch.channels_last)
    assert cl_v.is_contiguous(memory_format=torch.channels_last) and not cl_v.is_contiguous()
    assert cl_grad[0].is_contiguous(memory_format=torch.channels_last)


def test_the_csnn_runs_channels_last_on_the_cpu_only_where_measured_faster() -> None:
    """registry.ARCHS: the CSNN's convolutions (and so its frames) are channels-last on the
    CPU, after any move too; VGG11 and ResNet18 keep torch's default layout."""
    net = build_network(ModelConfig(), (1, 12, 12), 4, True, "m").to("cpu")
    conv = net.layers[4].weight  # the second: the first one's single input channel is both
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    frames = net.continue_sequence(torch.rand(2, 3, 1, 12, 12), 0, 3)  # conv, BN, spikes
    assert frames[0].is_contiguous(memory_format=torch.channels_last)
    twin = build_network(ModelConfig(), (1, 12, 12), 4, spiking=False)
    assert not twin.layers[4].weight.is_contiguous()
    vgg = build_network(ModelConfig(arch="vgg11"), (1, 12, 12), 4, True, "m")
    assert vgg.layers[4].weight.is_contiguous()


def test_inference_runs_the_layers_before_the_first_neuron_once_for_a_repeated_frame() -> None:
    """Repeat coding hands the network one frame at every t (stride 0): the convolution and
    batch norm before the first spike layer run on it once; in inference the readout is
    the same as over the materialised sequence."""
    torch.manual_seed(0)
    net = build_network(ModelConfig(), (1, 12, 12), 4, True, "m").eval()
    x = torch.rand(6, 1, 12, 12)
    repeated = x.unsqueeze(0).expand(5, *x.shape)
    assert net.repeated_frame_prefix(repeated) == 2  # conv, BN
    assert net.repeated_frame_prefix(repeated.contiguous()) == 0
    with torch.inference_mode():
        assert torch.equal(net(repeated), net(repeated.contiguous()))


def _trained_once(arch: str, x_seq: torch.Tensor) -> tuple[torch.Tensor, dict, dict]:
    """Readout, parameter gradients and batch-norm buffers after one training step's
    forward and backward over `x_seq`."""
    torch.manual_seed(0)
    net = build_network(ModelConfig(arch=arch), tuple(x_seq.shape[2:]), 4, True, "m")
    out = net(x_seq)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    grads = {name: p.grad for name, p in net.named_parameters()}
    return out.detach(), grads, dict(net.named_buffers())


@pytest.mark.parametrize("arch", ["csnn", "resnet18"])
def test_training_on_a_repeated_frame_runs_its_first_layers_once_with_the_same_numbers(arch):
    """In training too: batch norm's output and running statistics over T copies of N
    frames are those of the N frames (its running variance unbiased over all T x N), and
    autograd sums the first neuron's gradient over t; all equal to float rounding."""
    x = torch.rand(3, 1, 12, 12)
    once = _trained_once(arch, x.unsqueeze(0).expand(4, *x.shape))
    whole = _trained_once(arch, x.unsqueeze(0).expand(4, *x.shape).contiguous())
    torch.testing.assert_close(once[0], whole[0], rtol=1e-5, atol=1e-5)
    # by each tensor's norm: elementwise, a near-zero weight gradient of ResNet18's first
    # conv differs past 1e-6 at 1 or 3 threads (relative norm 1.5e-6, measured), while a
    # flipped spike or a gradient lost over t moves the norm by far more
    for name, grad in whole[1].items():
        drift = (once[1][name] - grad).norm() / grad.norm().clamp_min(1e-12)
        assert drift < 1e-4, (name, drift.item())
    for name, buffer in whole[2].items():
        torch.testing.assert_close(once[2][name], buffer, rtol=1e-5, atol=1e-7, msg=name)


def test_the_gradient_into_a_flatten_comes_back_in_the_frames_layout() -> None:
    """The flatten after the CSNN's last channels-last pool hands its gradient back in the
    frames' layout (models/layout.py), the same values as without."""
    torch.manual_seed(0)
    frames = channels_last_frames(torch.rand(2, 3, 4, 5, 5)).requires_grad_()
    flatten = torch.nn.Flatten(2)
    weights = torch.randn(2, 3, 100)
    (grad,) = torch.autograd.grad((flatten(layout.into(flatten, frames)) * weights).sum(), frames)
    assert grad.stride() == frames.stride()
    (plain,) = torch.autograd.grad((flatten(frames) * weights).sum(), frames)
    assert torch.equal(grad, plain) and plain.stride() != frames.stride()
    assert layout.into(torch.nn.ReLU(), frames) is frames
    with torch.no_grad():
        assert layout.into(flatten, frames) is frames


LOADED_BY_FIRST_CALL = """
import sys, torch
from snnstudio.core.config import ModelConfig
from snnstudio.core.models import neuron_kernels, neurons
neuron_kernels.load_numba_registries()
before = set(sys.modules)
node = neurons.spiking_neuron(ModelConfig())
node.step_mode = "m"
node(torch.rand(4, 2, 8, requires_grad=True)).sum().backward()
kernels = (neuron_kernels._forward, neuron_kernels._BACKWARD[neuron_kernels.SIGMOID])
assert all(kernel.signatures for kernel in kernels)
print(" ".join(m for m in set(sys.modules) - before if m.startswith(("numba.np", "numba.cpython"))))
"""


def test_numba_registries_load_before_the_first_compiled_call() -> None:
    """The GUI loads them before freezing its start-up heap (gui/app.py); the first fused
    step (compiled or read from numba's cache) then imports none of numba's lowering
    modules (~280 of them, on the estimate's worker thread before)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BY_FIRST_CALL], cwd=REPO, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
