"""Our ANN -> SNN conversion beside spikingjelly's `ann2snn.Converter` on full MNIST, and both
beside spikingjelly's published MNIST table (issue 11's anchor: ANN 98.70% -> T = 50 MaxNorm
97.7%, 99.9th percentile 98.4%).

One clean ANN twin (the CSNN by default) is trained on the MNIST training set; both converters
calibrate on the same reference samples and are scored on the same test images after T steps.
The published numbers come from spikingjelly's own tutorial network, not ours, so they anchor
the size of the conversion loss (ANN minus SNN), not the absolute accuracy.

    python benchmarks/spikingjelly_anchor.py                   # 60k / 10k, T = 50
    python benchmarks/spikingjelly_anchor.py --train 6000 --test 1000 --epochs 2
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
from snnstudio.core.rules.conversion import reference_set

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
PUBLISHED = {"ann": 0.9870, "max": 0.977, "robust": 0.984}  # spikingjelly's ann2snn tutorial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-root", default=str(SHARED_MNIST))
    parser.add_argument("--arch", default="csnn")
    parser.add_argument("--train", type=int, default=0, help="0 = all 60000")
    parser.add_argument("--test", type=int, default=0, help="0 = all 10000")
    parser.add_argument("--epochs", type=int, default=3, help="ANN epochs (SGD, the rule's lr)")
    parser.add_argument("--timesteps", type=int, default=50)
    parser.add_argument("--reference-samples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not Path(args.mnist_root).is_dir():
        raise SystemExit(f"needs real MNIST in {args.mnist_root}")
    torch.set_num_threads(args.threads)
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"),
        ["data.name=mnist", f"data.root={args.mnist_root}", f"data.train_limit={args.train}",
         f"data.test_limit={args.test}", f"model.arch={args.arch}", "rule.name=conversion",
         "poison.rate=0", "train.clean_twin=false", f"rule.ann_epochs={args.epochs}",
         f"rule.reference_samples={args.reference_samples}"],
    )  # fmt: skip
    print(f"load average at start: {os.getloadavg()[0]:.2f}; torch threads {args.threads}")
    trained = train_ann_twin(cfg, stage="clean")
    data, ctx, ann, ann_metrics = trained.data, trained.ctx, trained.ann, trained.metrics
    print(
        f"MNIST {len(data.poisoned_train)} train / {len(data.sets.test)} test, {args.arch}, "
        f"ANN {args.epochs} epochs in {trained.seconds:.0f} s: "
        f"ACC {ann_metrics['acc']:.4f} (spikingjelly's tutorial ANN {PUBLISHED['ann']:.4f})"
    )
    started = time.perf_counter()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/
    from tests.core.reference_conversion import compare_with_spikingjelly  # a test oracle

    scores = compare_with_spikingjelly(ctx, ann, reference_set(ctx, "clean"), args.timesteps)
    print(f"T = {args.timesteps} ({time.perf_counter() - started:.0f} s for both converters)")
    print("norm     ours    ann2snn  published  loss: ours  ann2snn  published")
    for norm, (ours, theirs) in scores.items():
        published = PUBLISHED[norm]
        print(
            f"{norm:<8} {ours:.4f}  {theirs:.4f}   {published:.4f}     "
            f"{ann_metrics['acc'] - ours:+.4f}  {ann_metrics['acc'] - theirs:+.4f}  "
            f"{PUBLISHED['ann'] - published:+.4f}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
