"""Architecture names -> built networks, and what each architecture supports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from snnstudio.core.config import ModelConfig
from snnstudio.core.models.architectures import Parts, csnn, resnet18, vgg11
from snnstudio.core.models.network import AnnTwin, SpikingNetwork
from snnstudio.core.models.neurons import activation_factory


@dataclass(frozen=True)
class ArchEntry:
    """An architecture's layer builder and its capabilities.

    Attributes
    ----------
    layers : (in_channels, side, num_classes, parts) -> the layer stack.
    convertible : ANN -> SNN conversion applies (LR_C, LR_H): threshold balancing knows
        where each spike layer's readers are (plain stacks and ResNet basic blocks).
    channels_last : the network runs channels-last on the CPU (SpikingNetwork): where it
        was measured faster. CPU seconds per training step / inference pass at T 4, 28 x 28
        MNIST-sized input, 1 thread, channels-last over torch's default layout: CSNN (batch
        64) 0.84 / 0.79; VGG11 (batch 64) 0.99 / 0.97, (16) 1.13 / 1.06; ResNet18 (64)
        1.20 / 1.54: its many small maps of 128-512 channels run faster in oneDNN's
        blocked layout, which it reorders NCHW frames into.
    """

    layers: Callable[[int, int, int, Parts], nn.Sequential]
    convertible: bool
    channels_last: bool = False


ARCHS: dict[str, ArchEntry] = {
    "csnn": ArchEntry(csnn, convertible=True, channels_last=True),
    "vgg11": ArchEntry(vgg11, convertible=True),
    "resnet18": ArchEntry(resnet18, convertible=True),
}


def arch_names() -> list[str]:
    return list(ARCHS)


def convertible_arch_names() -> list[str]:
    """The architectures ANN -> SNN conversion applies to."""
    return [name for name, entry in ARCHS.items() if entry.convertible]


def threshold_aware_bn_gain(cfg: ModelConfig) -> float:
    """tdBN's batch-norm scale (Zheng et al. 2021: pre-activations ~ N(0, V_th^2)) for a
    neuron that integrates its input directly; spikingjelly's LIF integrates x / tau, so
    the input needs tau times that scale to reach the threshold as often. Used by vgg11."""
    return cfg.v_threshold * (cfg.tau if cfg.neuron == "lif" else 1.0)


def build_network(
    cfg: ModelConfig,
    image_shape: tuple[int, int, int],
    num_classes: int,
    spiking: bool = True,
    step_mode: str = "s",
) -> SpikingNetwork:
    """The architecture `cfg.arch` for images of shape (C, H, W): the SNN, or (`spiking=False`)
    its ANN twin, an `AnnTwin`."""
    channels, height, width = image_shape
    # the ANN twin never has the converted SNN's parameter-free layers
    # the threshold-aware gain is for spike layers; a ReLU twin (converted to IF neurons at
    # balanced thresholds later) starts at batch norm's own scale
    parts = Parts(
        activation_factory(cfg, "snn" if spiking else "ann"),
        spiking and cfg.converted,
        threshold_aware_bn_gain(cfg) if spiking else 1.0,
        cfg.pool,
    )
    entry = ARCHS[cfg.arch]
    layers = entry.layers(channels, min(height, width), num_classes, parts)
    if spiking:
        return SpikingNetwork(layers, step_mode, entry.channels_last)
    return AnnTwin(layers, entry.channels_last)


def build_ann_twin(
    cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int
) -> AnnTwin:
    """The ANN twin of `cfg.arch` (what LR_C and LR_H train and convert)."""
    net = build_network(cfg, image_shape, num_classes, spiking=False)
    assert isinstance(net, AnnTwin)
    return net
