"""A fused CPU step for IF/LIF neurons over a whole sequence, forward and backward.

spikingjelly 2.0's CPU path is a Python loop over t of 5-8 tensor operations per step plus a
stack of spikes, charges and voltages; on the CSNN it was about 45% of a training step.
Here each neuron runs all T steps in one compiled loop (numba, no C compiler needed), with
spikingjelly's formulas in spikingjelly's order of operations, so the spikes and voltages
are bit-identical to its own (tests/core/test_neuron_kernels.py) and the gradients agree
to float rounding. Written by hand because neither torch nor spikingjelly fuses the time
loop on a CPU.

Dynamics (hard reset to ``v_reset``, or soft reset when it is None):

    h[t] = v[t-1] + (x[t] - (v[t-1] - v_reset)) / tau        LIF, decay_input
    h[t] = v[t-1] - (v[t-1] - v_reset) / tau + x[t]          LIF, not decay_input
    h[t] = v[t-1] + x[t]                                     IF
    s[t] = h[t] >= v_threshold
    v[t] = v_reset if s[t] else h[t]      (hard)      v[t] = h[t] - s[t] * v_threshold (soft)

The backward pass is BPTT through the same recurrence with the surrogate derivative of the
spike, as spikingjelly's own backward (reset not detached unless asked).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numba
import numpy as np
import torch

# surrogate kinds (spikingjelly class -> derivative of its smooth primitive)
RECT, PIECEWISE_QUADRATIC, SIGMOID, ERF = 0, 1, 2, 3
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
# compiled code is cached beside this file (a frozen bundle has no source file to key it by)
CACHE = not getattr(sys, "frozen", False)


def load_numba_registries() -> None:
    """Load numba's typing and CPU lowering registries now, as the first compiled call would
    (even one served from the cache): ~280 modules and ~56,000 objects that live as long as
    the process, 0.4 s of CPU. The desktop application does it before it freezes its
    start-up heap (gui/app.py), so that the first estimate's worker thread does not leave
    them for the GUI thread's garbage collector to walk."""
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()  # refreshes the typing context too


def surrogate_derivative(
    kind: int, alpha: float, charged: torch.Tensor, threshold: float, out: torch.Tensor
) -> torch.Tensor:
    """The derivative of surrogate `kind` at charged - threshold, written into `out`.

    torch's vectorised kernels: numba's scalar exp would be several times slower.
    """
    torch.sub(charged, threshold, out=out)
    if kind == RECT:
        return torch.lt(out.abs_(), 0.5 / alpha, out=out).mul_(alpha)
    if kind == PIECEWISE_QUADRATIC:
        return out.abs_().mul_(-alpha * alpha).add_(alpha).clamp_min_(0.0)
    if kind == SIGMOID:
        out.mul_(alpha).sigmoid_()
        return out.addcmul_(out, out, value=-1.0).mul_(alpha)  # alpha * s * (1 - s)
    return out.mul_(alpha).square_().neg_().exp_().mul_(alpha * _INV_SQRT_PI)


@numba.njit(cache=CACHE, nogil=True, error_model="numpy")
def _forward(x, v, spikes, charged, leak, tau, decay_input, threshold, hard, v_reset, store):
    """spikes, charged: [T, M] float32; x: [T, M], or [1, M] for the same input at every t;
    v: [M] float32, updated in place to v[T-1]."""
    steps, size = spikes.shape
    one, zero = np.float32(1.0), np.float32(0.0)
    for t in range(steps):  # t outside, neurons inside: the inner loop vectorises
        row = t if x.shape[0] > 1 else 0
        for i in range(size):
            vi = v[i]
            if not leak:
                h = vi + x[row, i]
            elif decay_input:
                h = vi + (x[row, i] - (vi - v_reset)) / tau
            else:
                h = vi - (vi - v_reset) / tau + x[row, i]
            fired = h >= threshold
            spikes[t, i] = one if fired else zero
            if store:
                charged[t, i] = h
            if hard:
                v[i] = v_reset if fired else h
            else:
                v[i] = h - threshold if fired else h


@numba.njit(cache=CACHE, nogil=True, error_model="numpy")
def _backward(
    grad_spikes, charged, grad_x, carry, threshold, v_reset, hard, keep_reset, gain, leak
):  # fmt: skip
    """BPTT through the recurrence. grad_x holds the surrogate derivative at every (t, i) on
    entry and dL/dx on return; carry holds dL/dv[T-1] on entry and dL/dv[-1] on return.

    The flags enter as 0/1 factors (hard, keep_reset = not detach_reset), not branches,
    so the loop over neurons vectorises; gain = dh/dx, leak = 1/tau (0 for IF).
    """
    steps, size = charged.shape
    one, zero = np.float32(1.0), np.float32(0.0)
    for t in range(steps - 1, -1, -1):
        for i in range(size):
            h = charged[t, i]
            sg = grad_x[t, i]
            kept = one if h < threshold else zero
            dv_dh = hard * (kept + keep_reset * (v_reset - h) * sg) + (one - hard) * (
                one - keep_reset * threshold * sg
            )
            gh = grad_spikes[t, i] * sg + carry[i] * dv_dh
            grad_x[t, i] = gh * gain
            carry[i] = gh - gh * leak


@dataclass(frozen=True)
class NeuronParams:
    """The constants of one neuron layer (plain Python values: made under torch.compile's
    tracing too, where numpy scalars would turn into arrays)."""

    leak: bool  # LIF (True) or IF
    tau: float
    decay_input: bool
    v_threshold: float
    v_reset: float | None  # None: soft reset
    detach_reset: bool
    surrogate: int
    alpha: float


class _FusedNeuron(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq: torch.Tensor, v0: torch.Tensor, p: NeuronParams):  # type: ignore[override]
        steps = x_seq.shape[0]
        # the same input at every t (a repeated frame, stride 0 over t) is read from one row
        rows = 1 if x_seq.stride(0) == 0 else steps
        x = x_seq[:rows].detach().contiguous().reshape(rows, -1)
        v = v0.detach().reshape(-1).clone()
        spikes = torch.empty(steps, x.shape[1])
        store = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        charged = torch.empty_like(spikes) if store else x[:1]
        f32 = np.float32
        _forward(
            x.numpy(), v.numpy(), spikes.numpy(), charged.numpy(), p.leak, f32(p.tau),
            p.decay_input, f32(p.v_threshold), p.v_reset is not None, f32(p.v_reset or 0.0),
            store,
        )  # fmt: skip
        if store:
            ctx.save_for_backward(charged)
            ctx.params = p
            ctx.shapes = (x_seq.shape, v0.shape)
        return spikes.reshape(x_seq.shape), v.reshape(v0.shape)

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor, grad_v: torch.Tensor):  # type: ignore[override]
        (charged,) = ctx.saved_tensors
        p: NeuronParams = ctx.params
        x_shape, v_shape = ctx.shapes
        gs = grad_spikes.contiguous().reshape(charged.shape)
        grad_x = torch.empty_like(charged)
        threshold = float(np.float32(p.v_threshold))
        surrogate_derivative(p.surrogate, float(np.float32(p.alpha)), charged, threshold, grad_x)
        carry = grad_v.reshape(-1).clone()
        f32, one, zero = np.float32, np.float32(1.0), np.float32(0.0)
        inv_tau = one / f32(p.tau)
        _backward(
            gs.numpy(), charged.numpy(), grad_x.numpy(), carry.numpy(), f32(threshold),
            f32(p.v_reset or 0.0), zero if p.v_reset is None else one,
            zero if p.detach_reset else one, inv_tau if p.leak and p.decay_input else one,
            inv_tau if p.leak else zero,
        )  # fmt: skip
        return grad_x.reshape(x_shape), carry.reshape(v_shape), None


def fused_neuron_sequence(
    x_seq: torch.Tensor, v0: torch.Tensor, params: NeuronParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes [T, ...] and the last voltage [...] of a neuron layer over the sequence `x_seq`.

    `x_seq` and `v0` are float32 CPU tensors; `v0` has the shape of one step.
    """
    return _FusedNeuron.apply(x_seq, v0, params)
