"""Spike-Norm (Sengupta et al. 2019): thresholds from the inputs the SNN's own IF neurons get.

Layer by layer, from the first spike layer to the last: run the SNN (the layers before spike
layer l, with their thresholds already set) on the reference data for T timesteps, record
the largest input current any neuron of layer l receives at any timestep, and make that
(times the scale factor) layer l's threshold. Unlike MaxNorm, the statistic comes from the
spiking network itself, so it accounts for the rate-coding error of the layers before it.
The forward pass stops at layer l (a hook records its input and raises), so a spike layer
inside a residual block is calibrated like any other, with both of its paths.

Not in any library (spikingjelly has no Spike-Norm): written here.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch
from spikingjelly.activation_based import functional
from torch import nn

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.config import SPIKE_SCALINGS
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.metrics import eval_batch_size
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.rules.threshold_balancing import (
    rescale_threshold,
    set_threshold,
    spike_layer,
    spike_slots,
)


class _Reached(Exception):
    """Raised by the recording hook: nothing after the calibrated layer needs to run."""


@torch.no_grad()
def spike_norm(
    snn: SpikingNetwork,
    reference: SampleSet,
    timesteps: int,
    encoder: str,
    device: torch.device,
    scale: float = 1.0,
    cancel: CancelToken | None = None,
    seed: int = 0,
    reuse_outputs: bool = True,
    scaling: str = "after",
) -> list[float]:
    """Set the thresholds of `snn` (IF, soft reset, weights of its ANN) in place; return them.

    `scaling` (rule.spike_scaling) says where `scale` enters: "after" calibrates every layer
    on the unscaled layers before it and then scales every threshold (Rathi et al.'s code,
    `find_threshold` then `threshold_update(scaling_factor)`); "layerwise" calibrates each
    layer on the already-scaled layers before it, which fire more, so the factor compounds
    with depth.

    A multi-step `snn` keeps each calibrated layer's output and runs only the next segment;
    `reuse_outputs=False` (and a single-step `snn`) runs each spike layer's whole prefix,
    the reference the first is tested and timed against (benchmarks/spike_norm_speed.py).

    Thresholds are in the units of `threshold_balancing`: the readers of spike layer l have
    their weights multiplied by theta_l, so the input current of layer l + 1 is in ANN units
    and the spike trains are those of Sengupta's unit-spike formulation.
    """
    if scaling not in SPIKE_SCALINGS:
        raise ConfigError(f"Spike-Norm scaling {scaling!r} is not one of {SPIKE_SCALINGS}")
    was_training = snn.training
    snn.eval()
    # the evaluation's sample-step budget (a multi-step layer holds its whole sequence): for
    # ResNet18 on 128 MNIST samples at T = 64, 1 thread, batches of 128 peaked at 9.3 GB and
    # took 221 s, of 8 at 1.4 GB and 148 s, same thresholds (1000 samples at 256 got OOM-killed)
    batch_size = eval_batch_size(timesteps, device)
    inputs = _EncodedInputs(
        [batch.x for batch in iterate_batches(reference, batch_size, device)],
        timesteps, encoder, seed, device,
    )  # fmt: skip
    layerwise = scale if scaling == "layerwise" else 1.0
    try:
        if snn.step_mode == "m" and reuse_outputs:
            thresholds = _calibrate_from_kept_outputs(snn, inputs, layerwise, device, cancel)
        else:
            thresholds = _calibrate_from_whole_prefix(snn, inputs, layerwise, device, cancel)
        if scaling == "after" and scale != 1.0:
            slots = spike_slots(snn.layers)
            thresholds = [rescale_threshold(snn, s, scale) for s in slots]
        return thresholds
    finally:
        functional.reset_net(snn.layers)
        snn.train(was_training)


@dataclass(frozen=True)
class _EncodedInputs:
    """The reference batches as the SNN's input sequences, encoded again on every pass from
    the same seed (a Poisson-coded reference kept whole at T = 400 would take gigabytes; the
    images take megabytes), so every spike layer sees the same input."""

    images: list[torch.Tensor]
    timesteps: int
    encoder: str
    seed: int
    device: torch.device

    def __iter__(self) -> Iterator[torch.Tensor]:
        generator = torch.Generator(device=self.device).manual_seed(self.seed)
        for x in self.images:
            yield encode_batch(x, self.timesteps, self.encoder, generator)


def _peak_input(spike: nn.Module, run: Callable[[], object]) -> torch.Tensor:
    """The largest input current `spike` receives while `run` runs (stopped on reaching it)."""
    peak: list[torch.Tensor] = []

    def record(module: nn.Module, args: tuple) -> None:
        peak.append(args[0].max())
        raise _Reached

    handle = spike.register_forward_pre_hook(record)
    try:
        with contextlib.suppress(_Reached):
            run()
    finally:
        handle.remove()
    return peak[0]


def _calibrate_from_whole_prefix(
    snn: SpikingNetwork, inputs: _EncodedInputs, scale: float, device: torch.device,
    cancel: CancelToken | None,
) -> list[float]:  # fmt: skip
    """Each layer from the whole prefix before it (single-step: one timestep at a time)."""
    thresholds = []
    for slot in spike_slots(snn.layers):
        spike, peak = spike_layer(snn, slot), torch.zeros((), device=device)
        for x_seq in inputs:
            check_cancel(cancel)
            if snn.step_mode == "m":  # the network's forward: a repeated frame's prefix once
                peak = torch.maximum(peak, _peak_input(spike, functools.partial(snn, x_seq)))
                continue
            functional.reset_net(snn.layers)
            for x in x_seq:
                peak = torch.maximum(peak, _peak_input(spike, functools.partial(snn.layers, x)))
        thresholds.append(set_threshold(snn, slot, scale * float(peak)))
    return thresholds


def _calibrate_from_kept_outputs(
    snn: SpikingNetwork, inputs: _EncodedInputs, scale: float, device: torch.device,
    cancel: CancelToken | None,
) -> list[float]:  # fmt: skip
    """Each layer from the output of the last calibrated one, kept per reference batch.

    The prefix before layer l is fixed once layer l - 1's threshold is set, so its output
    (binary spikes, bit-packed: 1/32 of the float size) is computed once and every later
    layer runs only its own segment: about two forward passes over the reference set in all,
    where running each layer's whole prefix costs half a pass per spike layer (17 for
    ResNet18).
    """
    slots = spike_slots(snn.layers)
    tops = [int(slot.activation.split(".")[0]) for slot in slots]  # top-level layer holding it
    kept: list[torch.Tensor | PackedSpikes] = []  # the input of top-level layer `start`
    start = 0  # 0: the encoded reference itself
    thresholds = []

    def sequences() -> Iterable[torch.Tensor]:
        """The input sequences of top-level layer `start`, one per reference batch."""
        return inputs if start == 0 else map(_unpack, kept)

    for index, (slot, top) in enumerate(zip(slots, tops, strict=True)):
        spike, peak = spike_layer(snn, slot), torch.zeros((), device=device)
        for x_seq in sequences():
            check_cancel(cancel)
            run = functools.partial(_run, snn, x_seq, start, top + 1)
            peak = torch.maximum(peak, _peak_input(spike, run))
        thresholds.append(set_threshold(snn, slot, scale * float(peak)))
        following = tops[index + 1] if index + 1 < len(tops) else None
        if following is None or following == top:
            continue  # the next spike layer is in the same block: it runs from the same input
        stop = top + 1  # carry on through parameter-free layers (pooling keeps spikes binary)
        while stop < following and next(snn.layers[stop].parameters(), None) is None:
            stop += 1
        following_input = []
        for x_seq in sequences():
            check_cancel(cancel)
            following_input.append(_pack(_run(snn, x_seq, start, stop)))
        kept, start = following_input, stop
    return thresholds


def _run(snn: SpikingNetwork, x_seq: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Layers [start, stop) over `x_seq` from rest (from the input: the network's forward,
    which runs a repeated frame's stateless prefix once)."""
    if start == 0:
        return snn(x_seq, stop=stop)
    functional.reset_net(snn.layers)
    return snn.continue_sequence(x_seq, start, stop)


BIT_WEIGHTS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)


@dataclass(frozen=True)
class PackedSpikes:
    """A tensor of zeros and ones as eight values per byte (torch has no packbits)."""

    bits: torch.Tensor
    shape: torch.Size
    dtype: torch.dtype


def _pack(x: torch.Tensor) -> torch.Tensor | PackedSpikes:
    """`x` bit-packed when it holds only zeros and ones (spikes), else `x` itself."""
    flat = x.reshape(-1)
    if not bool(((flat == 0) | (flat == 1)).all()):
        return x
    padded = nn.functional.pad(flat.to(torch.uint8), (0, -flat.numel() % 8)).view(-1, 8)
    bits = (padded * BIT_WEIGHTS.to(x.device)).sum(1, dtype=torch.uint8)
    return PackedSpikes(bits, x.shape, x.dtype)


def _unpack(x: torch.Tensor | PackedSpikes) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    ones = (x.bits[:, None] & BIT_WEIGHTS.to(x.bits.device)) != 0
    return ones.reshape(-1)[: x.shape.numel()].view(x.shape).to(x.dtype)
