"""spikingjelly 2.0's own ANN -> SNN converter, run on our ANN twin: a yardstick for
`conversion.convert` that rests on code we did not write (a test oracle: the product never
uses it; tests/core/test_reference_conversion.py and benchmarks/spikingjelly_anchor.py do).

`ann2snn.Converter(RateCodingRecipe(loader, mode))` FX-traces a network of plain torch
layers (it fails on spikingjelly's `layer.BatchNorm2d`), fuses batch norm into the conv before
it, and puts an IF node of threshold 1 between a 1/theta and a theta scaler at each ReLU
(mode 'Max': theta is the largest activation; '99.9%': that percentile). Max-pools stay
where they are, after the IF nodes. Importing `ann2snn` does not import torchvision.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from spikingjelly.activation_based import ann2snn, functional
from torch import nn

from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.metrics import accuracy, predict
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.rules.context import RuleContext
from snnstudio.core.rules.conversion import convert
from snnstudio.core.rules.threshold_balancing import CALIBRATION_BATCH

MODES = {"max": "Max", "robust": "99.9%"}  # our rule.norm -> the converter's mode


def plain_torch_layers(ann: SpikingNetwork) -> nn.Sequential:
    """A copy of a plain ANN layer stack with each spikingjelly layer turned into the torch
    layer it extends (same weights; only the step-mode attribute is left behind)."""
    layers = []
    for module in ann.layers:
        if any(True for _ in module.children()):
            raise ValueError(f"{type(module).__name__}: the reference needs a plain layer stack")
        base = next(c for c in type(module).__mro__ if c.__module__.startswith("torch.nn"))
        copied = copy.deepcopy(module)
        copied.__class__ = base
        layers.append(copied)
    return nn.Sequential(*layers).eval()


@torch.no_grad()
def spikingjelly_conversion(ann: SpikingNetwork, reference: SampleSet, norm: str) -> nn.Module:
    """The converter's SNN of `ann` (single-step), calibrated on `reference`."""
    loader = [
        (batch.x, batch.y)
        for batch in iterate_batches(reference, CALIBRATION_BATCH, torch.device("cpu"))
    ]
    recipe = ann2snn.RateCodingRecipe(loader, mode=MODES[norm])
    return ann2snn.Converter(recipe, device="cpu").convert(plain_torch_layers(ann))


@torch.no_grad()
def compare_with_spikingjelly(
    ctx: RuleContext, ann: SpikingNetwork, reference: SampleSet, timesteps: int
) -> dict[str, tuple[float, float]]:
    """Per norm ('max', 'robust'): (our converted SNN's ACC, the converter's ACC) after
    `timesteps` steps, both from `ann` calibrated on `reference`, on the context's test set.
    Leaves ctx.cfg.rule.norm at the last norm."""
    out = {}
    for norm in MODES:
        theirs = accuracy_at(
            spikingjelly_conversion(ann, reference, norm), ctx.sets.test, timesteps
        )
        ctx.cfg.rule.norm = norm
        snn = convert(ctx, ann, reference, timesteps)
        ours = predict(snn, ctx.sets.test, timesteps, ctx.cfg.sim.encoder, ctx.device)
        out[norm] = (accuracy(ours, ctx.sets.test.y), theirs)
    return out


@torch.no_grad()
def accuracy_at(snn: nn.Module, test: SampleSet, timesteps: int) -> float:
    """ACC of a single-step SNN fed the static image for `timesteps` steps (repeat coding),
    read from the readout accumulated over them."""
    predictions = []
    for batch in iterate_batches(test, CALIBRATION_BATCH, torch.device("cpu")):
        functional.reset_net(snn)
        total = sum(snn(batch.x) for _ in range(timesteps))
        predictions.append(total.argmax(-1).numpy())
    return accuracy(np.concatenate(predictions), test.y)
