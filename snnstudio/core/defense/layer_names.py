"""Names a person can read for a network's spiking layers: "conv2 spikes (32×14×14)",
"fc1 spikes (128)", and "output" for the readout.

A spiking layer is named after the weight layer that feeds it (the k-th Conv2d or Linear
of the network, counted input to output) and the shape of its spikes for one input,
found by one forward pass of a blank input through hooks (the network is unchanged).
"""

from __future__ import annotations

import torch
from torch import nn

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer

OUTPUT = "output"


@torch.no_grad()
def spike_shapes(net: SpikingNetwork, sample_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """The spike shape of each spiking layer for one input, by layer name."""
    device = next(net.parameters()).device
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in net.named_modules():
        if is_spiking_layer(module):

            def keep(m: nn.Module, args: tuple, out: torch.Tensor, name: str = name) -> None:
                shape = tuple(out.shape[1:]) if m.step_mode == "s" else tuple(out.shape[2:])
                shapes.setdefault(name, shape)

            handles.append(module.register_forward_hook(keep))
    was_training = net.training
    net.eval()
    try:
        net(encode_batch(torch.zeros(1, *sample_shape, device=device), 1, "repeat"))
    finally:
        for handle in handles:
            handle.remove()
        net.train(was_training)
    return shapes


def layer_labels(net: SpikingNetwork, sample_shape: tuple[int, ...]) -> dict[str, str]:
    """Readable names of the spiking layers by module name, and OUTPUT for the readout."""
    shapes = spike_shapes(net, sample_shape)
    labels: dict[str, str] = {}
    convs = linears = 0
    feeding = ""
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d):
            convs += 1
            feeding = f"conv{convs}"
        elif isinstance(module, nn.Linear):
            linears += 1
            feeding = f"fc{linears}"
        elif is_spiking_layer(module):
            shape = "×".join(str(d) for d in shapes.get(name, ()))
            labels[name] = f"{feeding or 'input'} spikes ({shape})"
    labels[OUTPUT] = OUTPUT
    return labels
