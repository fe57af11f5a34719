"""The spike-count max-pool over a whole sequence in one compiled loop (inference, CPU).

`SpikeCountMaxPool2d`'s torch form is a cumulative sum over t, a max-pool of the counts and a
difference over t: three passes over [T, N, C, H, W] plus a double-precision cumsum, which
made it the most expensive layer of a converted CSNN at T = 400 (about half of the time).
Here one loop adds each step's spikes to the running counts and takes the window maximum
and the output spike at once. Counts are whole numbers, so the result is bit-identical to
the torch form (tests/core/test_timestep_curve.py). Written by hand because torch has no
fused cumulative max-pool.
"""

from __future__ import annotations

import numba
import torch

from snnstudio.core.models.neuron_kernels import (
    CACHE,
    CHANNELS_LAST_ORDER,
    empty_in_order,
    memory_order,
    step_order,
)


@numba.njit(cache=CACHE, nogil=True)
def _count_max_pool_2x2(x, count, peak, out):  # type: ignore[no-untyped-def]
    """x: [T, P, H, W] spikes; count: [P, H, W] and peak: [P, H // 2, W // 2] running counts,
    updated in place; out: [T, P, H // 2, W // 2] output spikes.

    t outermost (x streams through once) and the 2 x 2 window written out: 7x faster than a
    loop over the window or over t inside each plane (measured at T = 8, 64 x 16 28 x 28
    planes: 3.3 against 0.48 G inputs per second).
    """
    steps, planes, height, width = x.shape
    out_h, out_w = height // 2, width // 2
    for t in range(steps):
        for p in range(planes):
            for h in range(height):
                for w in range(width):
                    count[p, h, w] += x[t, p, h, w]
            for i in range(out_h):
                for j in range(out_w):
                    top = max(
                        max(count[p, 2 * i, 2 * j], count[p, 2 * i, 2 * j + 1]),
                        max(count[p, 2 * i + 1, 2 * j], count[p, 2 * i + 1, 2 * j + 1]),
                    )
                    out[t, p, i, j] = top - peak[p, i, j]
                    peak[p, i, j] = top


@numba.njit(cache=CACHE, nogil=True)
def _count_max_pool_2x2_channels_last(x, count, peak, out):  # type: ignore[no-untyped-def]
    """The same over channels-last frames: x [T, N, H, W, C], count [N, H, W, C], peak
    [N, H // 2, W // 2, C], out [T, N, H // 2, W // 2, C]; channels innermost."""
    steps, batch, height, width, channels = x.shape
    out_h, out_w = height // 2, width // 2
    for t in range(steps):
        for n in range(batch):
            for h in range(height):
                for w in range(width):
                    for c in range(channels):
                        count[n, h, w, c] += x[t, n, h, w, c]
            for i in range(out_h):
                for j in range(out_w):
                    for c in range(channels):
                        top = max(
                            max(count[n, 2 * i, 2 * j, c], count[n, 2 * i, 2 * j + 1, c]),
                            max(count[n, 2 * i + 1, 2 * j, c], count[n, 2 * i + 1, 2 * j + 1, c]),
                        )
                        out[t, n, i, j, c] = top - peak[n, i, j, c]
                        peak[n, i, j, c] = top


def count_max_pool_sequence(
    x_seq: torch.Tensor, count: torch.Tensor | float, peak: torch.Tensor | float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Output spikes [T, N, C, H // 2, W // 2] of the 2 x 2 spike-count max-pool over `x_seq`
    [T, N, C, H, W], and the new running input count [N, C, H, W] and output count.

    `count` and `peak` are the layer's state: tensors of one step's shape, or 0.0 after a
    reset. float32 CPU tensors, no autograd. Channels-last frames (the CPU's layout,
    network.py) are pooled in that layout, and the outputs and counts are laid out so.
    """
    steps, batch, channels, height, width = x_seq.shape
    out_shape = torch.Size((steps, batch, channels, height // 2, width // 2))
    order = memory_order(x_seq)
    frame = step_order(order)
    count_now = _state(count, x_seq.shape[1:], frame)
    peak_now = _state(peak, out_shape[1:], frame)
    out = empty_in_order(out_shape, order)
    x, counts, peaks, outs = (
        x_seq.permute(order).contiguous(), count_now.permute(frame), peak_now.permute(frame),
        out.permute(order),
    )  # fmt: skip
    if order == CHANNELS_LAST_ORDER:
        _count_max_pool_2x2_channels_last(x.numpy(), counts.numpy(), peaks.numpy(), outs.numpy())
    else:  # batch and channels as one axis of planes
        _count_max_pool_2x2(
            x.flatten(1, 2).numpy(), counts.flatten(0, 1).numpy(), peaks.flatten(0, 1).numpy(),
            outs.flatten(1, 2).numpy(),
        )  # fmt: skip
    return out, count_now, peak_now


def _state(value: torch.Tensor | float, shape: torch.Size, order: tuple[int, ...]) -> torch.Tensor:
    """A fresh float32 copy of a running count laid out in `order` (the kernel writes into it)."""
    state = empty_in_order(shape, order)
    if isinstance(value, torch.Tensor):
        return state.copy_(value.expand(shape))
    return state.fill_(float(value))


def applies(x: torch.Tensor, kernel: int) -> bool:
    """Whether the compiled loop serves `x`: a 2 x 2 pool of float32 on the CPU, no gradient
    wanted (training runs the torch form, which autograd differentiates)."""
    grad = torch.is_grad_enabled() and x.requires_grad
    return kernel == 2 and x.device.type == "cpu" and x.dtype == torch.float32 and not grad
