"""IF/LIF neurons and the paper's four surrogate gradients, mapped onto spikingjelly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
from spikingjelly.activation_based import neuron, surrogate
from torch import nn

from snnstudio.core.config import ModelConfig
from snnstudio.core.models import neuron_kernels

# The paper's h1..h4 and the spikingjelly surrogate with the same shape of gradient.
SURROGATE_FACTORIES: dict[str, Callable[[], surrogate.SurrogateFunctionBase]] = {
    "h1": lambda: surrogate.Rect(alpha=1.0),  # rectangular window
    "h2": lambda: surrogate.PiecewiseQuadratic(alpha=1.0),  # polynomial (triangle-like)
    "h3": lambda: surrogate.Sigmoid(alpha=4.0),  # derivative of a sigmoid
    "h4": lambda: surrogate.Erf(alpha=2.0),  # Gaussian: derivative of the Gaussian CDF
}


# The fused CPU step's code for each surrogate (its derivative is in neuron_kernels.py).
FUSED_SURROGATES: dict[type, int] = {
    surrogate.Rect: neuron_kernels.RECT,
    surrogate.PiecewiseQuadratic: neuron_kernels.PIECEWISE_QUADRATIC,
    surrogate.Sigmoid: neuron_kernels.SIGMOID,
    surrogate.Erf: neuron_kernels.ERF,
}


class FusedCpuStep:
    """Runs a spikingjelly IF/LIF layer through neuron_kernels' fused loop on the CPU.

    Mixed into spikingjelly's own node classes, so everything else about them (state,
    probes' hooks, thresholds set by conversion, the GPU kernels) is unchanged; where the
    fused step does not apply (GPU, non-float32, a voltage sequence asked for, a surrogate
    or threshold it does not know, under torch.compile, to which numba is opaque)
    spikingjelly's own path runs. (Checked here rather than by decorating the kernel with
    torch.compiler.disable, which imports torch._dynamo: a third of snnstudio's start-up.)
    """

    fused: bool = True  # False: always spikingjelly's path (benchmarks compare the two)

    def _fused_params(self, x: torch.Tensor) -> neuron_kernels.NeuronParams | None:
        node = cast(neuron.BaseNode, self)
        sg = node.surrogate_function
        kind = FUSED_SURROGATES.get(type(sg))
        if (
            not self.fused or kind is None or not getattr(sg, "spiking", False)
            or torch.compiler.is_compiling() or x.device.type != "cpu"
            or x.dtype != torch.float32 or node.store_v_seq
            or node._neuron_precision is not None or not isinstance(node.v_threshold, float)
            or not isinstance(sg.alpha, float)
        ):  # fmt: skip
            return None
        leak = isinstance(node, neuron.LIFNode)
        return neuron_kernels.NeuronParams(
            leak, float(getattr(node, "tau", 2.0)), bool(getattr(node, "decay_input", True)),
            node.v_threshold, node.v_reset, node.detach_reset, kind, sg.alpha,
        )  # fmt: skip

    def _fused_sequence(
        self, x_seq: torch.Tensor, params: neuron_kernels.NeuronParams, x: torch.Tensor, mode: str
    ) -> torch.Tensor:
        """Run the fused step over `x_seq` from the node's voltage (a tensor materialised for
        `x` in spikingjelly's step `mode`), keep the last voltage, return the spikes."""
        node = cast(neuron.BaseNode, self)
        v = node.v
        if not isinstance(v, float):  # a float (after a reset) is filled in by the kernel
            (v, *_) = node.materialize_states((x,), tuple(node._memories.values()), mode)
        spikes, node.v = neuron_kernels.fused_neuron_sequence(x_seq, v, params)
        return spikes

    def multi_step_forward(self, x_seq: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        params = None if args or kwargs else self._fused_params(x_seq)
        if params is None:
            return super().multi_step_forward(x_seq, *args, **kwargs)  # type: ignore[misc]
        return self._fused_sequence(x_seq, params, x_seq, "m")

    def single_step_forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        params = None if args or kwargs else self._fused_params(x)
        if params is None:
            return super().single_step_forward(x, *args, **kwargs)  # type: ignore[misc]
        return self._fused_sequence(x.unsqueeze(0), params, x, "s")[0]


class InitialVoltage:
    """A spikingjelly node whose membrane starts at `v_init` x its threshold after every reset.

    A converted IF neuron with soft reset that starts at 0 emits floor(a t / theta) spikes by
    t, so every layer under-counts by up to one spike and a deep net needs long T before its
    output forms; starting at theta / 2 rounds instead (Bu et al. 2022, "Optimized Potential
    Initialization for Low-latency Spiking Neural Networks"). Following the threshold rather
    than storing a voltage keeps it right when conversion sets the threshold afterwards.

    Measured (LR_C, MaxNorm, poisoned reference; `benchmarks/conversion_migration.py --v-inits
    0,0.5 --at 16 32 64`), ACC at t = 32 from 0 -> from theta / 2, ASR 1.0 in all four:

        ResNet18, MNIST 2k / 200, ANN 0.940     0.27 -> 0.69   (both 0.925 at t = 128)
        ResNet18, digits, ANN 0.944             0.10 -> 0.79   (0.914 -> 0.925 at t = 128)
        CSNN, MNIST 6k / 1k, ANN 0.974          best t 44 -> 13, ACC at t = 64 0.971 -> 0.974
    """

    v_init: float = 0.0

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        if self.v_init:
            node = cast(neuron.BaseNode, self)
            node.v = initial_voltage(node)


def initial_voltage(node: neuron.BaseNode) -> float:
    """The voltage `node` starts from after a reset."""
    fraction = getattr(node, "v_init", 0.0)
    if fraction:
        return fraction * float(node.v_threshold)
    return 0.0 if node.v_reset is None else float(node.v_reset)


class FusedIFNode(InitialVoltage, FusedCpuStep, neuron.IFNode):
    """spikingjelly's IFNode with the fused CPU step."""


class FusedLIFNode(InitialVoltage, FusedCpuStep, neuron.LIFNode):
    """spikingjelly's LIFNode with the fused CPU step."""


def spiking_neuron(cfg: ModelConfig) -> nn.Module:
    """One layer of IF or LIF neurons as configured (hard reset to 0 or soft reset)."""
    common = dict(
        v_threshold=cfg.v_threshold,
        v_reset=0.0 if cfg.reset == "hard" else None,
        surrogate_function=SURROGATE_FACTORIES[cfg.surrogate](),
    )
    node = FusedIFNode(**common) if cfg.neuron == "if" else FusedLIFNode(tau=cfg.tau, **common)
    node.v_init = cfg.v_init
    node.reset()
    return node


def activation_factory(cfg: ModelConfig, kind: str) -> Callable[[], nn.Module]:
    """What follows each conv/FC layer: spiking neurons for the SNN, ReLU for its ANN twin."""
    if kind == "ann":
        return nn.ReLU
    return lambda: spiking_neuron(cfg)


def is_spiking_layer(module: nn.Module) -> bool:
    return isinstance(module, neuron.BaseNode)
