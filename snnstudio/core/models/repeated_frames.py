"""Layers that see the same frame at every timestep run on it once.

Repeat coding (the product's default for static images) hands a network one frame at
every t: `x.unsqueeze(0).expand(T, ...)`, stride 0 over t. Until the first neuron (or other
layer with memory) every layer computes the same thing at every t, so the network runs
that prefix on the frame once and hands the first neuron its output repeated as a view;
the fused neuron step reads such an input as one row. In training, autograd's backward
of the view sums the neuron's gradient over t, and the prefix's backward runs once.

Batch norm learning batch statistics is the one layer whose per-frame work depends on
the others: over T copies of N frames its batch mean and (biased) variance are those of
the N frames, so its output is the same; its running variance takes the unbiased estimate
over all T x N copies, as the whole sequence would have given (`repeated_batch_norm`).
The numbers equal those of the whole sequence up to float rounding (sums over N values
rather than T x N); a convolution's output for a frame does not depend on the frames
beside it (tests/core/test_neuron_kernels.py). The CSNN's LR_B training step (MNIST, T 4,
batch 64, in-process, alternated): 0.89x the CPU time at 1 thread, 0.86x at 2.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.pooling import _AdaptiveAvgPoolNd, _AvgPoolNd, _MaxPoolNd

from snnstudio.core.events import CancelToken, check_cancel

# top-level layers that compute each frame on its own, whatever their mode
FRAME_WISE = (_ConvNd, nn.Linear, _MaxPoolNd, _AvgPoolNd, _AdaptiveAvgPoolNd, nn.Flatten)


def frame_wise(module: nn.Module) -> bool:
    """Whether `module` (a top-level layer of a multi-step stack) gives a repeated frame's
    output when run on the frame once: the stateless per-frame layers, and batch norm
    (`repeated_batch_norm` keeps its statistics right). Dropout, neurons and composite
    blocks are not."""
    return isinstance(module, (*FRAME_WISE, _BatchNorm))


def frame_wise_prefix(layers: nn.Sequential) -> int:
    """How many leading layers of `layers` are frame-wise."""
    for index, module in enumerate(layers):
        if not frame_wise(module):
            return index
    return len(layers)


def run_once(
    layers: list[nn.Module], frame: torch.Tensor, repeats: int, cancel: CancelToken | None
) -> torch.Tensor:
    """The frame-wise `layers` over `frame` [1, N, ...] (multi-step layers), standing for
    `repeats` copies of it; their output repeated `repeats` times over t (a view).
    `cancel` is checked between layers."""
    for module in layers:
        check_cancel(cancel)
        if isinstance(module, _BatchNorm) and module.training:
            frame = repeated_batch_norm(module, frame, repeats)
        else:
            frame = module(frame)
    return RepeatFrame.apply(frame, repeats)


class RepeatFrame(torch.autograd.Function):
    """`frame` [1, ...] expanded to [repeats, ...] (a view); the backward sums the gradient
    over t into a tensor laid out as the frame. (torch's own expand sums into its default
    layout, and a channels-last batch norm took 10x as long to differentiate that.)"""

    @staticmethod
    def forward(ctx, frame: torch.Tensor, repeats: int) -> torch.Tensor:  # type: ignore[override]
        ctx.layout = frame
        return frame.expand(repeats, *frame.shape[1:])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        total = torch.empty_like(ctx.layout)  # the frame's strides (a dense tensor keeps them)
        return torch.sum(grad, 0, keepdim=True, out=total), None


def repeated_batch_norm(bn: _BatchNorm, frame: torch.Tensor, repeats: int) -> torch.Tensor:
    """Training-mode batch norm of `repeats` copies of `frame` [1, N, C, ...], computed on
    one: normalised by the frames' batch statistics (the same for the copies), the running
    mean and variance updated as by the whole batch (bn.momentum, or a cumulative average
    when it is None; the variance unbiased over every copy's values)."""
    x = frame.flatten(0, 1)
    out, mean, invstd = torch.native_batch_norm(
        x, bn.weight, bn.bias, None, None, True, 0.0, bn.eps
    )
    if bn.track_running_stats:
        update_running_statistics(bn, mean, invstd, repeats * x.numel() // x.shape[1])
    return out.unflatten(0, frame.shape[:2])


@torch.no_grad()
def update_running_statistics(
    bn: _BatchNorm, mean: torch.Tensor, invstd: torch.Tensor, count: int
) -> None:
    """torch's running-statistics update from a batch's per-channel `mean` and 1 / sqrt(var +
    eps), `count` values per channel (the unbiased variance is over them)."""
    var = invstd.pow(-2).sub_(bn.eps)  # the batch's (biased) variance
    bn.num_batches_tracked.add_(1)
    factor = bn.momentum if bn.momentum is not None else 1.0 / int(bn.num_batches_tracked)
    bn.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
    bn.running_var.mul_(1 - factor).add_(var.mul_(count / (count - 1)), alpha=factor)
