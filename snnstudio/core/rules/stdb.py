"""Spike-timing-dependent backpropagation (STDB, Rathi et al. ICLR 2020): an IF neuron whose
surrogate gradient decays with the time since the neuron's last spike.

Forward it is the converted net's IF neuron (soft reset). Backward, d spike / d v is
alpha * exp(-beta * dt) / threshold, where dt counts the timesteps since the neuron's
previous spike (a neuron that has not spiked yet counts from NEVER_SPIKED, Rathi's -1000
sentinel, so its gradient is close to 0). The reset is detached, as in Rathi's code.
spikingjelly's surrogates are stateless functions of v, so this one is written here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from spikingjelly.activation_based import base, neuron
from torch import nn
from torch.utils.hooks import RemovableHandle

from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer

NEVER_SPIKED = 1000.0


class STDBSpike(torch.autograd.Function):
    """Heaviside step forward; `grad_scale` (the STDB gradient) backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, grad_scale: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(grad_scale)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (grad_scale,) = ctx.saved_tensors
        return grad_output * grad_scale, None


class STDBIFNode(neuron.IFNode):
    """IF neuron, soft reset, with the STDB surrogate gradient."""

    def __init__(self, v_threshold: float, alpha: float, beta: float, step_mode: str = "s"):
        super().__init__(v_threshold=float(v_threshold), v_reset=None, step_mode=step_mode)
        self.alpha = alpha
        self.beta = beta
        self.register_memory("since_spike", NEVER_SPIKED)

    def materialize_states(self, inputs, states, step_mode):  # type: ignore[no-untyped-def]
        v, since = super().materialize_states(inputs, states, step_mode)
        if not isinstance(since, torch.Tensor) or since.shape != v.shape:
            since = torch.full_like(v, NEVER_SPIKED)
        return v, since

    def single_step_functional_forward(self, inputs, states, **kwargs):  # type: ignore[no-untyped-def]
        v, since = states
        v = v + inputs[0]
        grad_scale = self.alpha * torch.exp(-self.beta * since) / self.v_threshold
        spike = STDBSpike.apply(v - self.v_threshold, grad_scale)
        fired = spike.detach()
        v = v - fired * self.v_threshold
        since = torch.where(fired > 0, torch.ones_like(since), since + 1)
        return (spike,), (v, since)

    # IFNode's fused multi-step kernel knows nothing of `since_spike`: loop over single steps.
    multi_step_functional_forward = base.MemoryModule.multi_step_functional_forward


def swap_spike_layers(net: SpikingNetwork, make: Callable[[float], nn.Module]) -> None:
    """Replace every spike layer of a plain layer stack by `make(its threshold)`."""
    for i, module in enumerate(net.layers):
        if is_spiking_layer(module):
            net.layers[i] = make(float(module.v_threshold))


def use_stdb_neurons(net: SpikingNetwork, alpha: float, beta: float) -> None:
    swap_spike_layers(net, lambda th: STDBIFNode(th, alpha, beta, net.step_mode))


def freeze_batch_norm(net: nn.Module) -> list[RemovableHandle]:
    """Keep every BN layer in inference mode, even under net.train(): the converted
    thresholds were balanced against the BN running statistics."""

    def inference_mode(module: nn.Module, args: tuple) -> None:
        module.training = False

    return [
        m.register_forward_pre_hook(inference_mode)
        for m in net.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
