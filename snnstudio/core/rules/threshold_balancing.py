"""Threshold balancing of an ANN converted to an IF SNN: where each spike layer sits, which
layers read it, how its threshold is set, and the ANN statistics of MaxNorm and RobustNorm.

A threshold is expressed in the ANN's activation units. Setting spike layer l to threshold
theta_l and multiplying every layer that reads its spikes by theta_l makes each reader
receive theta_l * spikes, i.e. the ANN's activation encoded as a rate: this is Diehl's
weight normalisation written as thresholds, and what spikingjelly's converter does with its
VoltageScaler pairs (1/theta before an IF node of threshold 1, theta after it). Biases and
batch norm stay untouched because each scaled reader is linear and comes before them.

Residual blocks (ResNet18) are balanced the same way (Hu et al. 2018, Sengupta et al. 2019):
the spike layer before a block is read by the block's first conv and by its shortcut (the
1x1 conv, or the identity's gain in the converted net), so both paths are scaled by the same
theta and the sum at the block's output is in ANN units on both; the block's output spike
layer is balanced on that sum. This holds for every norm, since each norm only chooses theta.

Written by hand rather than with spikingjelly 2.0.0's `ann2snn.Converter`: that converter
FX-traces the ANN and fails on spikingjelly's own `layer.BatchNorm2d` ("symbolically traced
variables cannot be used as inputs to control flow"), and it returns an FX GraphModule of
VoltageScalers rather than our SpikingNetwork, which checkpoints and probes rely on.
(tests/core/test_reference_conversion.py compares the two on a network it can convert.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.models.architectures import BasicBlock
from snnstudio.core.models.conversion_layers import ScaledShortcut
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer

# RobustNorm keeps at most this many positive activations per layer for its percentile
# (a seeded subsample per batch beyond it), so memory stays bounded on large reference sets.
MAX_KEPT_ACTIVATIONS = 4_000_000
MIN_THRESHOLD = 1e-6  # a layer that never activates on the reference data gets this threshold
CALIBRATION_BATCH = 256


@dataclass(frozen=True)
class SpikeSlot:
    """One spike layer (a ReLU in the ANN twin) and the layers that read its output, as
    dotted names inside the layer stack, in forward order."""

    activation: str
    readers: tuple[str, ...]


WEIGHTED = (nn.Conv2d, nn.Linear)


def spike_slots(layers: nn.Sequential) -> list[SpikeSlot]:
    """The spike layers of a layer stack (the ANN's ReLUs or the SNN's IF layers) with their
    readers: the next conv/linear layer, or a residual block's first conv and shortcut."""
    slots: list[SpikeSlot] = []
    pending: str | None = None  # the spike layer whose readers come next

    def read_by(*readers: str) -> None:
        nonlocal pending
        if pending is not None:
            slots.append(SpikeSlot(pending, readers))
            pending = None

    for name, module in layers.named_children():
        if isinstance(module, BasicBlock):
            shortcut = module.shortcut
            via = f"{name}.shortcut" + (".0" if isinstance(shortcut, nn.Sequential) else "")
            read_by(f"{name}.conv1", via)
            slots.append(SpikeSlot(f"{name}.act1", (f"{name}.conv2",)))
            pending = f"{name}.act2"
        elif isinstance(module, nn.ReLU) or is_spiking_layer(module):
            if pending is not None:
                raise ConfigError(f"spike layer {pending} is followed by another one ({name})")
            pending = name
        elif isinstance(module, WEIGHTED):
            read_by(name)
        elif any(True for _ in module.children()):
            raise ConfigError(
                f"conversion cannot balance thresholds through {type(module).__name__} "
                f"(layer {name}): it knows plain layer stacks and ResNet basic blocks"
            )
    if pending is not None:
        raise ConfigError(f"spike layer {pending} has no weighted layer after it")
    return slots


def spike_layer(net: SpikingNetwork, slot: SpikeSlot) -> nn.Module:
    return net.layers.get_submodule(slot.activation)


@torch.no_grad()
def set_threshold(snn: SpikingNetwork, slot: SpikeSlot, value: float) -> float:
    """Give spike layer `slot` the threshold `value` (ANN units) and rescale its readers."""
    value = max(float(value), MIN_THRESHOLD)
    spike_layer(snn, slot).v_threshold = value
    _scale_readers(snn, slot, value)
    return value


@torch.no_grad()
def rescale_threshold(snn: SpikingNetwork, slot: SpikeSlot, factor: float) -> float:
    """Multiply spike layer `slot`'s threshold, and its readers' weights with it, by
    `factor`; return the new threshold."""
    layer = spike_layer(snn, slot)
    value = max(float(layer.v_threshold) * factor, MIN_THRESHOLD)
    _scale_readers(snn, slot, value / float(layer.v_threshold))
    layer.v_threshold = value
    return value


def _scale_readers(snn: SpikingNetwork, slot: SpikeSlot, factor: float) -> None:
    """Multiply the weights of every layer that reads spike layer `slot` by `factor`."""
    for reader in slot.readers:
        module = snn.layers.get_submodule(reader)
        if not isinstance(getattr(module, "weight", None), torch.Tensor):
            raise ConfigError(
                f"layer {reader} ({type(module).__name__}) reads spike layer {slot.activation} "
                "but has no weight to rescale: build the SNN with model.converted = true"
            )
        module.weight.mul_(factor)


@torch.no_grad()
def activation_norms(
    ann: SpikingNetwork,
    reference: SampleSet,
    device: torch.device,
    norm: str,
    percentile: float,
    cancel: CancelToken | None = None,
) -> list[float]:
    """Per spike layer, the ANN activation that maps to the maximum firing rate.

    norm = 'max': the largest ReLU output on the reference data (Diehl et al. 2015).
    norm = 'robust': the `percentile`-th percentile of the positive ReLU outputs (Rueckauer et
    al. 2017; zeros are left out, they would otherwise dominate the distribution).
    """
    slots = spike_slots(ann.layers)
    maxima = [0.0] * len(slots)
    kept: list[list[torch.Tensor]] = [[] for _ in slots]
    batches = max(1, -(-len(reference) // CALIBRATION_BATCH))
    cap = max(1, MAX_KEPT_ACTIVATIONS // batches)
    generator = torch.Generator().manual_seed(0)

    def recorder(k: int):  # type: ignore[no-untyped-def]
        def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            positive = output[output > 0].float().cpu()
            if positive.numel() == 0:
                return
            maxima[k] = max(maxima[k], float(positive.max()))
            if norm == "robust":
                if positive.numel() > cap:
                    pick = torch.randint(positive.numel(), (cap,), generator=generator)
                    positive = positive[pick]
                kept[k].append(positive)

        return record

    handles = [
        spike_layer(ann, slot).register_forward_hook(recorder(k)) for k, slot in enumerate(slots)
    ]
    was_training = ann.training
    ann.eval()
    try:
        for batch in iterate_batches(reference, CALIBRATION_BATCH, device):
            check_cancel(cancel)
            ann(encode_batch(batch.x, 1, "repeat"))
    finally:
        for handle in handles:
            handle.remove()
        ann.train(was_training)
    if norm == "max":
        return maxima
    return [
        float(np.percentile(torch.cat(values).numpy(), percentile)) if values else 0.0
        for values in kept
    ]


def thresholds_of(snn: SpikingNetwork) -> list[float]:
    return [float(spike_layer(snn, slot).v_threshold) for slot in spike_slots(snn.layers)]


@torch.no_grad()
def ann_state_dict(snn: SpikingNetwork) -> dict[str, torch.Tensor]:
    """The state_dict of the ANN twin a converted SNN came from (undoes `set_threshold`).

    A converted SNN's weights are not its ANN's: each reader of a spike layer has its weights
    multiplied by that layer's threshold. Loading an SNN's state_dict straight into the ANN
    twin therefore gives a different ANN; this divides the thresholds back out, and leaves
    out the identity shortcuts' gains, which the ANN twin does not have.
    """
    state = {name: value.detach().clone() for name, value in snn.state_dict().items()}
    for slot in spike_slots(snn.layers):
        threshold = float(spike_layer(snn, slot).v_threshold)
        for reader in slot.readers:
            state[f"layers.{reader}.weight"] /= threshold
    return {name: value for name, value in state.items() if name not in shortcut_gains(snn)}


def shortcut_gains(net: SpikingNetwork) -> set[str]:
    """State names of the converted net's identity-shortcut gains (not in the ANN twin)."""
    return {
        f"layers.{name}.weight"
        for name, module in net.layers.named_modules()
        if isinstance(module, ScaledShortcut)
    }
