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
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnstudio.core.batches import batch_count
from snnstudio.core.config import ExperimentConfig, RuleConfig
from snnstudio.core.data.base import SampleSet, seeded_subset
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import (
    EpochDone,
    Event,
    Log,
    NetworkKind,
    StageRole,
    StageStarted,
    TimestepCurve,
)
from snnstudio.core.laps import LapClock
from snnstudio.core.metrics import migration_rate, timestep_scores
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.registry import build_network
from snnstudio.core.rules.ann_cache import (
    EPOCH_FIELDS,
    AnnCache,
    CachedAnn,
    DamagedEntry,
    ann_key,
    ann_key_data,
    random_state,
)
from snnstudio.core.rules.context import RuleContext, RuleResult
from snnstudio.core.rules.spike_norm import spike_norm
from snnstudio.core.rules.threshold_balancing import (
    activation_norms,
    set_threshold,
    shortcut_gains,
    spike_slots,
    thresholds_of,
)
from snnstudio.core.training import TrainSettings, train_epochs


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


def ann_settings(ctx: RuleContext) -> TrainSettings:
    """The ANN twin's training: rule.ann_epochs (or train.epochs) with the rule's optimizer,
    each static image seen once."""
    rule = ctx.cfg.rule
    optimizer, lr = ann_optimizer(rule)
    return dataclasses.replace(
        ctx.settings(), epochs=rule.ann_epochs or ctx.cfg.train.epochs, lr=lr,
        optimizer=optimizer, timesteps=1, encoder="repeat",
    )  # fmt: skip


def train_ann(
    ctx: RuleContext, train_set: SampleSet
) -> Generator[Event, None, tuple[SpikingNetwork, dict[str, float]]]:
    """Train the ANN twin on `train_set` (stage '<stage>-ann'); return it and its ACC/ASR."""
    ann = ctx.build_ann_twin()
    metrics = yield from train_epochs(
        ann,
        train_set,
        ctx.sets,
        ann_settings(ctx),
        ctx.device,
        f"{ctx.stage}-ann",
        ctx.cancel,
        ctx.clean_twin,
        states=ctx.states,
    )
    return ann, metrics


@dataclass
class AnnTwin:
    """The stage's ANN twin, its last epoch's ACC/ASR, whether it came from the ANN cache,
    and (with a cache) what metrics.json records of it: the file, reused, who trained it."""

    net: SpikingNetwork
    metrics: dict[str, float]
    reused: bool = False
    record: dict[str, Any] | None = None


def ann_twin(ctx: RuleContext, which: str) -> Generator[Event, None, AnnTwin]:
    """The stage's ANN twin trained on `pick_data(ctx, which)`; with `ctx.ann_cache`, the
    cached one of the same key when there is one (its epochs replayed, torch's generators
    where its training left them), else trained and cached (core/rules/ann_cache.py)."""
    train_set = pick_data(ctx, which)
    cache = ctx.ann_cache
    if cache is None:
        ann, metrics = yield from train_ann(ctx, train_set)
        return AnnTwin(ann, metrics)
    key_data = ann_key_data(ctx.cfg, ctx.stage, which, ctx.device)
    path = cache.path(ctx.stage, ann_key(key_data))
    try:
        entry = cache.load(path, key_data)
        if entry is not None:
            return (yield from reused_ann(ctx, train_set, entry, path))
    except DamagedEntry as exc:
        yield Log(
            f"warning: {ctx.stage}-ann: the cached ANN twin {path} cannot be used ({exc}); "
            "training it again and overwriting it"
        )
    return (yield from cached_training(ctx, train_set, cache, path, key_data))


def reused_ann(
    ctx: RuleContext, train_set: SampleSet, entry: CachedAnn, path: Path
) -> Generator[Event, None, AnnTwin]:
    """The cached ANN twin `entry` as if trained here: its weights, its StageStarted and
    EpochDone events (their seconds 0: the training was another run's), torch's generators
    as its training left them. DamagedEntry when its
    weights do not fit the config's ANN twin (nothing yielded then)."""
    ann = ctx.build_ann_twin()
    try:
        ann.load_state_dict(entry.state)
    except RuntimeError as exc:
        raise DamagedEntry(f"its weights do not fit: {str(exc).splitlines()[0]}") from None
    entry.restore_random_state()
    stage, settings = f"{ctx.stage}-ann", ann_settings(ctx)
    role = StageRole(NetworkKind.ANN, ctx.clean_twin)
    total = settings.epochs * batch_count(train_set, settings.batch_size, fold_single_tail=True)
    yield Log(
        f"{stage}: reusing the ANN twin in {path} (trained in {entry.seconds:.1f} s by "
        f"{entry.trained_by or 'another run'}); its epochs are replayed with 0 s, its training "
        "time is not this run's"
    )
    yield StageStarted(stage, total, role=role)
    for event in entry.events(stage, role):
        yield dataclasses.replace(event, seconds=0.0)
    record = {"file": str(path), "reused": True, "trained_by": entry.trained_by}
    return AnnTwin(ann, dict(entry.metrics), True, record)


def cached_training(
    ctx: RuleContext, train_set: SampleSet, cache: AnnCache, path: Path, key_data: dict[str, Any]
) -> Generator[Event, None, AnnTwin]:
    """Train the ANN twin and save it in `cache` at `path` (a failed save is a warning)."""
    started = time.perf_counter()
    epochs: list[EpochDone] = []
    ann, metrics = yield from _keeping_epochs(train_ann(ctx, train_set), epochs)
    torch_rng, cuda_rng = random_state()
    rows = [[getattr(e, f) for f in EPOCH_FIELDS] for e in epochs]
    entry = CachedAnn(
        ann.state_dict(), metrics, rows, torch_rng, cuda_rng, cache.owner,
        time.perf_counter() - started,
    )  # fmt: skip
    try:
        cache.save(path, key_data, entry)
    except OSError as exc:
        yield Log(f"warning: {ctx.stage}-ann: could not cache the ANN twin in {path}: {exc}")
    else:
        yield Log(f"{ctx.stage}-ann: cached the ANN twin in {path}")
    record = {"file": str(path), "reused": False, "trained_by": cache.owner}
    return AnnTwin(ann, metrics, False, record)


def _keeping_epochs(
    job: Generator[Event, None, Any], epochs: list[EpochDone]
) -> Generator[Event, None, Any]:
    """Pass `job`'s events on, keeping its EpochDone events in `epochs`; return its value."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, EpochDone):
            epochs.append(event)
        yield event


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
            ctx.cfg.train.seed, scaling=rule.spike_scaling,
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


def lap_ann(clock: LapClock, twin: AnnTwin) -> None:
    """Charge the ANN twin's seconds: ann_training, or ann_loading when it was reused (a
    reused ANN's training is not this run's time)."""
    clock.lap("ann_loading" if twin.reused else "ann_training")


def converted_result(
    snn: SpikingNetwork,
    scores: dict[str, float],
    twin: AnnTwin,
    clock: LapClock,
    config: ExperimentConfig,
) -> RuleResult:
    """The rule's result: the SNN's scores beside its ANN twin's, and the migration rate;
    `extra['ann_twin']` says which cached ANN twin it used, when there was a cache."""
    ann_metrics = twin.metrics
    metrics = {
        **scores,
        "ann_acc": ann_metrics["acc"],
        "ann_asr": ann_metrics["asr"],
        "mr": migration_rate(scores["asr"], ann_metrics["asr"]),
    }
    extra = {} if twin.record is None else {"ann_twin": twin.record}
    return RuleResult(snn, metrics, dict(clock.seconds), extra, config=config)


def run_conversion(ctx: RuleContext) -> Generator[Event, None, RuleResult]:
    require_static_images(ctx)
    rule = ctx.cfg.rule
    timesteps = eval_timesteps(ctx.cfg)
    clock = LapClock(stages=STAGES)
    twin = yield from ann_twin(ctx, "poisoned")
    lap_ann(clock, twin)
    reference = reference_set(ctx, rule.reference)
    yield Log(
        f"{ctx.stage}: converting with {rule.norm} norm x {rule.scale:g} on {len(reference)} "
        f"{rule.reference} reference samples, T = {timesteps}"
    )
    snn = convert(ctx, twin.net, reference, timesteps)
    clock.lap("conversion")
    yield Log(f"{ctx.stage}: thresholds {describe_thresholds(snn)}")
    scores = yield from score_curve(ctx, snn, timesteps)
    clock.lap("evaluation")
    return converted_result(snn, scores, twin, clock, converted_config(ctx.cfg, timesteps))
