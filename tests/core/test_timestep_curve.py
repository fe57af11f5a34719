"""The fast one-pass per-timestep curve (`metrics.timestep_decisions`) against the plain one:
the whole sequence through `SpikingNetwork.forward`, the readout's cumsum, `decide`.

What is guaranteed, on any x86 CPU: the chunked pass computes the same sums as the plain one
up to float32 rounding, so its decisions are the same wherever the plain readout's two
largest classes are further apart than that rounding. Bit-identical sums are not: the chunks
hand each conv/FC layer fewer rows per call, and MKL's GEMM rounds a row's dot product
differently by the number of rows (every MKL code path here, AVX-512, AVX2 and SSE4.2, with
or without MKL_CBWR=COMPATIBLE, differs for some row count). The element-wise parts (the
fused neuron step, the spike-count max-pool) are bit-identical and tested so.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional

from snnstudio.core import metrics
from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.config import ModelConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.models import pool_kernels
from snnstudio.core.models.architectures import Parts, csnn, vgg11
from snnstudio.core.models.conversion_layers import SpikeCountMaxPool2d
from snnstudio.core.models.network import AnnTwin, SpikingNetwork
from snnstudio.core.models.neurons import activation_factory
from snnstudio.core.rules.threshold_balancing import activation_norms, set_threshold, spike_slots

CPU = torch.device("cpu")
SIDE = 12  # odd pooled sizes on the way down (12 -> 6 -> 3 -> 1)
CLASSES = 4


def converted(arch: str, step_mode: str = "m", v_init: float = 0.5) -> SpikingNetwork:
    """A converted IF net with random weights and batch-norm statistics, MaxNorm-balanced,
    starting at v_init x threshold (VGG11 with narrow FC layers: a small, fast test)."""
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, neuron="if", reset="soft", converted=True, v_init=v_init)
    stacks = [
        vgg11(1, SIDE, CLASSES, Parts(activation_factory(cfg, kind), converted), fc_width=32)
        if arch == "vgg11"
        else csnn(1, SIDE, CLASSES, Parts(activation_factory(cfg, kind), converted))
        for kind, converted in (("ann", False), ("snn", True))
    ]
    ann, snn = AnnTwin(stacks[0]), SpikingNetwork(stacks[1], step_mode)
    with torch.no_grad():
        for module in ann.modules():
            # torch's default initialisation, not VGG11's N(0, 0.01) readout: an untrained
            # net's readout sums then differ by more than rounding (the clear decisions)
            if isinstance(module, torch.nn.Conv2d | torch.nn.Linear):
                module.reset_parameters()
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    ann.eval()
    snn.load_state_dict(ann.state_dict(), strict=False)
    norms = activation_norms(ann, samples(8, seed=1), CPU, "max", 99.0)
    for slot, value in zip(spike_slots(snn.layers), norms, strict=True):
        set_threshold(snn, slot, value)
    return snn.eval()


def samples(n: int, seed: int = 0) -> SampleSet:
    x = np.random.default_rng(seed).random((n, 1, SIDE, SIDE), dtype=np.float32)
    return SampleSet.clean(x, np.arange(n) % CLASSES)


ROUNDING = 1e-4  # far above float32 rounding of these sums (|sum| < 10), far below a spike's


def plain_sums(net, x: torch.Tensor, timesteps: int, encoder: str) -> torch.Tensor:
    """The straightforward form: one sequence, autograd on (so the spike-count max-pool runs
    its torch form, not the compiled loop), cumsum of the readout."""
    torch.manual_seed(5)
    inputs = encode_batch(x, timesteps, encoder).clone().requires_grad_()
    return net(inputs).detach().cumsum(0)


def assert_same_decisions(fast: torch.Tensor, sums: torch.Tensor) -> None:
    """`fast` decides as decide(sums) wherever the two largest sums are more than ROUNDING
    apart or exactly equal (a readout no spike has reached yet is all zeros, in both forms);
    the near-ties, where rounding may decide, must be rare."""
    top2 = sums.topk(2, dim=-1).values
    margin = top2[..., 0] - top2[..., 1]
    clear = (margin > ROUNDING) | (sums.amax(-1) == sums.amin(-1))
    assert clear.float().mean() > 0.9
    assert torch.equal(fast[clear], metrics.decide(sums)[clear])


@pytest.mark.parametrize(
    ("arch", "step_mode", "v_init"),
    [("csnn", "m", 0.5), ("csnn", "s", 0.5), ("vgg11", "m", 0.0), ("vgg11", "s", 0.0)],
)
def test_fast_curve_decides_as_the_plain_one(arch, step_mode, v_init, monkeypatch) -> None:
    net = converted(arch, step_mode, v_init)
    test = samples(6)
    x = torch.from_numpy(test.x)
    timesteps = 23
    sums = plain_sums(net, x, timesteps, "repeat")
    monkeypatch.setattr(metrics, "CURVE_CHUNK_SAMPLE_STEPS", 5 * len(x))  # chunks of 5, 5, .., 3
    fast = metrics.predict(net, test, timesteps, "repeat", CPU, per_timestep=True)
    assert fast.shape == (timesteps, len(x))
    assert len(metrics.decide(sums).unique()) > 1  # not degenerate: decisions differ
    assert_same_decisions(torch.from_numpy(fast), sums)
    assert net.step_mode == step_mode


def test_chunks_carry_the_state_and_the_readout_sum() -> None:
    net = converted("csnn")
    x = torch.from_numpy(samples(3).x)
    frames = encode_batch(x, 17, "repeat")
    whole = net(frames).cumsum(0)
    functional.reset_net(net.layers)
    parts = [net.continue_sequence(frames[a:b]) for a, b in ((0, 4), (4, 5), (5, 17))]
    # Equal up to GEMM rounding (1e-8 here); a spike lost or gained between the chunks would
    # move a sum by a whole readout weight (~0.1).
    torch.testing.assert_close(torch.cat(parts).cumsum(0), whole, rtol=0, atol=1e-6)
    assert 0 < net.stateless_prefix() < len(net.layers)


def test_poisson_coding_streams_the_same_spikes_as_one_sequence(monkeypatch) -> None:
    net = converted("csnn")
    x = torch.from_numpy(samples(4).x)
    sums = plain_sums(net, x, 19, "poisson")
    monkeypatch.setattr(metrics, "CURVE_CHUNK_SAMPLE_STEPS", 4 * len(x))
    torch.manual_seed(5)
    with torch.inference_mode():
        fast = metrics.timestep_decisions(net, x, 19, "poisson")
    assert_same_decisions(fast, sums)


@pytest.mark.parametrize("side", [6, 7])
@pytest.mark.parametrize("channels_last", [False, True])
def test_compiled_count_max_pool_is_its_torch_form(side, channels_last) -> None:
    spikes = (
        torch.rand(9, 2, 3, side, side, generator=torch.Generator().manual_seed(0)) < 0.4
    ).float()
    if channels_last:  # each frame channels-last in memory (the CSNN's layout on the CPU)
        spikes = spikes.flatten(0, 1).contiguous(memory_format=torch.channels_last)
        spikes = spikes.unflatten(0, (9, 2))
    torch_form, compiled = SpikeCountMaxPool2d(2, "m"), SpikeCountMaxPool2d(2, "m")
    expected = torch_form(spikes.clone().requires_grad_()).detach()  # autograd: the torch form
    assert pool_kernels.applies(spikes, 2) and not pool_kernels.applies(spikes, 3)
    assert not pool_kernels.applies(spikes.clone().requires_grad_(), 2)
    with torch.inference_mode():
        parts = [compiled(spikes[:4]), compiled(spikes[4:5]), compiled(spikes[5:])]
    out = torch.cat(parts)
    assert torch.equal(out, expected)
    assert torch.equal(compiled.count, torch_form.count.detach())
    assert torch.equal(compiled.peak, torch_form.peak.detach())
    assert parts[0][0].is_contiguous(memory_format=torch.channels_last) == channels_last


def test_fused_neuron_reads_a_repeated_frame_as_the_whole_sequence() -> None:
    cfg = ModelConfig(neuron="if", reset="soft")
    frame = torch.randn(1, 3, 5, generator=torch.Generator().manual_seed(0)).requires_grad_()
    results = []
    for materialise in (True, False):
        node = activation_factory(cfg, "snn")()
        node.step_mode = "m"
        repeated = frame.expand(7, 3, 5)
        spikes = node(repeated.contiguous() if materialise else repeated)
        (grad,) = torch.autograd.grad((spikes * torch.arange(7.0)[:, None, None]).sum(), frame)
        results.append((spikes, node.v, grad))
    (spikes, v, grad), (ref_spikes, ref_v, ref_grad) = results
    assert 0 < spikes.mean() < 1
    assert torch.equal(spikes, ref_spikes) and torch.equal(v, ref_v)
    assert torch.equal(grad, ref_grad)
