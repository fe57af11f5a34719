"""Spike-timing-dependent backpropagation (STDB, Rathi et al. ICLR 2020): an IF neuron whose
surrogate gradient decays with the time since the neuron's last spike.

Forward it is the converted net's IF neuron (soft reset). Backward, d spike / d v is
alpha * exp(-beta * dt) / threshold, where dt counts the timesteps since the neuron's
previous spike (a neuron that has not spiked yet counts from NEVER_SPIKED, Rathi's -1000
sentinel, so its gradient is close to 0), and 0 where the neuron is saturated: v >= 2 *
threshold before the reset, so it fires now and, unless its input turns negative, at the
next step too (the support of Rathi's linear surrogate, max(0, 1 - |v / threshold - 1|)).
The reset is detached, as in Rathi's code. spikingjelly's surrogates are stateless functions
of v, so this one is written here.

Why the saturation cut. STDB's gradient does not depend on v, so a neuron driven far above
threshold, which cannot fire more than once a step, still gets the full gradient at every
step: the objective keeps pushing it (and, through shared conv weights and BN shifts, its
neighbours) upwards with no effect on its output. Adam moves every weight by about lr a
step however small the STDB gradients are, so the firing rates drifted up epoch after
epoch until saturation erased the information. Digits demo, clean twin, CSNN, T = 4,
8 STDB epochs, without the cut: at the demo's lr 2e-3, ACC 0.956 after epoch 1, 0.689 after
epoch 8 (last spike layer's rate 0.095 -> 0.48); at MaxNorm x 0.5 and lr 1e-4 (BN affine
frozen), 0.978 after epoch 2, 0.90 after 8, the saturated share of the last spike layer
0 -> 21%; at 5e-4, 0.62 after 6, 67% saturated. With the cut the rates level off (saturated share
below 2%), the training loss falls every epoch, and at lr 2e-3 ACC is 0.969 after 8 epochs
at MaxNorm x 1 and 0.981 at x 0.5. Gradient clipping (norm 1) did not help (0.836 after 8
epochs): Adam rescales the clipped gradient back up. (All measured with neurons starting at 0,
before `rule.v_init`.)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch
from spikingjelly.activation_based import base, functional, neuron
from torch import nn
from torch.utils.hooks import RemovableHandle

from snnstudio.core.config import ModelConfig
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import InitialVoltage, is_spiking_layer, spiking_neuron

NEVER_SPIKED = 1000.0
SATURATION = 2.0  # v at or above this many thresholds: the neuron gets no STDB gradient


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


class STDBIFNode(InitialVoltage, neuron.IFNode):
    """IF neuron, soft reset, with the STDB surrogate gradient, starting at `v_init` x the
    threshold like the converted neuron it stands in for."""

    def __init__(
        self,
        v_threshold: float,
        alpha: float,
        beta: float,
        step_mode: str = "s",
        v_init: float = 0.0,
    ):
        super().__init__(v_threshold=float(v_threshold), v_reset=None, step_mode=step_mode)
        self.alpha = alpha
        self.beta = beta
        self.register_memory("since_spike", NEVER_SPIKED)
        self.v_init = v_init
        self.reset()

    def materialize_states(self, inputs, states, step_mode):  # type: ignore[no-untyped-def]
        v, since = super().materialize_states(inputs, states, step_mode)
        if not isinstance(since, torch.Tensor) or since.shape != v.shape:
            since = torch.full_like(v, NEVER_SPIKED)
        return v, since

    def single_step_functional_forward(self, inputs, states, **kwargs):  # type: ignore[no-untyped-def]
        v, since = states
        v = v + inputs[0]
        grad_scale = self.alpha * torch.exp(-self.beta * since) / self.v_threshold
        grad_scale = grad_scale * (v < SATURATION * self.v_threshold)  # saturated: no gradient
        spike = STDBSpike.apply(v - self.v_threshold, grad_scale)
        fired = spike.detach()
        v = v - fired * self.v_threshold
        since = torch.where(fired > 0, torch.ones_like(since), since + 1)
        return (spike,), (v, since)

    # IFNode's fused multi-step kernel knows nothing of `since_spike`: loop over single steps.
    multi_step_functional_forward = base.MemoryModule.multi_step_functional_forward


def swap_spike_layers(net: SpikingNetwork, make: Callable[[float], nn.Module]) -> None:
    """Replace every spike layer (nested ones too) by `make(its threshold)`."""
    names = [name for name, module in net.layers.named_modules() if is_spiking_layer(module)]
    for name in names:
        parent, _, child = name.rpartition(".")
        owner = net.layers.get_submodule(parent) if parent else net.layers
        setattr(owner, child, make(float(getattr(owner, child).v_threshold)))
    functional.invalidate_reset_cache(net.layers)  # spikingjelly caches what reset_net resets


@contextmanager
def stdb_training(snn: SpikingNetwork, model: ModelConfig, alpha: float, beta: float):  # type: ignore[no-untyped-def]
    """While open, `snn` trains with the STDB gradient (thresholds fixed, batch norm in
    inference mode); on leaving, it gets back the spike layers of `model` (the converted
    config's IF, soft reset) that a checkpoint rebuilds: same forward, no STDB state."""
    step_mode = snn.step_mode
    swap_spike_layers(snn, lambda th: STDBIFNode(th, alpha, beta, step_mode, model.v_init))
    frozen = freeze_batch_norm(snn)
    try:
        yield snn
    finally:
        for handle in frozen:
            handle.remove()
        swap_spike_layers(snn, lambda th: _configured_neuron(model, th, step_mode))


def _configured_neuron(model: ModelConfig, threshold: float, step_mode: str) -> nn.Module:
    node = spiking_neuron(model)
    node.v_threshold = threshold
    node.step_mode = step_mode
    return node


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
