"""Record the membrane voltage and spikes of a network's spiking layers.

Forward hooks capture each spiking layer's input current and output spikes while the
network runs; the hooks are removed before returning, and the forward pass itself is
untouched, so recording never changes the model's outputs.

The voltage reported is the membrane potential *after charging and before fire/reset*
(the value compared with the threshold). spikingjelly only keeps the post-reset voltage,
which a hard reset sets to 0 at every spike, so the charged voltage is rebuilt by
replaying the layer's own charge equation (`single_step_functional_forward` with the
threshold lifted out of reach) on the captured input, resetting with the spikes the
layer really emitted.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import torch
from spikingjelly.activation_based.neuron import BaseNode
from torch import nn

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import ConfigError
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import initial_voltage, is_spiking_layer

UNREACHABLE_THRESHOLD = 1e30  # finite, so a soft reset (v - threshold * 0) stays exact


@dataclass
class LayerRecording:
    """One spiking layer's activity for a batch of N inputs over T timesteps.

    Attributes
    ----------
    layer : the layer's name in the network (see `spiking_layer_names`).
    voltage : float32 [T, N, neurons], membrane potential after charge, before fire/reset.
    spikes : float32 [T, N, neurons], 0/1 spikes (with `per_channel`, the share of the
        channel's positions that spiked).
    threshold : the layer's firing threshold.
    neuron_shape : shape of one input's neurons before flattening, e.g. (C, H, W) or (F,);
        with `per_channel`, (C,).
    per_channel : conv maps were averaged over H x W, one "neuron" per channel.
    """

    layer: str
    voltage: np.ndarray
    spikes: np.ndarray
    threshold: float
    neuron_shape: tuple[int, ...]
    per_channel: bool = False

    @property
    def cumulative_voltage(self) -> np.ndarray:
        """[N, neurons]: the charged voltage summed over the T timesteps."""
        return self.voltage.sum(0)

    @property
    def spike_counts(self) -> np.ndarray:
        """[N, neurons]: spikes summed over the T timesteps."""
        return self.spikes.sum(0)

    @property
    def firing_rate(self) -> np.ndarray:
        """[N, neurons]: spikes per timestep."""
        return self.spikes.mean(0)

    @property
    def num_neurons(self) -> int:
        return int(self.voltage.shape[-1])

    def subset(self, keep: np.ndarray) -> LayerRecording:
        """The recording of the inputs selected by `keep` (an index or mask over N)."""
        return replace(self, voltage=self.voltage[:, keep], spikes=self.spikes[:, keep])


def spiking_layer_names(net: nn.Module) -> list[str]:
    """Names of the spiking layers of `net`, input to output (e.g. 'layers.2')."""
    return [name for name, module in net.named_modules() if is_spiking_layer(module)]


def _spiking_layers(net: nn.Module, names: Iterable[str] | None) -> dict[str, BaseNode]:
    available = {name: m for name, m in net.named_modules() if is_spiking_layer(m)}
    if not available:
        raise ConfigError("this network has no spiking layer to record (an ANN twin?)")
    if names is None:
        last = list(available)[-1]
        return {last: available[last]}
    chosen = {}
    for name in names:
        if name not in available:
            raise ConfigError(f"no spiking layer named '{name}' (known: {', '.join(available)})")
        chosen[name] = available[name]
    return chosen


class _Capture:
    """Forward hook keeping a spiking layer's inputs and output spikes, time-first."""

    def __init__(self, node: BaseNode) -> None:
        self.node = node
        self.inputs: list[torch.Tensor] = []
        self.spikes: list[torch.Tensor] = []
        self.handle = node.register_forward_hook(self)

    def __call__(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        x = args[0].detach()
        s = output.detach()
        if self.node.step_mode == "s":  # one call per timestep: add the time axis
            x, s = x.unsqueeze(0), s.unsqueeze(0)
        self.inputs.append(x)
        self.spikes.append(s)

    def sequences(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.cat(self.inputs), torch.cat(self.spikes)


def charged_voltage(node: BaseNode, x_seq: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
    """Replay `node`'s dynamics on its input [T, N, ...]: the voltage after each charge.

    The charge comes from the node's own functional step with an unreachable threshold;
    the reset uses the spikes the node really emitted, so the replay follows the recorded
    run exactly.
    """
    charger = copy.copy(node)  # shallow: only the threshold of the copy changes
    charger.v_threshold = UNREACHABLE_THRESHOLD
    v: torch.Tensor = torch.full_like(x_seq[0], initial_voltage(node))
    out = []
    for x_t, s_t in zip(x_seq, spikes, strict=True):
        _, (charged, *_) = charger.single_step_functional_forward((x_t,), (v,))
        out.append(charged)
        if node.v_reset is None:
            v = BaseNode.apply_soft_reset(charged, s_t, node.v_threshold)
        else:
            v = BaseNode.apply_hard_reset(charged, s_t, node.v_reset)
    return torch.stack(out)


def _to_neurons(seq: torch.Tensor, per_channel: bool) -> tuple[np.ndarray, tuple[int, ...]]:
    """[T, N, *shape] -> ([T, N, neurons], neuron shape)."""
    shape = tuple(seq.shape[2:])
    if per_channel and len(shape) == 3:
        return seq.mean(dim=(-2, -1)).cpu().numpy().astype(np.float32), shape[:1]
    return seq.flatten(2).cpu().numpy().astype(np.float32), shape


@torch.no_grad()
def record_layers(
    net: SpikingNetwork,
    x_seq: torch.Tensor,
    layers: Iterable[str] | None = None,
    per_channel: bool = False,
) -> tuple[dict[str, LayerRecording], np.ndarray]:
    """Run `net` on x_seq [T, N, ...] and record the named spiking layers (default: the last).

    Returns the recordings by layer name and the readout per timestep [T, N, K] (the
    network's ordinary output). The network is run in eval mode and left as it was found;
    the hooks are removed even when the forward pass fails.
    """
    nodes = _spiking_layers(net, layers)
    captures = {name: _Capture(node) for name, node in nodes.items()}
    was_training = net.training
    net.eval()
    try:
        readout = net(x_seq)
    finally:
        for capture in captures.values():
            capture.handle.remove()
        net.train(was_training)
    recordings = {}
    for name, capture in captures.items():
        inputs, spikes = capture.sequences()
        voltage = charged_voltage(capture.node, inputs, spikes)
        v, shape = _to_neurons(voltage, per_channel)
        s, _ = _to_neurons(spikes, per_channel)
        recordings[name] = LayerRecording(
            name, v, s, float(capture.node.v_threshold), shape, per_channel and len(shape) == 1
        )
    return recordings, readout.cpu().numpy()


def record_layer(
    net: SpikingNetwork, x_seq: torch.Tensor, layer: str | None = None, per_channel: bool = False
) -> LayerRecording:
    """One spiking layer's voltage and spikes for x_seq [T, N, ...] (default: the last layer)."""
    recordings, _ = record_layers(net, x_seq, None if layer is None else [layer], per_channel)
    return next(iter(recordings.values()))


@dataclass
class DatasetRecording:
    """Recordings of a whole sample set, batch by batch, joined along N."""

    layers: dict[str, LayerRecording]
    readout: np.ndarray  # [T, N, K]

    @property
    def predictions(self) -> np.ndarray:
        return self.readout.mean(0).argmax(-1)

    def subset(self, keep: np.ndarray) -> DatasetRecording:
        layers = {name: rec.subset(keep) for name, rec in self.layers.items()}
        return DatasetRecording(layers, self.readout[:, keep])


def record_dataset(
    net: SpikingNetwork,
    samples: SampleSet,
    timesteps: int,
    encoder: str,
    device: torch.device,
    layers: Iterable[str] | None = None,
    per_channel: bool = False,
    batch_size: int = 256,
) -> DatasetRecording:
    """`record_layers` over every sample of `samples`, encoded as in training."""
    names = list(layers) if layers is not None else None
    parts: list[dict[str, LayerRecording]] = []
    readouts = []
    for batch in iterate_batches(samples, batch_size, device):
        recs, readout = record_layers(
            net, encode_batch(batch.x, timesteps, encoder), names, per_channel
        )
        parts.append(recs)
        readouts.append(readout)
    if not parts:
        raise ConfigError("cannot record an empty sample set")
    joined = {
        name: LayerRecording(
            name,
            np.concatenate([p[name].voltage for p in parts], axis=1),
            np.concatenate([p[name].spikes for p in parts], axis=1),
            first.threshold,
            first.neuron_shape,
            first.per_channel,
        )
        for name, first in parts[0].items()
    }
    return DatasetRecording(joined, np.concatenate(readouts, axis=1))
