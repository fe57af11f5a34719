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
spike, as spikingjelly's own backward (reset not detached unless asked). The forward pass
keeps the surrogate's argument z = alpha (h - v_threshold) for it; the backward takes
sigmoid(z) or exp(-z^2) from torch in one pass and does the rest in its loop. (It took five
passes of torch over [T, M] before the loop: the CSNN's first layer's forward and backward
in 0.7x the time.)
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


def surrogate_exponential(kind: int, z: torch.Tensor, out: torch.Tensor) -> None:
    """The transcendental part of surrogate `kind`'s derivative at `z` = alpha (h - v_th),
    written into `out` for the backward loop: sigmoid(z) (SIGMOID), exp(-z^2) (ERF),
    nothing for the piecewise-polynomial kinds, which the loop computes whole.

    torch's vectorised kernels: numba's scalar exp would be several times slower.
    """
    if kind == SIGMOID:
        torch.sigmoid(z, out=out)
    elif kind == ERF:
        torch.mul(z, z, out=out).neg_().exp_()


@numba.njit(cache=CACHE, nogil=True, error_model="numpy")
def _forward(x, v, spikes, z, leak, tau, decay_input, threshold, hard, v_reset, alpha, store):
    """spikes, z: [T, M] float32; x: [T, M], or [1, M] for the same input at every t;
    v: [M] float32, updated in place to v[T-1]. With `store`, z holds the surrogate's
    argument alpha (h - threshold) at every (t, i): all the backward pass needs of h."""
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
                z[t, i] = (h - threshold) * alpha
            if hard:
                v[i] = v_reset if fired else h
            else:
                v[i] = h - threshold if fired else h


def _backward_kernel(kind: int):  # type: ignore[no-untyped-def]
    """The compiled BPTT loop for surrogate `kind` (a constant in it, so that the loop
    over neurons vectorises for every kind)."""

    @numba.njit(cache=CACHE, nogil=True, error_model="numpy")
    def step(  # type: ignore[no-untyped-def]
        grad_spikes, z, grad_x, carry, alpha, threshold, v_reset, hard, keep_reset, gain, leak
    ):  # fmt: skip
        """One t over that t's rows [M]. The surrogate derivative sg, as spikingjelly's:
        RECT alpha (|z| < 1/2), PIECEWISE_QUADRATIC max(alpha - alpha |z|, 0), SIGMOID
        alpha s (1 - s), s = sigmoid(z) in grad_x, ERF alpha / sqrt(pi) e, e = exp(-z^2)
        in grad_x. h = z / alpha + threshold (exact for a power-of-two alpha, as the four
        defaults); h < threshold exactly where z < 0. The flags enter as 0/1 factors
        (hard, keep_reset = not detach_reset); gain = dh/dx, leak = 1/tau (0 for IF)."""
        one, zero, half = np.float32(1.0), np.float32(0.0), np.float32(0.5)
        inv_alpha = one / alpha
        gauss = alpha * np.float32(_INV_SQRT_PI)
        for i in range(z.shape[0]):
            zi = z[i]
            if kind == RECT:
                sg = alpha if abs(zi) < half else zero
            elif kind == PIECEWISE_QUADRATIC:
                sg = max(alpha - alpha * abs(zi), zero)
            elif kind == SIGMOID:
                s = grad_x[i]
                sg = (s - s * s) * alpha
            else:
                sg = grad_x[i] * gauss
            kept = one if zi < zero else zero
            h = zi * inv_alpha + threshold
            dv_dh = hard * (kept + keep_reset * (v_reset - h) * sg) + (one - hard) * (
                one - keep_reset * threshold * sg
            )
            gh = grad_spikes[i] * sg + carry[i] * dv_dh
            grad_x[i] = gh * gain
            carry[i] = gh - gh * leak

    @numba.njit(cache=CACHE, nogil=True, error_model="numpy")
    def backward(  # type: ignore[no-untyped-def]
        grad_spikes, z, grad_x, carry, alpha, threshold, v_reset, hard, keep_reset, gain, leak
    ):  # fmt: skip
        """BPTT through the recurrence, one `step` per t from the last. grad_x holds
        surrogate_exponential(kind, z) on entry and dL/dx on return; carry holds
        dL/dv[T-1] on entry and dL/dv[-1] on return."""
        for t in range(z.shape[0] - 1, -1, -1):
            step(
                grad_spikes[t], z[t], grad_x[t], carry, alpha, threshold, v_reset, hard,
                keep_reset, gain, leak,
            )  # fmt: skip

    return backward


_BACKWARD = {kind: _backward_kernel(kind) for kind in (RECT, PIECEWISE_QUADRATIC, SIGMOID, ERF)}


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


CHANNELS_LAST_ORDER = (0, 1, 3, 4, 2)  # [T, N, C, H, W] -> [T, N, H, W, C]


def memory_order(x_seq: torch.Tensor) -> tuple[int, ...]:
    """The permutation of `x_seq` [T, ...]'s dimensions in which its frames lie contiguously
    in memory: channels-last frames [T, N, C, H, W] (a network whose convolutions run
    channels-last) are read as [T, N, H, W, C]; anything else in its own order. The neuron
    is elementwise, so it runs in the input's layout and returns its outputs in it."""
    frame = x_seq[0]
    if (
        x_seq.dim() == 5 and not frame.is_contiguous()
        and frame.is_contiguous(memory_format=torch.channels_last)
    ):  # fmt: skip
        return CHANNELS_LAST_ORDER
    return tuple(range(x_seq.dim()))


def empty_in_order(shape: torch.Size, order: tuple[int, ...]) -> torch.Tensor:
    """A float32 tensor of `shape` whose dimensions, permuted by `order`, are contiguous."""
    permuted = torch.empty([shape[d] for d in order])
    return permuted.permute([order.index(d) for d in range(len(order))])


def flat_in_order(x: torch.Tensor, order: tuple[int, ...], rows: int = 1) -> torch.Tensor:
    """`x` as a contiguous [rows, M] array of its elements in `order` (a view where `x` is
    already laid out so, else a copy)."""
    return x.permute(order).contiguous().view(rows, -1)


def step_order(order: tuple[int, ...]) -> tuple[int, ...]:
    """The order of one step's dimensions within a sequence's `order`."""
    return tuple(d - 1 for d in order[1:])


class _FusedNeuron(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq: torch.Tensor, v0: torch.Tensor | float, p: NeuronParams):  # type: ignore[override]
        ctx.set_materialize_grads(False)  # no zeros made for the last voltage's gradient
        steps = x_seq.shape[0]
        order = memory_order(x_seq)
        # the same input at every t (a repeated frame, stride 0 over t) is read from one row
        rows = 1 if x_seq.stride(0) == 0 else steps
        x = flat_in_order(x_seq[:rows].detach(), order, rows)
        v = empty_in_order(x_seq.shape[1:], step_order(order))
        if isinstance(v0, torch.Tensor):
            v.copy_(v0.detach())
        else:
            v.fill_(v0)
        spikes = empty_in_order(x_seq.shape, order)
        store = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        z = torch.empty(steps, x.shape[1]) if store else x[:1]
        f32 = np.float32
        _forward(
            x.numpy(), flat_in_order(v, step_order(order))[0].numpy(),
            flat_in_order(spikes, order, steps).numpy(), z.numpy(), p.leak, f32(p.tau),
            p.decay_input, f32(p.v_threshold), p.v_reset is not None, f32(p.v_reset or 0.0),
            f32(p.alpha), store,
        )  # fmt: skip
        if store:
            ctx.save_for_backward(z)
            ctx.params = p
            ctx.order, ctx.shape = order, x_seq.shape
        return spikes, v

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor | None, grad_v: torch.Tensor | None):  # type: ignore[override]
        (z,) = ctx.saved_tensors
        p: NeuronParams = ctx.params
        order, steps = ctx.order, len(z)
        grad_x = empty_in_order(ctx.shape, order)
        grad_rows = flat_in_order(grad_x, order, steps)  # a view of grad_x
        surrogate_exponential(p.surrogate, z, grad_rows)
        if grad_spikes is None:
            grad_spikes = torch.zeros(ctx.shape)
        carry = empty_in_order(ctx.shape[1:], step_order(order))
        if grad_v is None:
            carry.zero_()
        else:
            carry.copy_(grad_v)
        f32, one, zero = np.float32, np.float32(1.0), np.float32(0.0)
        inv_tau = one / f32(p.tau)
        _BACKWARD[p.surrogate](
            flat_in_order(grad_spikes, order, steps).numpy(), z.numpy(), grad_rows.numpy(),
            flat_in_order(carry, step_order(order))[0].numpy(), f32(p.alpha),
            f32(p.v_threshold), f32(p.v_reset or 0.0), zero if p.v_reset is None else one,
            zero if p.detach_reset else one, inv_tau if p.leak and p.decay_input else one,
            inv_tau if p.leak else zero,
        )  # fmt: skip
        return grad_x, carry if ctx.needs_input_grad[1] else None, None


def fused_neuron_sequence(
    x_seq: torch.Tensor, v0: torch.Tensor | float, params: NeuronParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes [T, ...] and the last voltage [...] of a neuron layer over the sequence `x_seq`.

    `x_seq` is a float32 CPU tensor; `v0` the voltage before it: a float32 CPU tensor of
    the shape of one step, or one value for every neuron (a layer just reset).
    """
    return _FusedNeuron.apply(x_seq, v0, params)
