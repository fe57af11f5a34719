"""Batch-norm statistics recomputed on training data after each epoch ("precise BN").

Batch norm normalises a training batch by its own statistics but an evaluated network by
running averages (momentum 0.1, about the last 10-20 batches). When the weights move fast,
as under Adam at the paper's lr 1e-3 early in training, those averages lag the weights they
describe, and the evaluated network is a different function from the one trained. Measured
on a plain torch VGG11 (conv-BN-ReLU, 1024-wide FC-BN head), MNIST 3000 / 500, one epoch of
Adam 1e-3: ACC 0.110 with the running averages, 0.847 in training mode, 0.898 after the
statistics were recomputed over 1024 training images. Recomputing them with the weights
fixed (Wu and Johnson 2021, "Rethinking 'Batch' in BatchNorm", section 3) costs one forward
pass over those samples, no gradients.

Written here rather than taken from fvcore (`precise_bn.update_bn_stats`) because the
samples must be encoded into spike sequences and the network's multi-step batch norm sees
T x N values per call; the averaging is torch's own (momentum None: a cumulative mean).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet, seeded_subset
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.models.network import SpikingNetwork

BATCH = 64  # samples per recalibration batch: the training batch the paper uses


def trainable_batch_norms(net: nn.Module) -> list[_BatchNorm]:
    """The BN layers whose statistics training moves (those tracking running statistics)."""
    return [m for m in net.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


def batch_norm_stop(net: SpikingNetwork) -> int:
    """How many leading layers of `net` the recalibration pass runs: up to the last one
    holding a trainable batch norm (the layers after it cannot change the statistics; the
    CSNN's second spike layer, pool and FC head were about a third of the pass)."""
    holds = [bool(trainable_batch_norms(layer)) for layer in net.layers]
    return len(holds) - holds[::-1].index(True) if any(holds) else 0


@torch.no_grad()
def recompute_batch_norm_statistics(
    net: SpikingNetwork,
    samples: SampleSet,
    limit: int,
    timesteps: int,
    encoder: str,
    device: torch.device,
    seed: int,
    cancel: CancelToken | None = None,
) -> int:
    """Replace every BN layer's running mean and variance by their average over a seeded
    subset of `limit` samples (all when fewer), encoded over `timesteps` (1 for an ANN
    twin, as it trains), the weights fixed. Returns how many samples
    were read (0: nothing to do). The network is left in training mode, as it was found."""
    norms = trainable_batch_norms(net)
    if not norms or limit <= 0 or len(samples) < 2:
        return 0
    subset = seeded_subset(samples, limit, seed)
    momenta = [m.momentum for m in norms]
    net.eval()  # dropout and every other layer as in inference
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calls below
        m.train()
    stop = batch_norm_stop(net)
    try:
        for batch in iterate_batches(subset, BATCH, device, fold_single_tail=True):
            check_cancel(cancel)
            net(encode_batch(batch.x, timesteps, encoder), stop=stop)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        net.train()
    return len(subset)
