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
from snnstudio.core.models import neurons
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


LOADED_BY_FIRST_CALL = """
import sys, torch
from snnstudio.core.config import ModelConfig
from snnstudio.core.models import neuron_kernels, neurons
neuron_kernels.load_numba_registries()
before = set(sys.modules)
node = neurons.spiking_neuron(ModelConfig())
node.step_mode = "m"
node(torch.rand(4, 2, 8, requires_grad=True)).sum().backward()
assert neuron_kernels._forward.signatures and neuron_kernels._backward.signatures
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
