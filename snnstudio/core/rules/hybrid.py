"""LR_H (Rathi et al. ICLR 2020): ANN training -> conversion -> STDB fine-tuning of the SNN.

The converted SNN (thresholds from the reference data at T = sim.timesteps, usually far fewer
steps than a pure conversion needs) initialises the SNN, which is then trained with the
paper's Eq. 10 objective by backpropagation through time with the STDB surrogate gradient
(`stdb.py`), Adam at train.lr for train.epochs. Thresholds stay fixed; BN layers stay in
inference mode (their affine weights still train).

rule.combo picks which steps see poisoned data (the paper's Table 8):

    combo  ANN step   conversion reference  SNN step
    com1   clean      clean                 clean      (the clean reference model)
    com2   clean      poisoned              poisoned
    com3   poisoned   clean                 clean
    com4   poisoned   poisoned              poisoned

"poisoned" is the stage's training set, so a clean twin (PR = 0) is clean throughout.
acc/asr in the metrics are read at t = sim.timesteps (the T the SNN was trained for); the
curve (curve.csv) runs to max(sim.eval_timesteps, sim.timesteps).
"""

from __future__ import annotations

import time
from collections.abc import Generator

from torch import nn

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.events import Event, Log
from snnstudio.core.metrics import migration_rate
from snnstudio.core.models.neurons import spiking_neuron
from snnstudio.core.rules.context import RuleContext, RuleResult
from snnstudio.core.rules.conversion import (
    convert,
    converted_config,
    describe_thresholds,
    eval_timesteps,
    pick_data,
    reference_set,
    require_static_images,
    score_curve,
    train_ann,
)
from snnstudio.core.rules.stdb import freeze_batch_norm, swap_spike_layers, use_stdb_neurons
from snnstudio.core.training import evaluate, train_epochs

COMBOS: dict[str, tuple[str, str, str]] = {  # ANN step, conversion reference, SNN step
    "com1": ("clean", "clean", "clean"),
    "com2": ("clean", "poisoned", "poisoned"),
    "com3": ("poisoned", "clean", "clean"),
    "com4": ("poisoned", "poisoned", "poisoned"),
}


def run_hybrid(ctx: RuleContext) -> Generator[Event, None, RuleResult]:
    require_static_images(ctx)
    rule, sim = ctx.cfg.rule, ctx.cfg.sim
    ann_data, reference_data, snn_data = COMBOS[rule.combo]
    started = time.perf_counter()
    ann, ann_metrics = yield from train_ann(ctx, pick_data(ctx, ann_data))
    trained = time.perf_counter()
    reference = reference_set(ctx, reference_data)
    yield Log(
        f"{ctx.stage}: {rule.combo}: ANN on {ann_data} data, {rule.norm} norm x {rule.scale:g} "
        f"on {len(reference)} {reference_data} reference samples, STDB on {snn_data} data, "
        f"T = {sim.timesteps}"
    )
    snn = convert(ctx, ann, reference, sim.timesteps)
    converted_at = time.perf_counter()
    yield Log(f"{ctx.stage}: thresholds {describe_thresholds(snn)}")
    converted = evaluate(snn, ctx.sets, sim.timesteps, sim.encoder, ctx.device)
    fine_tuning = time.perf_counter()

    snn_set = pick_data(ctx, snn_data)
    settings = ctx.settings()
    use_stdb_neurons(snn, rule.stdb_alpha, rule.stdb_beta)
    frozen = freeze_batch_norm(snn)
    try:
        yield from train_epochs(
            snn,
            snn_set,
            ctx.sets,
            settings,
            ctx.device,
            ctx.stage,
            ctx.cancel,
            ctx.clean_twin,
            states=ctx.states,
        )
    finally:
        for handle in frozen:
            handle.remove()
    config = converted_config(ctx.cfg, sim.timesteps)
    # back to the plain IF layers a checkpoint rebuilds (same forward, no STDB state)
    swap_spike_layers(snn, lambda th: _plain_if(config, th, snn.step_mode))
    fine_tuned = time.perf_counter()

    # scored at the T it was trained for; the curve runs on to T_max when that is longer
    curve_length = max(eval_timesteps(ctx.cfg), sim.timesteps)
    metrics = yield from score_curve(ctx, snn, curve_length, at=sim.timesteps)
    metrics.update(
        ann_acc=ann_metrics["acc"],
        ann_asr=ann_metrics["asr"],
        mr=migration_rate(metrics["asr"], ann_metrics["asr"]),
        converted_acc=converted["acc"],
        converted_asr=converted["asr"],
        converted_mr=migration_rate(converted["asr"], ann_metrics["asr"]),
    )
    seconds = {
        "ann_training": trained - started,
        "conversion": converted_at - trained,
        "snn_training": fine_tuned - fine_tuning,
        "evaluation": (fine_tuning - converted_at) + (time.perf_counter() - fine_tuned),
    }
    return RuleResult(snn, metrics, seconds, config=config)


def _plain_if(config: ExperimentConfig, threshold: float, step_mode: str) -> nn.Module:
    node = spiking_neuron(config.model)
    node.v_threshold = threshold
    node.step_mode = step_mode
    return node
