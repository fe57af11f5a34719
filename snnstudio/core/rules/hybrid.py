"""LR_H (Rathi et al. ICLR 2020): ANN training -> conversion -> STDB fine-tuning of the SNN.

The converted SNN (thresholds from the reference data at T = sim.timesteps, usually far fewer
steps than a pure conversion needs) initialises the SNN, which is then trained with the
paper's Eq. 10 objective by backpropagation through time with the STDB surrogate gradient
(`stdb.py`: no gradient for saturated neurons), Adam at train.lr for train.epochs. Thresholds
stay fixed; BN layers stay in inference mode (their affine weights still train).

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

import dataclasses
from collections.abc import Generator

from snnstudio.core.events import Event, Log
from snnstudio.core.laps import LapClock
from snnstudio.core.metrics import migration_rate
from snnstudio.core.rules.context import RuleContext, RuleResult
from snnstudio.core.rules.conversion import (
    STAGES,
    ann_twin,
    convert,
    converted_config,
    converted_result,
    describe_thresholds,
    eval_timesteps,
    lap_ann,
    pick_data,
    reference_set,
    require_static_images,
    score_curve,
)
from snnstudio.core.rules.stdb import stdb_training
from snnstudio.core.training import evaluate, train_epochs

# The paper's Appendix B: LR_H's SNN step is Adam at lr 1e-4 (rule.stdb_lr = 0 takes it). At
# the LR_B lr the deep nets unlearn their conversion: 64 digits at 16x16, T = 8, 4 steps,
# VGG11 0.20 converted -> 0.11 at 0.002, -> 0.58 at 1e-4 (tests/core/test_networks_learn.py).
PAPER_STDB_LR = 1e-4

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
    clock = LapClock(stages=STAGES)
    twin = yield from ann_twin(ctx, ann_data)
    lap_ann(clock, twin)
    reference = reference_set(ctx, reference_data)
    # a clean twin's 'poisoned' set is D itself (pick_data): whatever the combo, it is Com1
    combo, (ann_on, reference_on, stdb_on) = (
        ("com1 (clean twin)", ("clean",) * 3)
        if ctx.clean_twin
        else (rule.combo, (ann_data, reference_data, snn_data))
    )
    yield Log(
        f"{ctx.stage}: {combo}: ANN on {ann_on} data, {rule.norm} norm x {rule.scale:g} "
        f"on {len(reference)} {reference_on} reference samples, STDB on {stdb_on} data, "
        f"T = {sim.timesteps}"
    )
    snn = convert(ctx, twin.net, reference, sim.timesteps)
    clock.lap("conversion")
    yield Log(f"{ctx.stage}: thresholds {describe_thresholds(snn)}")
    converted = evaluate(snn, ctx.sets, sim.timesteps, sim.encoder, ctx.device)
    clock.lap("evaluation")
    config = converted_config(ctx.cfg, sim.timesteps)
    # BN stays frozen at the statistics the thresholds were balanced against
    snn_settings = dataclasses.replace(
        ctx.settings(), bn_samples=0, lr=rule.stdb_lr or PAPER_STDB_LR
    )
    with stdb_training(snn, config.model, rule.stdb_alpha, rule.stdb_beta):
        yield from train_epochs(
            snn, pick_data(ctx, snn_data), ctx.sets, snn_settings, ctx.device, ctx.stage,
            ctx.cancel, ctx.clean_twin, states=ctx.states,
        )  # fmt: skip
    clock.lap("snn_training")
    # scored at the T it was trained for; the curve runs on to T_max when that is longer
    curve_length = max(eval_timesteps(ctx.cfg), sim.timesteps)
    scores = yield from score_curve(ctx, snn, curve_length, at=sim.timesteps)
    clock.lap("evaluation")
    result = converted_result(snn, scores, twin, clock, config)
    result.metrics.update(
        converted_acc=converted["acc"],
        converted_asr=converted["asr"],
        converted_mr=migration_rate(converted["asr"], twin.metrics["asr"]),
    )
    return result
