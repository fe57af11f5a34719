"""Our spiking VGG11 / ResNet18 beside spikingjelly's own, trained alike (LR_B).

spikingjelly ships a spiking VGG11 with batch norm (`spiking_vgg11_bn`) and a spiking
ResNet18 (`spiking_resnet18`) in `spikingjelly.activation_based.model`. Both sides here get
the same poisoned MNIST subset, LIF neurons (tau 2, sigmoid surrogate alpha 4), T, batch,
Adam at the paper's lr and epochs, and are trained and scored by the same loop
(`training.train_epochs`, inference-mode ACC/ASR after every epoch), in one process.

What was changed in spikingjelly's models, and why (they are ImageNet models):
- the first convolution reads 1 channel (MNIST), not 3;
- VGG11: five 2x2 max-pools need a side of 32, so MNIST is zero-padded to 32x32 for *both*
  sides; its adaptive average pool to 7x7 and first FC layer (25088 -> 4096) read the 1x1
  map as 1x1 (512 -> 4096), since a 7x7 copy of one value only multiplies the FC layer's
  cost by 49. Its 4096-wide head with dropout 0.5 stays.
- spikingjelly's model module imports torchvision at import time, which does not load beside
  this torch; a stand-in `torchvision.models.utils` module is put in sys.modules first (only
  `load_state_dict_from_url`, for pretrained weights, which are never asked for).

    python benchmarks/spikingjelly_models.py --arch vgg11 --train 6000 --test 1000 --epochs 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn

from snnstudio.core import config as config_io
from snnstudio.core.data.base import SampleSet
from snnstudio.core.events import EpochDone
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.registry import build_network
from snnstudio.core.runner import prepare_data
from snnstudio.core.training import EvalSets, TrainSettings, train_epochs

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def spikingjelly_models() -> tuple[types.ModuleType, types.ModuleType]:
    """spikingjelly's spiking_vgg and spiking_resnet modules, imported without torchvision."""
    stand_in = types.ModuleType("torchvision.models.utils")

    def load_state_dict_from_url(*args: object, **kwargs: object) -> None:
        raise RuntimeError("pretrained weights are not used by this benchmark")

    stand_in.load_state_dict_from_url = load_state_dict_from_url  # type: ignore[attr-defined]
    for name in ("torchvision", "torchvision.models"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["torchvision.models.utils"] = stand_in
    from spikingjelly.activation_based.model import spiking_resnet, spiking_vgg

    return spiking_vgg, spiking_resnet


def theirs(arch: str, num_classes: int) -> nn.Module:
    from spikingjelly.activation_based import layer, neuron, surrogate

    spiking_vgg, spiking_resnet = spikingjelly_models()
    kwargs = {
        "spiking_neuron": neuron.LIFNode,
        "tau": 2.0,
        "surrogate_function": surrogate.Sigmoid(alpha=4.0),
        "num_classes": num_classes,
    }
    if arch == "vgg11":
        net = spiking_vgg.spiking_vgg11_bn(**kwargs)
        net.features[0] = layer.Conv2d(1, 64, kernel_size=3, padding=1)
        net.avgpool = layer.AdaptiveAvgPool2d((1, 1))
        net.classifier[0] = layer.Linear(512, 4096)
    else:
        net = spiking_resnet.spiking_resnet18(**kwargs)
        net.conv1 = layer.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    for module in net.modules():  # the replaced layers get their init
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)
    return net


def padded(samples: SampleSet, side: int) -> SampleSet:
    pad = (side - samples.x.shape[-1]) // 2
    if pad <= 0:
        return samples
    x = np.pad(samples.x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return SampleSet(x, samples.y, samples.original_y, samples.is_poison)


def train(net: SpikingNetwork, train_set: SampleSet, sets: EvalSets, args: argparse.Namespace):
    settings = TrainSettings(
        args.epochs, args.lr, args.batch, args.timesteps, "repeat", 0.5, 0.5, seed=0,
        bn_samples=args.bn_samples,
    )  # fmt: skip
    rows = []
    for event in train_epochs(net, train_set, sets, settings, torch.device("cpu"), "bench", None):
        if isinstance(event, EpochDone):
            rows.append(event)
            print(
                f"  epoch {event.epoch}: ACC {event.acc:.4f} ASR {event.asr:.4f} "
                f"loss {event.loss:.3f} ({event.seconds:.1f} s)",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("vgg11", "resnet18"), default="vgg11")
    parser.add_argument("--mnist-root", default=str(SHARED_MNIST))
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--timesteps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam (the paper's LR_B)")
    parser.add_argument(
        "--bn-samples",
        type=int,
        default=1024,
        help="precise-BN samples after each epoch, both sides (0 = off)",
    )
    parser.add_argument("--sides", default="ours,theirs")
    args = parser.parse_args()
    cfg = config_io.with_overrides(config_io.load_preset("demo"), [
        "data.name=mnist", f"data.root={args.mnist_root}", f"data.train_limit={args.train}",
        f"data.test_limit={args.test}",
    ])  # fmt: skip
    data = prepare_data(cfg)
    side = 32 if args.arch == "vgg11" else data.splits.image_shape[-1]
    train_set = padded(data.poisoned_train, side)
    sets = EvalSets(
        padded(data.sets.test, side), padded(data.sets.triggered_test, side), data.sets.target
    )
    print(
        f"{args.arch}, MNIST {len(train_set)} / {len(sets.test)} at {side}x{side}, PR 0.1, "
        f"T {args.timesteps}, batch {args.batch}, Adam {args.lr}, {args.epochs} epochs, "
        f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}"
    )
    summary = {}
    for who in args.sides.split(","):
        torch.manual_seed(0)
        if who == "ours":
            model_cfg = config_io.ModelConfig(arch=args.arch)
            net = build_network(model_cfg, (1, side, side), 10, True, "m")
        else:
            net = SpikingNetwork(nn.Sequential(theirs(args.arch, 10)), "m")
        params = sum(p.numel() for p in net.parameters())
        print(f"{who}: {params / 1e6:.1f} M parameters", flush=True)
        started = time.perf_counter()
        rows = train(net, train_set, sets, args)
        total = time.perf_counter() - started
        summary[who] = (rows[-1].acc, rows[-1].asr, total / len(rows))
    print("\nside     ACC     ASR     s/epoch (training + its evaluation)")
    for who, (acc, asr, per_epoch) in summary.items():
        print(f"{who:8} {acc:.4f}  {asr:.4f}  {per_epoch:.1f}")
    if len(summary) == 2:
        (a, _, ta), (b, _, tb) = summary.values()
        print(f"ACC ours - theirs {a - b:+.4f}; speed ours / theirs {tb / ta:.2f}x")


if __name__ == "__main__":
    main()
