"""LR_C: train the ANN twin, convert it to an IF SNN, score the SNN after every timestep.

The ANN twin (ReLU in place of each spike layer) is trained with the paper's Eq. 11,
alpha * loss(poisoned) + beta * loss(clean) (`poison_weighted_loss`), seeing each static
image once. Its state_dict loads unchanged into the SNN (IF neurons, soft reset), whose
thresholds are then balanced on the reference data by MaxNorm, RobustNorm or Spike-Norm,
each times `rule.scale`.

Batch norm: kept, not fused. In inference mode a BN layer is a fixed per-channel affine map
of the conv before it, which is exactly a fused conv with bias; the converted SNN always runs
BN in inference mode (`predict` calls eval(), LR_H freezes it), so conversion stays exact and
the SNN keeps the parameter names of the architecture, which checkpoints and probes rely on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator

from snnstudio.core.config import ExperimentConfig, RuleConfig
from snnstudio.core.data.base import SampleSet, seeded_subset
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import Event, Log, StageRole, TimestepCurve
from snnstudio.core.laps import LapClock
from snnstudio.core.metrics import migration_rate, timestep_scores
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.registry import build_network
from snnstudio.core.rules.context import RuleContext, RuleResult
from snnstudio.core.rules.spike_norm import spike_norm
from snnstudio.core.rules.threshold_balancing import (
    activation_norms,
    set_threshold,
    shortcut_gains,
    spike_slots,
    thresholds_of,
)
from snnstudio.core.training import train_epochs


def eval_timesteps(cfg: ExperimentConfig) -> int:
    """T_max of the per-timestep curve: sim.eval_timesteps, or sim.timesteps when it is 0."""
    return cfg.sim.eval_timesteps or cfg.sim.timesteps


def converted_config(cfg: ExperimentConfig, timesteps: int) -> ExperimentConfig:
    """The config a converted SNN runs under: IF neurons, soft reset, starting at rule.v_init
    of the threshold, the converted layout (model.pool's pools, shortcut gains), `timesteps`
    steps."""
    model = dataclasses.replace(
        cfg.model, neuron="if", reset="soft", v_threshold=1.0, v_init=cfg.rule.v_init,
        converted=True,
    )  # fmt: skip
    sim = dataclasses.replace(cfg.sim, timesteps=timesteps)
    return dataclasses.replace(cfg, model=model, sim=sim)


def require_static_images(ctx: RuleContext) -> None:
    if ctx.splits.is_event:
        raise ConfigError(
            f"rule.name = '{ctx.cfg.rule.name}' converts an ANN trained on static images, but "
            f"'{ctx.splits.name}' is a neuromorphic (event) dataset: use rule.name = 'bptt'"
        )


def pick_data(ctx: RuleContext, which: str) -> SampleSet:
    """'poisoned': the stage's training set (D^, or D for a clean twin); 'clean': D."""
    return ctx.train_set if which == "poisoned" else ctx.splits.train


def reference_set(ctx: RuleContext, which: str) -> SampleSet:
    """The calibration data: a seeded subset (rule.reference_samples) of D^ or D."""
    limit = ctx.cfg.rule.reference_samples
    return seeded_subset(pick_data(ctx, which), limit, ctx.cfg.train.seed + 2)


# The paper's Appendix B: LR_C's ANN is trained with Adam at lr 0.001, LR_H's with SGD
# (momentum 0.9) at lr 0.01; rule.ann_optimizer = "paper" and rule.ann_lr = 0 take these.
PAPER_ANN_OPTIMIZER = {"conversion": "adam", "hybrid": "sgd"}
PAPER_LR = {"adam": 1e-3, "sgd": 0.01}


def ann_optimizer(rule: RuleConfig) -> tuple[str, float]:
    """The ANN twin's optimizer and learning rate, the paper's where the config says so."""
    name = rule.ann_optimizer
    if name == "paper":
        name = PAPER_ANN_OPTIMIZER.get(rule.name, "adam")
    return name, rule.ann_lr or PAPER_LR[name]


def train_ann(
    ctx: RuleContext, train_set: SampleSet
) -> Generator[Event, None, tuple[SpikingNetwork, dict[str, float]]]:
    """Train the ANN twin on `train_set` (stage '<stage>-ann'); return it and its ACC/ASR."""
    rule = ctx.cfg.rule
    optimizer, lr = ann_optimizer(rule)
    settings = dataclasses.replace(
        ctx.settings(), epochs=rule.ann_epochs or ctx.cfg.train.epochs, lr=lr,
        optimizer=optimizer, timesteps=1, encoder="repeat",
    )  # fmt: skip
    ann = ctx.build_ann_twin()
    stage = f"{ctx.stage}-ann"
    metrics = yield from train_epochs(
        ann,
        train_set,
        ctx.sets,
        settings,
        ctx.device,
        stage,
        ctx.cancel,
        ctx.clean_twin,
        states=ctx.states,
    )
    return ann, metrics


def convert(
    ctx: RuleContext, ann: SpikingNetwork, reference: SampleSet, timesteps: int
) -> SpikingNetwork:
    """The IF SNN of `ann` with thresholds balanced on `reference` by rule.norm x rule.scale."""
    rule = ctx.cfg.rule
    model = converted_config(ctx.cfg, timesteps).model
    splits = ctx.splits
    snn = build_network(model, splits.image_shape, splits.num_classes, True, ctx.step_mode)
    snn = snn.to(ctx.device)
    # the converted net's identity-shortcut gains (1 until balanced) are not in the ANN
    missing, _ = snn.load_state_dict(ann.state_dict(), strict=False)
    if set(missing) != shortcut_gains(snn):
        raise ConfigError(f"the ANN twin's weights do not fit its SNN (missing {missing})")
    if rule.norm == "spike":
        spike_norm(
            snn, reference, timesteps, ctx.cfg.sim.encoder, ctx.device, rule.scale, ctx.cancel,
            ctx.cfg.train.seed,
        )  # fmt: skip
    else:
        norms = activation_norms(ann, reference, ctx.device, rule.norm, rule.percentile, ctx.cancel)
        for slot, value in zip(spike_slots(snn.layers), norms, strict=True):
            set_threshold(snn, slot, rule.scale * value)
    return snn


def score_curve(
    ctx: RuleContext, snn: SpikingNetwork, timesteps: int, at: int | None = None
) -> Generator[Event, None, dict[str, float]]:
    """ACC/ASR after every t = 1..timesteps in one pass: a TimestepCurve event and a summary
    with acc/asr at t = `at` (default: timesteps)."""
    scores = timestep_scores(
        snn, ctx.sets.test, ctx.sets.triggered_test, ctx.sets.target, timesteps,
        ctx.cfg.sim.encoder, ctx.device, ctx.cancel,
    )  # fmt: skip
    role = StageRole(clean_twin=ctx.clean_twin)
    yield TimestepCurve(ctx.stage, scores.acc.tolist(), scores.asr.tolist(), role=role)
    return scores.summary(at)


def describe_thresholds(snn: SpikingNetwork) -> str:
    return ", ".join(f"{v:.4g}" for v in thresholds_of(snn))


STAGES = ("ann_training", "conversion", "snn_training", "evaluation")  # seconds of LR_C, LR_H


def converted_result(
    snn: SpikingNetwork,
    scores: dict[str, float],
    ann_metrics: dict[str, float],
    clock: LapClock,
    config: ExperimentConfig,
) -> RuleResult:
    """The rule's result: the SNN's scores beside its ANN twin's, and the migration rate."""
    metrics = {
        **scores,
        "ann_acc": ann_metrics["acc"],
        "ann_asr": ann_metrics["asr"],
        "mr": migration_rate(scores["asr"], ann_metrics["asr"]),
    }
    return RuleResult(snn, metrics, dict(clock.seconds), config=config)


def run_conversion(ctx: RuleContext) -> Generator[Event, None, RuleResult]:
    require_static_images(ctx)
    rule = ctx.cfg.rule
    timesteps = eval_timesteps(ctx.cfg)
    clock = LapClock(stages=STAGES)
    ann, ann_metrics = yield from train_ann(ctx, ctx.train_set)
    clock.lap("ann_training")
    reference = reference_set(ctx, rule.reference)
    yield Log(
        f"{ctx.stage}: converting with {rule.norm} norm x {rule.scale:g} on {len(reference)} "
        f"{rule.reference} reference samples, T = {timesteps}"
    )
    snn = convert(ctx, ann, reference, timesteps)
    clock.lap("conversion")
    yield Log(f"{ctx.stage}: thresholds {describe_thresholds(snn)}")
    scores = yield from score_curve(ctx, snn, timesteps)
    clock.lap("evaluation")
    return converted_result(snn, scores, ann_metrics, clock, converted_config(ctx.cfg, timesteps))
