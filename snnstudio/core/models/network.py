"""`SpikingNetwork` runs a layer stack over an input sequence and returns per-timestep outputs;
`AnnTwin` is the same architecture as an ANN (ReLU in place of every spike layer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

import torch
from spikingjelly.activation_based import base, functional
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.models import layout
from snnstudio.core.models.repeated_frames import frame_wise_prefix, run_once


class SpikingNetwork(nn.Module):
    """Wraps an architecture's layers (spiking or ANN twin) behind one calling convention.

    `forward(x_seq)` takes [T, N, ...] and returns the readout layer's output per timestep,
    [T, N, K]. The readout is a non-spiking FC layer, so the mean over t is the accumulated
    output voltage divided by t; its argmax is the predicted class. Neuron state is reset
    before every sequence, so callers never see state leak between batches.

    The SNN runs in spikingjelly's single-step mode (a Python loop over t) or multi-step mode
    (each layer sees the whole sequence); which one is faster depends on the device
    (benchmarks/train_cost.py).
    """

    spiking = True  # False for the ANN twin (AnnTwin)

    def __init__(
        self, layers: nn.Sequential, step_mode: str = "s", channels_last: bool = False
    ) -> None:
        super().__init__()
        self.layers = layers
        self.channels_last = channels_last  # on the CPU (_lay_out_weights)
        self.step_mode = "s"
        # each batch-norm layer's own momentum (per single-step update), and the T it is set for
        self._bn_momentum = {
            m: m.momentum for m in layers.modules() if isinstance(m, _BatchNorm) and m.momentum
        }
        self._bn_timesteps = 1
        self.set_step_mode(step_mode)
        self._lay_out_weights()

    def set_step_mode(self, step_mode: str) -> None:
        if step_mode not in ("s", "m"):
            raise ValueError(f"step mode must be 's' or 'm', got {step_mode!r}")
        functional.set_step_mode(self.layers, step_mode)
        self.step_mode = step_mode
        self._match_batch_norm(1)

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> Self:
        """Every move or cast (`to`, `cpu`, `cuda`, ...) lays the weights out for the device."""
        super()._apply(fn, recurse)
        self._lay_out_weights()
        return self

    def _lay_out_weights(self) -> None:
        """With `channels_last`, the convolution weights are channels-last on the CPU, so that
        every frame from the first convolution on is [N, H, W, C] in memory (oneDNN follows
        the weights), and in torch's default layout on other devices. Without it (and until
        measured otherwise, on a GPU), the layout is torch's default.

        On the CPU, torch's max-pool is 4-8x and its training-mode batch norm about 2x faster
        channels-last (measured on the CSNN's frames, T x N = 256); the fused neuron step and
        the spike-count max-pool run in the layout they are given. Which architectures ask
        for it: registry.ARCHS.
        """
        weight = next(self.layers.parameters(), None)
        if not self.channels_last or weight is None:
            return
        cpu = weight.device.type == "cpu"
        self.layers.to(memory_format=torch.channels_last if cpu else torch.contiguous_format)

    def _match_batch_norm(self, timesteps: int) -> None:
        """Multi-step batch norm sees all T x N inputs of a batch at once and updates its
        running statistics once, where single-step mode updates them T times (once per t).
        With momentum m per single-step update, one multi-step update of 1 - (1 - m)^T moves
        them as far, so a short multi-step run ends with statistics as close to the data's
        as a single-step one (without it the evaluated network went silent).
        """
        if timesteps == self._bn_timesteps:
            return
        for module, momentum in self._bn_momentum.items():
            if module.momentum is not None:  # None: a cumulative average (precise_bn.py)
                module.momentum = 1 - (1 - momentum) ** timesteps
        self._bn_timesteps = timesteps

    def forward(
        self, x_seq: torch.Tensor, cancel: CancelToken | None = None, stop: int | None = None
    ) -> torch.Tensor:
        """`cancel` is checked between timesteps (single-step mode) or between layers
        (multi-step mode), so Stop acts within a long batch: it raises Cancelled. With
        `stop`, only the layers before it run (their output is returned)."""
        functional.reset_net(self.layers)
        if self.step_mode == "m":
            self._match_batch_norm(len(x_seq))
            start = min(self.repeated_frame_prefix(x_seq), len(self.layers[:stop]))
            if start:
                x_seq = run_once(list(self.layers)[:start], x_seq[:1], len(x_seq), cancel)
            return self.continue_sequence(x_seq, start, stop, cancel)
        layers = self.layers if stop is None else self.layers[:stop]
        outputs = []
        for x_t in x_seq:
            check_cancel(cancel)
            outputs.append(layers(x_t))
        return torch.stack(outputs)

    def repeated_frame_prefix(self, x_seq: torch.Tensor) -> int:
        """How many leading layers run once for a sequence that repeats one frame (stride 0
        over t: repeat coding of static images), their output repeated as a view
        (repeated_frames.py): the frame-wise prefix, else 0."""
        if len(x_seq) < 2 or x_seq.stride(0) != 0:
            return 0
        return frame_wise_prefix(self.layers)

    def stateless_prefix(self) -> int:
        """How many leading layers hold no state between timesteps (those before the first
        neuron or other memory module): fed the same input at every t, in inference, they
        give the same output at every t."""
        for index, module in enumerate(self.layers):
            if any(isinstance(m, base.MemoryModule) for m in module.modules()):
                return index
        return len(self.layers)

    def continue_sequence(
        self,
        x_seq: torch.Tensor,
        start: int = 0,
        stop: int | None = None,
        cancel: CancelToken | None = None,
    ) -> torch.Tensor:
        """Layers [start, stop) over the multi-step chunk `x_seq` [t, N, ...], carrying on from
        the state the previous chunk left (no reset: call `functional.reset_net` first);
        `cancel` is checked between layers."""
        if self.step_mode != "m":
            raise ValueError("continue_sequence runs in multi-step mode (set_step_mode('m'))")
        for module in self.layers[start:stop]:
            check_cancel(cancel)
            x_seq = module(layout.into(module, x_seq))
        return x_seq

    def classify(self, x_seq: torch.Tensor, cancel: CancelToken | None = None) -> torch.Tensor:
        """Logits from the mean readout over all timesteps, shape [N, K]."""
        return self(x_seq, cancel).mean(0)


class AnnTwin(SpikingNetwork):
    """The ANN twin of an architecture (LR_C, LR_H): ReLU in place of every spike layer, the
    same parameter names, so its state_dict loads into the SNN for conversion.

    It keeps the SNN's calling convention ([T, N, ...] in, [T, N, K] out) and evaluates each
    frame on its own: with no state between timesteps, every t gives the same output for
    repeated static input.
    """

    spiking = False

    def __init__(self, layers: nn.Sequential, channels_last: bool = False) -> None:
        super().__init__(layers, "s", channels_last)

    def forward(
        self, x_seq: torch.Tensor, cancel: CancelToken | None = None, stop: int | None = None
    ) -> torch.Tensor:
        x = x_seq.flatten(0, 1)
        for module in self.layers[:stop]:
            x = module(layout.into(module, x))
        return x.unflatten(0, x_seq.shape[:2])
