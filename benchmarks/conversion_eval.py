"""The LR_C one-pass ACC/ASR curve at the paper's T = 400 against its floor.

The curve (ACC and ASR after every t = 1..T, `metrics.timestep_scores`, what LR_C and LR_H
report) is timed on a converted SNN, and beside it, in the same run and alternating with it,
its floor: the ANN twin (the same net with ReLU) over the same images, one forward pass per
timestep, at the same batch size, in inference mode. It prints seconds per 1000 images
(clean and triggered test images together) for both and

    ratio = SNN curve / floor (ANN forward x T)

Data: real MNIST from ../shared/data/mnist or --mnist (skipped with a message when it is
absent). The ANN is trained for one epoch on --train poisoned images (PR 0.1, white 2x2
trigger, target 0), converted with MaxNorm on 256 poisoned reference images; ACC/ASR at T
are printed beside the ANN's. Each figure is the fastest of --repeats runs.

    python benchmarks/conversion_eval.py --arch csnn --test 1000
    python benchmarks/conversion_eval.py --arch vgg11 --test 50
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from trained_ann import train_ann_twin

from snnstudio.core import config as config_io
from snnstudio.core import metrics
from snnstudio.core.batches import iterate_batches
from snnstudio.core.data.base import SampleSet
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.rules.conversion import convert, reference_set

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CPU = torch.device("cpu")


def ann_floor(ann: SpikingNetwork, sets: list[SampleSet], timesteps: int, batch: int) -> None:
    """The ANN twin's forward pass, `timesteps` times per batch, in inference mode."""
    ann.eval()
    with torch.inference_mode():
        for samples in sets:
            for chunk in iterate_batches(samples, batch, CPU):
                for _ in range(timesteps):
                    ann.layers(chunk.x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="csnn", choices=["csnn", "vgg11"])
    parser.add_argument("--timesteps", type=int, default=400, help="T_max of the curve")
    parser.add_argument("--test", type=int, default=1000, help="clean test images")
    parser.add_argument("--train", type=int, default=4000, help="ANN training images")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--mnist", type=Path, default=SHARED_DATA / "mnist", help="MNIST folder")
    parser.add_argument("--batch", type=int, default=metrics.CURVE_BATCH, help="images/batch")
    parser.add_argument(
        "--chunk-steps", type=int, default=metrics.CURVE_CHUNK_SAMPLE_STEPS,
        help="images x timesteps per multi-step chunk of the curve",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    mnist = args.mnist
    if not mnist.is_dir():
        sys.exit(f"skipped: real MNIST not found at {mnist}")
    metrics.CURVE_BATCH = args.batch
    metrics.CURVE_CHUNK_SAMPLE_STEPS = args.chunk_steps

    overrides = [
        f"data.test_limit={args.test}", f"data.train_limit={args.train}", "data.name=mnist",
        f"data.root={mnist}", f"model.arch={args.arch}", "rule.name=conversion",
        "rule.ann_epochs=1", "rule.reference_samples=256", "train.clean_twin=false",
    ]  # fmt: skip
    cfg = config_io.with_overrides(config_io.load_preset("demo"), overrides)
    twin = train_ann_twin(cfg, step_mode="m", device=CPU)
    data, ctx, ann, ann_scores, trained = twin.data, twin.ctx, twin.ann, twin.metrics, twin.seconds
    snn = convert(ctx, ann, reference_set(ctx, "poisoned"), args.timesteps)
    sets, steps = data.sets, args.timesteps
    images = len(sets.test) + len(sets.triggered_test)

    scores: list[metrics.TimestepScores] = []

    def curve() -> None:
        scores.append(
            metrics.timestep_scores(
                snn, sets.test, sets.triggered_test, sets.target, steps, "repeat", CPU
            )
        )

    def floor() -> None:
        ann_floor(ann, [sets.test, sets.triggered_test], steps, args.batch)

    best = {"curve": float("inf"), "floor": float("inf")}
    loads = []
    for _ in range(args.repeats):
        for name, job in (("curve", curve), ("floor", floor)):
            loads.append(os.getloadavg()[0])
            begun = time.perf_counter()
            job()
            best[name] = min(best[name], time.perf_counter() - begun)
    loads.append(os.getloadavg()[0])
    per_k = {name: seconds * 1000 / images for name, seconds in best.items()}
    at = scores[-1].summary()
    print(f"data: mnist, {len(sets.test)} clean + {len(sets.triggered_test)} triggered test "
          f"images, T = {steps}, arch {args.arch}, batch {args.batch}, "
          f"chunk {max(1, args.chunk_steps // args.batch)} timesteps, "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    print(f"ANN (1 epoch, {len(ctx.train_set)} images, {trained:.0f} s): "
          f"ACC {ann_scores['acc']:.3f} ASR {ann_scores['asr']:.3f}; "
          f"SNN at T = {steps}: ACC {at['acc']:.3f} ASR {at['asr']:.3f} "
          f"(best ACC {at['best_t_acc']:.3f} at t = {at['best_t']})")  # fmt: skip
    print(f"load average (1 min) during the timed runs: {min(loads):.2f}..{max(loads):.2f}")
    print(f"SNN curve t = 1..{steps}:  {per_k['curve']:.1f} s per 1000 images")
    print(f"floor (ANN forward x {steps}): {per_k['floor']:.1f} s per 1000 images")
    print(f"ratio curve / floor = {best['curve'] / best['floor']:.3f}")


if __name__ == "__main__":
    main()
