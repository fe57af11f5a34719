"""One-pass all-t evaluation of a converted SNN against a single evaluation at T_max.

The LR_C curve (ACC and ASR after every t = 1..T_max) is read from ONE forward pass per test
set: the readout is accumulated over t and its argmax taken after each t. This script
measures that pass against the plain evaluation at T_max alone (the cost of a single point),
on the same converted network and the same test sets, alternating the two so that machine
load hits both alike, and prints

    ratio = (one-pass all-t) / (single T_max)      target <= 1.05

Each figure is the fastest of --repeats runs (the least disturbed one on a shared machine).
Data: real MNIST from ../shared/data/mnist when present (test subset), else the embedded
digits (the output says which). The ANN is trained briefly; the timing does not depend on
how well, the comparison is what matters.

    python benchmarks/conversion_curve.py [--timesteps 64] [--test 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from trained_ann import train_ann_twin

from snnstudio.core import config as config_io
from snnstudio.core.metrics import predict, timestep_scores
from snnstudio.core.rules.conversion import convert, reference_set

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=64, help="T_max")
    parser.add_argument("--test", type=int, default=500, help="clean test samples")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    overrides = [
        f"data.test_limit={args.test}", "data.train_limit=2000", "rule.name=conversion",
        "rule.ann_epochs=1", "rule.reference_samples=256", "train.clean_twin=false",
    ]  # fmt: skip
    mnist = SHARED_DATA / "mnist"
    if mnist.is_dir():
        overrides += ["data.name=mnist", f"data.root={mnist}"]
    cfg = config_io.with_overrides(config_io.load_preset("demo"), overrides)
    trained = train_ann_twin(cfg)
    data, ctx, ann, device = trained.data, trained.ctx, trained.ann, trained.ctx.device
    snn = convert(ctx, ann, reference_set(ctx, "poisoned"), args.timesteps)
    sets, steps = data.sets, args.timesteps

    def all_t() -> None:
        timestep_scores(snn, sets.test, sets.triggered_test, sets.target, steps, "repeat", device)

    def single() -> None:
        for samples in (sets.test, sets.triggered_test):
            predict(snn, samples, steps, "repeat", device)

    best = {"all-t": float("inf"), "single": float("inf")}
    for _ in range(args.repeats):
        for name, job in (("single", single), ("all-t", all_t)):
            started = time.perf_counter()
            job()
            best[name] = min(best[name], time.perf_counter() - started)
    samples = len(sets.test) + len(sets.triggered_test)
    print(f"data: {cfg.data.name} ({samples} test samples: clean + triggered), T_max = {steps}")
    load = os.getloadavg()[0]
    print(f"load average: {load:.2f} (1 min), torch threads {torch.get_num_threads()}")
    print(f"single evaluation at T_max:   {best['single']:.3f} s")
    print(f"one-pass curve t = 1..T_max:  {best['all-t']:.3f} s  ({steps} points)")
    print(f"ratio = {best['all-t'] / best['single']:.3f}  (target <= 1.05)")


if __name__ == "__main__":
    main()
