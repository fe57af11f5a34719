"""`SpikingNetwork`: runs a layer stack over an input sequence and returns per-timestep outputs."""

from __future__ import annotations

import torch
from spikingjelly.activation_based import functional
from torch import nn


class SpikingNetwork(nn.Module):
    """Wraps an architecture's layers (spiking or ANN twin) behind one calling convention.

    `forward(x_seq)` takes [T, N, ...] and returns the readout layer's output per timestep,
    [T, N, K]. The readout is a non-spiking FC layer, so the mean over t is the accumulated
    output voltage divided by t; its argmax is the predicted class. Neuron state is reset
    before every sequence, so callers never see state leak between batches.

    The SNN runs in spikingjelly's single-step mode (a Python loop over t) or multi-step mode
    (each layer sees the whole sequence); which one is faster depends on the device
    (benchmarks/train_cost.py). The ANN twin (`spiking=False`) is evaluated per frame.
    """

    def __init__(self, layers: nn.Sequential, spiking: bool, step_mode: str = "s") -> None:
        super().__init__()
        self.layers = layers
        self.spiking = spiking
        self.step_mode = "s"
        self.set_step_mode(step_mode)

    def set_step_mode(self, step_mode: str) -> None:
        if step_mode not in ("s", "m"):
            raise ValueError(f"step mode must be 's' or 'm', got {step_mode!r}")
        functional.set_step_mode(self.layers, step_mode)
        self.step_mode = step_mode

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not self.spiking:
            return self.layers(x_seq.flatten(0, 1)).unflatten(0, x_seq.shape[:2])
        functional.reset_net(self.layers)
        if self.step_mode == "m":
            return self.layers(x_seq)
        return torch.stack([self.layers(x_t) for x_t in x_seq])

    def classify(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Logits from the mean readout over all timesteps, shape [N, K]."""
        return self(x_seq).mean(0)
