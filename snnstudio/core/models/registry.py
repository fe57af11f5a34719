"""Architecture names -> built networks."""

from __future__ import annotations

from snnstudio.core.config import ModelConfig
from snnstudio.core.models.architectures import ARCHITECTURES
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import activation_factory


def arch_names() -> list[str]:
    return list(ARCHITECTURES)


def build_network(
    cfg: ModelConfig,
    image_shape: tuple[int, int, int],
    num_classes: int,
    spiking: bool = True,
    step_mode: str = "s",
) -> SpikingNetwork:
    """The architecture `cfg.arch` for images of shape (C, H, W): the SNN, or its ANN twin."""
    channels, height, width = image_shape
    act = activation_factory(cfg, "snn" if spiking else "ann")
    layers = ARCHITECTURES[cfg.arch](channels, min(height, width), num_classes, act)
    return SpikingNetwork(layers, spiking=spiking, step_mode=step_mode if spiking else "s")
