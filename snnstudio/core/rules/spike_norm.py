"""Spike-Norm (Sengupta et al. 2019): thresholds from the inputs the SNN's own IF neurons get.

Layer by layer, from the first spike layer to the last: run the SNN (the layers before spike
layer l, with their thresholds already set) on the reference data for T timesteps, record
the largest input current any neuron of layer l receives at any timestep, and make that
(times the scale factor) layer l's threshold. Unlike MaxNorm, the statistic comes from the
spiking network itself, so it accounts for the rate-coding error of the layers before it.

Not in any library (spikingjelly has no Spike-Norm): written here.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import functional

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.rules.threshold_balancing import CALIBRATION_BATCH, set_threshold, spike_slots


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

    Thresholds are in the units of `threshold_balancing`: the layer after spike layer l has
    its weights multiplied by theta_l, so the input current of layer l + 1 is in ANN units
    and the spike trains are those of Sengupta's unit-spike formulation.
    """
    was_training = snn.training
    snn.eval()
    thresholds = []
    try:
        for slot in spike_slots(snn.layers):
            prefix = snn.layers[: slot.activation]
            peak = torch.zeros((), device=device)
            generator = torch.Generator(device=device).manual_seed(seed)
            for batch in iterate_batches(reference, CALIBRATION_BATCH, device):
                check_cancel(cancel)
                functional.reset_net(prefix)
                x_seq = encode_batch(batch.x, timesteps, encoder, generator)
                if snn.step_mode == "m":
                    peak = torch.maximum(peak, prefix(x_seq).max())
                else:
                    for x_t in x_seq:
                        peak = torch.maximum(peak, prefix(x_t).max())
            thresholds.append(set_threshold(snn, slot, scale * float(peak)))
    finally:
        functional.reset_net(snn.layers)
        snn.train(was_training)
    return thresholds
