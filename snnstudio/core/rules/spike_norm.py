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

import torch
from spikingjelly.activation_based import functional
from torch import nn

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.metrics import eval_batch_size
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.rules.threshold_balancing import (
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
) -> list[float]:
    """Set the thresholds of `snn` (IF, soft reset, weights of its ANN) in place; return them.

    Thresholds are in the units of `threshold_balancing`: the readers of spike layer l have
    their weights multiplied by theta_l, so the input current of layer l + 1 is in ANN units
    and the spike trains are those of Sengupta's unit-spike formulation.
    """
    was_training = snn.training
    snn.eval()
    thresholds = []
    # the evaluation's sample-step budget (a multi-step layer holds its whole sequence): for
    # ResNet18 on 128 MNIST samples at T = 64, 1 thread, batches of 128 peaked at 9.3 GB and
    # took 221 s, of 8 at 1.4 GB and 148 s, same thresholds (1000 samples at 256 got OOM-killed)
    batch_size = eval_batch_size(timesteps, device)
    try:
        for slot in spike_slots(snn.layers):
            peak = torch.zeros((), device=device)

            def record(module: nn.Module, args: tuple) -> None:
                nonlocal peak
                peak = torch.maximum(peak, args[0].max())
                raise _Reached

            handle = spike_layer(snn, slot).register_forward_pre_hook(record)
            generator = torch.Generator(device=device).manual_seed(seed)
            try:
                for batch in iterate_batches(reference, batch_size, device):
                    check_cancel(cancel)
                    x_seq = encode_batch(batch.x, timesteps, encoder, generator)
                    if snn.step_mode == "m":  # the network's forward: a repeated frame's
                        with contextlib.suppress(_Reached):  # prefix runs once
                            snn(x_seq)
                        continue
                    functional.reset_net(snn.layers)
                    for x in x_seq:
                        with contextlib.suppress(_Reached):
                            snn.layers(x)
            finally:
                handle.remove()
            thresholds.append(set_threshold(snn, slot, scale * float(peak)))
    finally:
        functional.reset_net(snn.layers)
        snn.train(was_training)
    return thresholds
