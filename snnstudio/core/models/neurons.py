"""IF/LIF neurons and the paper's four surrogate gradients, mapped onto spikingjelly."""

from __future__ import annotations

from collections.abc import Callable

from spikingjelly.activation_based import neuron, surrogate
from torch import nn

from snnstudio.core.config import ModelConfig

# The paper's h1..h4 and the spikingjelly surrogate with the same shape of gradient.
SURROGATE_FACTORIES: dict[str, Callable[[], surrogate.SurrogateFunctionBase]] = {
    "h1": lambda: surrogate.Rect(alpha=1.0),  # rectangular window
    "h2": lambda: surrogate.PiecewiseQuadratic(alpha=1.0),  # polynomial (triangle-like)
    "h3": lambda: surrogate.Sigmoid(alpha=4.0),  # derivative of a sigmoid
    "h4": lambda: surrogate.Erf(alpha=2.0),  # Gaussian: derivative of the Gaussian CDF
}


def spiking_neuron(cfg: ModelConfig) -> nn.Module:
    """One layer of IF or LIF neurons as configured (hard reset to 0 or soft reset)."""
    common = dict(
        v_threshold=cfg.v_threshold,
        v_reset=0.0 if cfg.reset == "hard" else None,
        surrogate_function=SURROGATE_FACTORIES[cfg.surrogate](),
    )
    if cfg.neuron == "if":
        return neuron.IFNode(**common)
    return neuron.LIFNode(tau=cfg.tau, **common)


def activation_factory(cfg: ModelConfig, kind: str) -> Callable[[], nn.Module]:
    """What follows each conv/FC layer: spiking neurons for the SNN, ReLU for its ANN twin."""
    if kind == "ann":
        return nn.ReLU
    return lambda: spiking_neuron(cfg)


def is_spiking_layer(module: nn.Module) -> bool:
    return isinstance(module, neuron.BaseNode)
