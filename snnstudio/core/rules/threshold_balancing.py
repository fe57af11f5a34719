"""Threshold balancing of an ANN converted to an IF SNN: where each spike layer sits, how its
threshold is set, and the ANN activation statistics of MaxNorm and RobustNorm.

A threshold is expressed in the ANN's activation units. Setting spike layer l to threshold
theta_l and multiplying the weights of the first conv/linear layer after it by theta_l makes
every later layer receive theta_l * spikes, i.e. the ANN's activation encoded as a rate: this
is Diehl's weight normalisation written as thresholds, and what spikingjelly's converter does
with its VoltageScaler pairs (1/theta before an IF node of threshold 1, theta after it).
Biases and batch norm stay untouched because the scaled layer is linear and comes before them.

Written by hand rather than with spikingjelly 2.0.0's `ann2snn.Converter`: that converter
FX-traces the ANN and fails on spikingjelly's own `layer.BatchNorm2d` ("symbolically traced
variables cannot be used as inputs to control flow"), and it returns an FX GraphModule of
VoltageScalers rather than our SpikingNetwork, which checkpoints and probes rely on.
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
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer

# RobustNorm keeps at most this many positive activations per layer for its percentile
# (a seeded subsample per batch beyond it), so memory stays bounded on large reference sets.
MAX_KEPT_ACTIVATIONS = 4_000_000
MIN_THRESHOLD = 1e-6  # a layer that never activates on the reference data gets this threshold
CALIBRATION_BATCH = 256


@dataclass(frozen=True)
class SpikeSlot:
    """One spike layer (a ReLU in the ANN twin) and the weighted layer that reads its output."""

    activation: int  # index in the layer stack
    successor: int  # index of the next Conv2d/Linear


def spike_slots(layers: nn.Sequential) -> list[SpikeSlot]:
    """The spike layers of a plain layer stack (the ANN's ReLUs or the SNN's IF layers)."""
    nested = [
        type(m).__name__
        for m in layers
        if not is_spiking_layer(m) and any(True for _ in m.children())
    ]
    if nested:
        raise ConfigError(
            f"conversion needs a plain layer stack; this model has nested blocks ({nested[0]})"
        )
    slots = []
    for i, module in enumerate(layers):
        if not (isinstance(module, nn.ReLU) or is_spiking_layer(module)):
            continue
        successor = next(
            (j for j in range(i + 1, len(layers)) if isinstance(layers[j], nn.Conv2d | nn.Linear)),
            None,
        )
        if successor is None:
            raise ConfigError(f"layer {i} ({type(module).__name__}) has no weighted layer after it")
        slots.append(SpikeSlot(i, successor))
    return slots


@torch.no_grad()
def set_threshold(snn: SpikingNetwork, slot: SpikeSlot, value: float) -> float:
    """Give spike layer `slot` the threshold `value` (ANN units) and rescale its reader."""
    value = max(float(value), MIN_THRESHOLD)
    snn.layers[slot.activation].v_threshold = value
    snn.layers[slot.successor].weight.mul_(value)
    return value


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
        ann.layers[slot.activation].register_forward_hook(recorder(k))
        for k, slot in enumerate(slots)
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


@torch.no_grad()
def ann_state_dict(snn: SpikingNetwork) -> dict[str, torch.Tensor]:
    """The state_dict of the ANN twin a converted SNN came from (undoes `set_threshold`).

    A converted SNN's weights are not its ANN's: the layer after each spike layer has its
    weights multiplied by that layer's threshold. Loading an SNN's state_dict straight into
    the ANN twin therefore gives a different ANN; this divides the thresholds back out.
    """
    state = {name: value.detach().clone() for name, value in snn.state_dict().items()}
    for slot in spike_slots(snn.layers):
        state[f"layers.{slot.successor}.weight"] /= float(snn.layers[slot.activation].v_threshold)
    return state
