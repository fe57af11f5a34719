"""Backdoor migration through conversion (issue 11): ANN ACC/ASR, the converted SNN's ACC/ASR
and MR per norm x scale (LR_C), and LR_H Com1-Com4, on the digits demo or a real MNIST subset,
for any architecture. One backdoored ANN is trained and converted with every norm x scale
(the SNN is scored at T_max from the one-pass curve); the LR_H rows run the registered hybrid
rule once per combination. Every number printed is measured in this run, one torch thread.

    python benchmarks/conversion_migration.py --data digits              # the demo's settings
    python benchmarks/conversion_migration.py --data mnist --train 6000 --test 1000 --tmax 64
    python benchmarks/conversion_migration.py --data mnist --arch resnet18 --train 2000 ...
        [--norms max,robust,spike] [--scales 1,0.5] [--reference poisoned,clean] [--v-inits 0,0.5]
        [--hybrid] [--hybrid-timesteps 8] [--hybrid-scale 0.5] [--snn-epochs 2] [--snn-lr 1e-4]
        [--pool-study] [--at 8 16 32]

--pool-study re-scores the MaxNorm SNN with the other max-pool treatments (the numbers in
snnstudio/core/models/conversion_layers.py's docstring).
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import base, functional, layer
from trained_ann import train_ann_twin

from snnstudio.core import config as config_io
from snnstudio.core.events import run_to_end
from snnstudio.core.metrics import migration_rate, timestep_scores
from snnstudio.core.models.conversion_layers import SpikeCountMaxPool2d
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.rules.context import RuleContext
from snnstudio.core.rules.conversion import convert, reference_set
from snnstudio.core.rules.hybrid import run_hybrid
from snnstudio.core.rules.threshold_balancing import thresholds_of

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class GatedMaxPool2d(base.MemoryModule):
    """Rueckauer et al. 2017's gating: pass the spike of the input with the most spikes so far."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.register_memory("count", 0.0)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count = self.count + x
        _, index = F.max_pool2d(self.count + 0.5 * x, self.kernel_size, return_indices=True)
        return x.flatten(2).gather(2, index.flatten(2)).view(index.shape)


def pool_variant(snn, variant: str):  # type: ignore[no-untyped-def]
    """Replace the converted net's count max-pools: 'or' (plain max-pool after the spike
    layer), 'before' (plain max-pool moved before it), 'gated'."""
    stack = snn.layers
    for i in range(1, len(stack)):
        if isinstance(stack[i], SpikeCountMaxPool2d):
            k = stack[i].kernel_size
            stack[i] = GatedMaxPool2d(k) if variant == "gated" else layer.MaxPool2d(k)
            if variant == "before" and is_spiking_layer(stack[i - 1]):
                stack[i - 1], stack[i] = stack[i], stack[i - 1]
    functional.invalidate_reset_cache(stack)
    return snn


def data_overrides(args: argparse.Namespace) -> list[str]:
    if args.data == "digits":
        return [f"data.train_limit={args.train}", f"data.test_limit={args.test}"]
    mnist = Path(args.mnist_root)
    if not mnist.is_dir():
        raise SystemExit(f"needs real MNIST in {mnist}")
    return ["data.name=mnist", f"data.root={mnist}", f"data.train_limit={args.train}",
            f"data.test_limit={args.test}"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--arch", default="csnn")
    parser.add_argument("--mnist-root", default=str(SHARED_DATA / "mnist"))
    parser.add_argument("--train", type=int, default=0, help="0 = all")
    parser.add_argument("--test", type=int, default=0, help="0 = all")
    parser.add_argument("--tmax", type=int, default=0, help="0 = the demo's sim.eval_timesteps")
    parser.add_argument("--ann-epochs", type=int, default=0, help="0 = the demo's train.epochs")
    parser.add_argument("--norms", default="max,robust,spike")
    parser.add_argument("--scales", default="1,0.5")
    parser.add_argument("--reference", default="poisoned,clean")
    parser.add_argument("--v-inits", default="", help="rule.v_init values (default: the rule's)")
    parser.add_argument("--reference-samples", type=int, default=1000)
    parser.add_argument("--pool-study", action="store_true")
    parser.add_argument("--at", type=int, nargs="*", default=[], help="also ACC/ASR at these t")
    parser.add_argument("--hybrid", action="store_true", help="also LR_H Com1-Com4")
    parser.add_argument("--hybrid-timesteps", type=int, default=0, help="0 = the demo's T")
    parser.add_argument("--hybrid-scale", type=float, default=0.5, help="LR_H threshold scale")
    parser.add_argument("--snn-epochs", type=int, default=0, help="0 = the demo's train.epochs")
    parser.add_argument("--snn-lr", type=float, default=0.0, help="0 = the demo's train.lr")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = [*data_overrides(args), f"model.arch={args.arch}", "train.clean_twin=false",
                 f"rule.reference_samples={args.reference_samples}"]  # fmt: skip
    for key, value in (("rule.ann_epochs", args.ann_epochs), ("sim.eval_timesteps", args.tmax),
                       ("sim.timesteps", args.hybrid_timesteps),
                       ("train.epochs", args.snn_epochs), ("train.lr", args.snn_lr)):  # fmt: skip
        if value:
            overrides.append(f"{key}={value}")
    cfg = config_io.with_overrides(config_io.load_preset("demo"), overrides)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; torch threads 1")
    cpu = torch.device("cpu")
    trained = train_ann_twin(cfg, stage="backdoored")
    data, ctx, ann, ann_metrics = trained.data, trained.ctx, trained.ann, trained.metrics
    tmax = cfg.sim.eval_timesteps
    print(
        f"{args.data} ({len(data.poisoned_train)} train, {len(data.sets.test)} test), "
        f"{args.arch}, PR {cfg.poison.rate}; ANN ({cfg.rule.ann_epochs or cfg.train.epochs} "
        f"epochs SGD {cfg.rule.ann_lr}, {trained.seconds:.0f} s): "
        f"ACC {ann_metrics['acc']:.4f}  ASR {ann_metrics['asr']:.4f}"
    )
    print(f"\nLR_C, T_max = {tmax}")
    print("reference  norm    scale  v_init  ACC@Tmax  ASR@Tmax  MR     best_t  ACC@best  thresh.")
    v_inits = [float(v) for v in args.v_inits.split(",")] if args.v_inits else [cfg.rule.v_init]
    for reference in args.reference.split(","):
        calibration = reference_set(ctx, reference)
        for norm, scale, v_init in itertools.product(
            args.norms.split(","), (float(s) for s in args.scales.split(",")), v_inits
        ):
            cfg.rule.norm, cfg.rule.scale, cfg.rule.v_init = norm, scale, v_init
            snn = convert(ctx, ann, calibration, tmax)
            variants = ["count"]
            if args.pool_study and norm == "max" and scale == 1:
                variants += ["or", "before", "gated"]
            for variant in variants:
                if variant != "count":
                    snn = pool_variant(convert(ctx, ann, calibration, tmax), variant)
                curve = timestep_scores(
                    snn, data.sets.test, data.sets.triggered_test, data.sets.target, tmax,
                    "repeat", cpu,
                )  # fmt: skip
                s = curve.summary()
                mr = migration_rate(s["asr"], ann_metrics["asr"])
                label = norm if variant == "count" else f"{norm}/{variant}-pool"
                th = ", ".join(f"{v:.3g}" for v in thresholds_of(snn)[:6])
                print(
                    f"{reference:<10} {label:<7} {scale:<5g}  {v_init:<6g}  {s['acc']:.4f}    "
                    f"{s['asr']:.4f}    {mr:.3f}  {s['best_t']:<6d}  {s['best_t_acc']:.4f}"
                    f"    {th}", flush=True,
                )  # fmt: skip
                for t in (t for t in args.at if t < tmax):
                    acc, asr = curve.acc[t - 1], curve.asr[t - 1]
                    print(f"{'':<20}at t = {t}: ACC {acc:.4f}  ASR {asr:.4f}", flush=True)
    if args.hybrid:
        run_combos(cfg, ctx, args.hybrid_scale)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def run_combos(cfg: config_io.ExperimentConfig, ctx: RuleContext, scale: float) -> None:
    cfg.rule.norm, cfg.rule.scale = "max", scale
    cfg.sim.eval_timesteps = cfg.sim.timesteps  # LR_H is scored at the T it was trained at
    print(
        f"\nLR_H: max norm x {scale:g}, T = {cfg.sim.timesteps}, STDB {cfg.train.epochs} epochs "
        f"Adam {cfg.train.lr}"
    )
    print("combo  ANN ACC  ANN ASR  conv ACC  conv ASR  ACC     ASR     MR     s(ann/conv/snn)")
    for combo in ("com1", "com2", "com3", "com4"):
        cfg.rule.combo = combo
        torch.manual_seed(0)
        result = run_to_end(run_hybrid(ctx))
        m, sec = result.metrics, result.seconds
        mr = f"{m['mr']:.3f}" if m["ann_asr"] >= 0.5 else "—    "  # no ANN backdoor to migrate
        print(
            f"{combo}   {m['ann_acc']:.4f}   {m['ann_asr']:.4f}   {m['converted_acc']:.4f}    "
            f"{m['converted_asr']:.4f}    {m['acc']:.4f}  {m['asr']:.4f}  {mr}  "
            f"{sec['ann_training']:.0f}/{sec['conversion']:.0f}/{sec['snn_training']:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
