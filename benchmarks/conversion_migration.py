"""The LR_C / LR_H figures of issue 3 on real MNIST: ANN ACC/ASR, converted SNN ACC/ASR/MR per
norm and scale with a poisoned and a clean reference, and LR_H Com1-Com4.

One backdoored ANN is trained and converted with every norm x scale x reference (the SNN is
scored at T_max from the one-pass curve); the LR_H rows run the registered hybrid rule itself
once per combination. Every number printed is measured in this run.

    python benchmarks/conversion_migration.py [--train 10000] [--test 2000] [--tmax 64]
        [--ann-epochs 3] [--hybrid-timesteps 8] [--snn-epochs 2] [--snn-lr 1e-3]
        [--norms max,robust,spike] [--skip-hybrid] [--pool-before-spike]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from torch import nn

from snnstudio.core import config as config_io
from snnstudio.core.events import run_to_end
from snnstudio.core.metrics import migration_rate, timestep_scores
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.rules.context import RuleContext
from snnstudio.core.rules.conversion import convert, reference_set, train_ann
from snnstudio.core.rules.hybrid import run_hybrid
from snnstudio.core.runner import prepare_data

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pool_before_spike(snn: SpikingNetwork) -> None:
    """Swap every (spike layer, max-pool) pair: the pool then takes the max of input currents
    instead of OR-ing spike trains. Weighted layers keep their indices."""
    layers = snn.layers
    for i in range(len(layers) - 1):
        if is_spiking_layer(layers[i]) and isinstance(layers[i + 1], nn.MaxPool2d):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--tmax", type=int, default=64)
    parser.add_argument("--ann-epochs", type=int, default=3)
    parser.add_argument("--hybrid-timesteps", type=int, default=8)
    parser.add_argument("--snn-epochs", type=int, default=2)
    parser.add_argument("--snn-lr", type=float, default=1e-3)
    parser.add_argument("--skip-hybrid", action="store_true")
    parser.add_argument("--norms", default="max,robust,spike", help="comma-separated")
    parser.add_argument(
        "--pool-before-spike", action="store_true",
        help="diagnostic: also score each MaxNorm SNN with every max-pool moved in front of its "
        "spike layer (the ANN is the same function: ReLU and max-pool commute)",
    )  # fmt: skip
    args = parser.parse_args()
    mnist = SHARED_DATA / "mnist"
    if not mnist.is_dir():
        raise SystemExit(f"needs real MNIST in {mnist}")
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"),
        ["data.name=mnist", f"data.root={mnist}", f"data.train_limit={args.train}",
         f"data.test_limit={args.test}", "poison.rate=0.1", "train.clean_twin=false",
         f"rule.ann_epochs={args.ann_epochs}", f"sim.eval_timesteps={args.tmax}",
         f"sim.timesteps={args.hybrid_timesteps}", f"train.epochs={args.snn_epochs}",
         f"train.lr={args.snn_lr}", "train.batch_size=64"],
    )  # fmt: skip
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    data = prepare_data(cfg)
    cpu = torch.device("cpu")
    ctx = RuleContext(cfg, data.splits, data.poisoned_train, data.sets, cpu, "s", "backdoored")
    torch.manual_seed(0)
    started = time.perf_counter()
    ann, ann_metrics = run_to_end(train_ann(ctx, ctx.train_set))
    took = time.perf_counter() - started
    print(
        f"ANN (poisoned D^, {args.ann_epochs} epochs SGD 0.01, {took:.0f} s)"
        f": ACC {ann_metrics['acc']:.4f}  ASR {ann_metrics['asr']:.4f}"
    )
    print("\nLR_C, T_max =", args.tmax)
    print("reference  norm    scale  ACC@Tmax  ASR@Tmax  MR     best_t  ACC@best  thresholds")
    for reference in ("poisoned", "clean"):
        calibration = reference_set(ctx, reference)
        for norm in args.norms.split(","):
            for scale in (1.0, 0.5):
                cfg.rule.norm, cfg.rule.scale = norm, scale
                snn = convert(ctx, ann, calibration, args.tmax)
                s = timestep_scores(
                    snn, data.sets.test, data.sets.triggered_test, data.sets.target, args.tmax,
                    "repeat", cpu,
                ).summary()  # fmt: skip
                mr = migration_rate(s["asr"], ann_metrics["asr"])
                th = [float(m.v_threshold) for m in snn.layers if hasattr(m, "v_threshold")]
                print(
                    f"{reference:<10} {norm:<7} {scale:<5g}  {s['acc']:.4f}    {s['asr']:.4f}    "
                    f"{mr:.3f}  {s['best_t']:<6d}  {s['best_t_acc']:.4f}    "
                    + ", ".join(f"{v:.3g}" for v in th)
                )
                if args.pool_before_spike and norm == "max":
                    pool_before_spike(snn)
                    s = timestep_scores(
                        snn, data.sets.test, data.sets.triggered_test, data.sets.target,
                        args.tmax, "repeat", cpu,
                    ).summary()  # fmt: skip
                    mr = migration_rate(s["asr"], ann_metrics["asr"])
                    print(
                        f"{reference:<10} max, pool before spike {scale:<5g}  {s['acc']:.4f}    "
                        f"{s['asr']:.4f}    {mr:.3f}  (diagnostic)"
                    )
    cfg.rule.norm, cfg.rule.scale = "max", 1.0
    cfg.sim.eval_timesteps = args.hybrid_timesteps  # LR_H is scored at the T it was trained at
    if args.skip_hybrid:
        return
    print(f"\nLR_H: max norm x 1, T = {args.hybrid_timesteps}, STDB {args.snn_epochs} epochs Adam")
    print("combo  ANN ACC  ANN ASR  conv ACC  conv ASR  ACC     ASR     MR     s(ann/conv/snn)")
    for combo in ("com1", "com2", "com3", "com4"):
        cfg.rule.combo = combo
        torch.manual_seed(0)
        result = run_to_end(run_hybrid(ctx))
        m, sec = result.metrics, result.seconds
        print(
            f"{combo}   {m['ann_acc']:.4f}   {m['ann_asr']:.4f}   {m['converted_acc']:.4f}    "
            f"{m['converted_asr']:.4f}    {m['acc']:.4f}  {m['asr']:.4f}  {m['mr']:.3f}  "
            f"{sec['ann_training']:.0f}/{sec['conversion']:.0f}/{sec['snn_training']:.0f}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
