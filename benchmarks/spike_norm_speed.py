"""Spike-Norm's calibration: keeping each calibrated layer's output against running every
spike layer's whole prefix, on the converted VGG11 or ResNet18.

Both set the same thresholds (printed: the largest relative difference); the kept outputs
(bit-packed spikes per reference batch) cost about two forward passes over the reference
set, the whole prefixes half a pass per spike layer. Prints seconds for each and

    speed-up = whole prefix / kept outputs

Data: real MNIST from ../shared/data/mnist (--mnist; the embedded digits, scaled to 28 x 28,
when absent). The weights are the architecture's initial ones (the cost of a pass does not
depend on them); one torch thread unless SNNSTUDIO_THREADS says otherwise.

    python benchmarks/spike_norm_speed.py --arch resnet18 --samples 64 --timesteps 64
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from snnstudio.core.config import DataConfig, ModelConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.data.registry import load_dataset
from snnstudio.core.models.registry import build_network
from snnstudio.core.rules.spike_norm import spike_norm

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
CPU = torch.device("cpu")


def reference_images(mnist: Path, samples: int) -> SampleSet:
    cfg = DataConfig(name="mnist", root=str(mnist), train_limit=samples, test_limit=1)
    if not mnist.is_dir():
        print(f"{mnist} is absent: the embedded digits instead")
        cfg = DataConfig(name="digits", train_limit=samples, test_limit=1)
    return load_dataset(cfg).train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18", choices=["vgg11", "resnet18"])
    parser.add_argument("--samples", type=int, default=64, help="reference images")
    parser.add_argument("--timesteps", type=int, default=64)
    parser.add_argument("--mnist", type=Path, default=SHARED_MNIST)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("SNNSTUDIO_THREADS", "1")))
    reference = reference_images(args.mnist, args.samples)
    model = ModelConfig(arch=args.arch, neuron="if", converted=True)
    torch.manual_seed(0)
    kept = build_network(model, reference.x.shape[1:], 10, True, "m").eval()
    whole = build_network(model, reference.x.shape[1:], 10, True, "m").eval()
    whole.load_state_dict(kept.state_dict())
    seconds, thresholds = {}, {}
    for name, snn, reuse in (("kept outputs", kept, True), ("whole prefix", whole, False)):
        start = time.perf_counter()
        thresholds[name] = spike_norm(
            snn, reference, args.timesteps, "repeat", CPU, reuse_outputs=reuse
        )
        seconds[name] = time.perf_counter() - start
    a, b = (np.array(t) for t in thresholds.values())
    print(
        f"{args.arch}, {len(reference)} images, T = {args.timesteps}, "
        f"{torch.get_num_threads()} thread(s), {len(a)} spike layers, load "
        f"{os.getloadavg()[0]:.1f}"
    )
    for name, value in seconds.items():
        print(f"  {name:13s} {value:7.1f} s")
    print(f"  speed-up {seconds['whole prefix'] / seconds['kept outputs']:.2f}x; thresholds "
          f"differ by at most {np.max(np.abs(a - b) / np.abs(b)):.1e} (relative)")  # fmt: skip


if __name__ == "__main__":
    main()
