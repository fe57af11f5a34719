"""Fine-pruning's pruning step (Liu et al. 2018) for a late spiking layer.

The units pruned are the inputs of the Linear layer that reads the spiking layer (after
its pooling/flatten): for the last conv layer, one unit per channel and pooled position,
so a unit that only a trigger in one corner drives can go on its own. Units are ranked
by their activity on clean data, least active first: firing rate (the recorded spikes
passed through the same pooling), then voltage, so units silent on clean inputs go first.
A pruned unit is cut off by masking its column of the Linear weight (torch.nn.utils.prune
keeps it at zero while fine-tuning; `make_permanent` bakes the zeros in, so the
checkpoint keeps the architecture's parameter names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from spikingjelly.activation_based import base
from torch import nn
from torch.nn.utils import prune

from snnstudio.core.errors import ConfigError
from snnstudio.core.models.architectures import BasicBlock
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.probe import LayerRecording, spiking_layer_names


def passes_units_through(module: nn.Module) -> bool:
    """Whether `module` carries a spiking layer's units on to the Linear that reads them:
    a leaf with no weights and no neurons of its own (pooling, the converted nets'
    spike-count max-pool, flatten, dropout). Decided by what the module is, not by a list
    of types, so a new parameter-free layer needs no entry here."""
    return (
        not is_spiking_layer(module)
        and next(module.children(), None) is None
        and next(module.parameters(), None) is None
    )


@dataclass
class PrunePlan:
    layer: str
    linear: nn.Linear  # the layer whose input columns are masked
    order: np.ndarray  # its input columns, least active on clean data first
    silent_units: int  # columns whose input never spiked on the clean data

    @property
    def units(self) -> int:
        return int(self.linear.in_features)


def path_to_linear(net: SpikingNetwork, layer: str) -> tuple[list[nn.Module], nn.Linear]:
    """The pass-through modules between `layer` and the Linear that reads it, and that Linear."""
    parts = layer.split(".")
    if parts[0] != "layers" or len(parts) < 2 or not parts[1].isdigit():
        raise ConfigError(f"layer '{layer}' is not in the network's layer stack")
    index = int(parts[1])
    top = net.layers[index]
    is_block_output = isinstance(top, BasicBlock) and parts[2:] == ["act2"]
    if len(parts) > 2 and not is_block_output:
        raise ConfigError(f"layer '{layer}' is inside a block; prune a block's output instead")
    between: list[nn.Module] = []
    for module in list(net.layers)[index + 1 :]:
        if isinstance(module, nn.Linear):
            return between, module
        if not passes_units_through(module):
            break
        between.append(module)
    raise ConfigError(
        f"layer '{layer}' cannot be pruned: its spikes do not reach a Linear layer through "
        f"pooling/flatten/dropout only (choose a later spiking layer, e.g. "
        f"'{spiking_layer_names(net)[-1]}')"
    )


def default_prune_layer(net: SpikingNetwork) -> str:
    """The last convolutional spiking layer (its spikes reach the FC stack through a
    Flatten), as in fine-pruning; else the last spiking layer that feeds a Linear."""
    fallback = ""
    for name in reversed(spiking_layer_names(net)):
        try:
            between, _ = path_to_linear(net, name)
        except ConfigError:
            continue
        if any(isinstance(m, nn.Flatten) for m in between):
            return name
        fallback = fallback or name
    if not fallback:
        raise ConfigError("no spiking layer of this network feeds a Linear layer to prune")
    return fallback


@torch.no_grad()
def _through(modules: list[nn.Module], seq: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pass a recorded [T, N, neurons] array through the modules; mean per Linear input."""
    t, n = seq.shape[:2]
    x = torch.from_numpy(seq).reshape(t * n, *shape)
    for module in modules:
        if isinstance(module, base.MemoryModule):
            x = _sequence_through(module, x.unflatten(0, (t, n))).flatten(0, 1)
        elif getattr(module, "step_mode", "s") == "m":
            x = module(x.unflatten(0, (t, n))).flatten(0, 1)
        else:
            x = module(x)
    return x.reshape(t, n, -1).mean((0, 1)).numpy()


def _sequence_through(module: base.MemoryModule, x_seq: torch.Tensor) -> torch.Tensor:
    """A stateful module (the spike-count max-pool) over a whole [T, N, ...] sequence, from
    a fresh state and leaving none behind, in multi-step mode whatever the network's."""
    step_mode = module.step_mode
    module.reset()
    module.step_mode = "m"
    try:
        return module(x_seq)
    finally:
        module.step_mode = step_mode
        module.reset()


def plan_pruning(net: SpikingNetwork, clean: LayerRecording) -> PrunePlan:
    """Rank the Linear inputs fed by the recorded layer (recorded per neuron, not per channel)."""
    between, linear = path_to_linear(net, clean.layer)
    if clean.per_channel:
        raise ConfigError("fine-pruning needs a per-neuron recording (per_channel=False)")
    was_training = [m.training for m in between]
    for m in between:
        m.eval()  # dropout off
    try:
        rate = _through(between, clean.spikes, clean.neuron_shape)
        voltage = _through(between, clean.voltage, clean.neuron_shape)
    finally:
        for m, mode in zip(between, was_training, strict=True):
            m.train(mode)
    if len(rate) != linear.in_features:
        raise ConfigError(
            f"layer '{clean.layer}' feeds {len(rate)} values but the next Linear reads "
            f"{linear.in_features}"
        )
    order = np.lexsort((voltage, rate))  # by rate, ties by voltage
    return PrunePlan(clean.layer, linear, order, int((rate == 0).sum()))


def unit_mask(plan: PrunePlan, count: int) -> torch.Tensor:
    """Weight mask of the next Linear with the `count` least active units cut off."""
    keep = torch.ones(plan.units, dtype=plan.linear.weight.dtype)
    keep[torch.from_numpy(plan.order[:count].copy())] = 0.0
    return keep.expand_as(plan.linear.weight).clone().to(plan.linear.weight.device)


@torch.no_grad()
def apply_mask_temporarily(plan: PrunePlan, count: int) -> torch.Tensor:
    """Zero the pruned columns in place and return the original weight to restore."""
    original = plan.linear.weight.detach().clone()
    plan.linear.weight.mul_(unit_mask(plan, count))
    return original


@torch.no_grad()
def restore(plan: PrunePlan, original: torch.Tensor) -> None:
    plan.linear.weight.copy_(original)


def attach_mask(plan: PrunePlan, count: int) -> None:
    """Keep the pruned columns at zero through fine-tuning (torch's pruning re-parametrisation)."""
    prune.custom_from_mask(plan.linear, "weight", unit_mask(plan, count))


def make_permanent(plan: PrunePlan) -> None:
    """Bake the mask into `weight`, so the state_dict has the architecture's usual names."""
    if prune.is_pruned(plan.linear):
        prune.remove(plan.linear, "weight")
