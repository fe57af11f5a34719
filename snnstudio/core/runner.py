"""One experiment, end to end, as a generator of events.

config -> dataset -> trigger -> poisoned training set -> learning rule -> metrics and
checkpoints. The CLI prints these events, the GUI draws them, tests read them.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from snnstudio.core.attack.dynamic_trigger import DynamicTrigger
from snnstudio.core.attack.kinds import trigger_for_splits
from snnstudio.core.attack.poison import poison_training_set, triggered_test_set
from snnstudio.core.attack.saved_trigger import resumed_trigger, save_dynamic_trigger
from snnstudio.core.attack.stealth import stealth_metrics
from snnstudio.core.attack.trigger import SampleTrigger
from snnstudio.core.batches import batch_count
from snnstudio.core.checkpoint import save_checkpoint
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import DatasetSplits, SampleSet
from snnstudio.core.data.registry import load_dataset
from snnstudio.core.errors import ConfigError
from snnstudio.core.estimate import RunEstimate, check_fits
from snnstudio.core.events import (
    CancelToken,
    Event,
    Log,
    PlannedStage,
    RunPlanned,
    check_cancel,
)
from snnstudio.core.host import hardware
from snnstudio.core.jobs import Job, run_job
from snnstudio.core.metrics import MIGRATION_KEYS
from snnstudio.core.resume import EpochStates, check_resumable, describe_progress
from snnstudio.core.rules.ann_cache import AnnCache
from snnstudio.core.rules.context import RuleContext, RuleResult
from snnstudio.core.rules.registry import RULES
from snnstudio.core.run_record import RunRecord, open_run
from snnstudio.core.rundir import CLEAN_TWIN_STAGE, MODEL_STAGE, TRIGGER_FILE, RunDirError, RunKind
from snnstudio.core.threads import apply_thread_policy
from snnstudio.core.training import EvalSets
from snnstudio.core.validation import validate


@dataclass
class PreparedData:
    """The dataset with the attack applied: what every stage of a run trains and scores on."""

    splits: DatasetSplits
    trigger: SampleTrigger
    poisoned_train: SampleSet
    sets: EvalSets


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device = 'cuda' but torch sees no GPU (use 'auto' or 'cpu')")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_step_mode(name: str, device: torch.device) -> str:
    """spikingjelly's step mode for `auto`: multi-step on every device.

    Multi-step batch norm used to update its running statistics once per batch instead of T
    times, and after a short run the evaluated network went silent; SpikingNetwork now gives
    it momentum 1 - (1 - m)^T, which moves them as far. With the fused CPU neuron step
    (models/neuron_kernels.py) multi-step was the faster mode on the 2-core CPU: the demo
    took 40.7 s of CPU time against 48.0 s single-step (both ACC 0.986, ASR 1.0; load ~17),
    and benchmarks/peer_loop.py measures it against spikingjelly's own multi-step loop.
    Multi-step is also the mode with spikingjelly's fused GPU kernels.
    """
    if name == "auto":
        return "m"
    return {"single": "s", "multi": "m"}[name]


def prepare_data(
    cfg: ExperimentConfig,
    cancel: CancelToken | None = None,
    saved_trigger: DynamicTrigger | None = None,
) -> PreparedData:
    """Load the dataset and apply the attack: poisoned D^, clean test set, triggered test set
    (a dynamic trigger is `saved_trigger`, a run's own, when given; else it trains its
    generator first, and `cancel` is checked between its batches)."""
    splits = load_dataset(cfg.data, cfg.train.seed, cfg.sim.timesteps)
    return attacked(cfg, splits, cancel, saved_trigger)


def attacked(
    cfg: ExperimentConfig,
    splits: DatasetSplits,
    cancel: CancelToken | None = None,
    saved_trigger: DynamicTrigger | None = None,
) -> PreparedData:
    """`splits` under the config's attack: poisoned D^, clean test set, triggered test set."""
    target = cfg.poison.target
    if not 0 <= target < splits.num_classes:
        raise ConfigError(
            f"poison.target = {target} is not a class of {splits.name} "
            f"(0..{splits.num_classes - 1})"
        )
    trigger = trigger_for_splits(cfg, splits, cancel, saved_trigger)
    poisoned = poison_training_set(splits.train, trigger, target, cfg.poison.rate, cfg.train.seed)
    sets = EvalSets(splits.test, triggered_test_set(splits.test, trigger, target), target)
    return PreparedData(splits, trigger, poisoned, sets)


def run_experiment(
    cfg: ExperimentConfig,
    out_dir: str | Path | None = None,
    cancel: CancelToken | None = None,
    resume: bool = False,
    ann_cache: str | Path | None = None,
) -> Iterator[Event]:
    """Run one experiment, yielding its events; with `out_dir`, also write the run directory,
    including a resumable state after every epoch (core/resume.py); `resume` continues from
    the states `out_dir` holds (see `resume_experiment`). With `ann_cache` (a folder; a
    sweep's DIR/ann-twins), LR_C and LR_H reuse the ANN twin cached there under the same key
    and cache the one they train (core/rules/ann_cache.py); metrics.json's `ann_twin` says
    which file each stage used and whether it was reused.

    Raises SnnStudioError for bad input (before or during the run), MemoryEstimateError
    before anything is allocated when the run would not fit in memory (core/estimate.py).
    A cancelled run ends with RunFinished(status='cancelled') and keeps every file written.
    """
    validate(cfg)
    device = resolve_device(cfg.train.device)
    estimate = check_fits(cfg, resolve_step_mode(cfg.train.step_mode, device), device)
    saved_trigger = None
    if resume and out_dir is not None:
        check_resumable(out_dir, cfg)  # refused before a file of the run is touched
        saved_trigger = resumed_trigger(out_dir, cfg)
    metrics = {"dataset": cfg.data.name, "rule": cfg.rule.name}
    body = functools.partial(_experiment, cfg, estimate, resume, saved_trigger, ann_cache)
    yield from run_job(
        body, "run", out_dir, cfg, RunKind.EXPERIMENT, cancel, metrics, resume=resume
    )


def resume_experiment(
    run_dir: str | Path, cancel: CancelToken | None = None, ann_cache: str | Path | None = None
) -> Iterator[Event]:
    """Continue the stopped, cancelled or killed experiment in `run_dir` from its last
    completed epoch, with its own config.toml; it ends with the metrics of an uninterrupted
    run. Refused for a run that completed or a directory that is not an experiment's, and
    for saved states that do not match its config; a refused resume, or one that fails or
    is stopped before it has restored the saved state, leaves every file as it was."""
    record = open_run(run_dir)
    problem = why_not_resumable(record)
    if problem:
        raise RunDirError(problem)
    yield from run_experiment(record.config(), run_dir, cancel, resume=True, ann_cache=ann_cache)


def paper_deltas(metrics: dict) -> dict[str, float]:
    """The paper's Table 1 differences, in its definitions: delta_acc = backdoored - clean
    ACC (of the SNN; delta_ann_acc of the ANN twin), delta_asr = SNN ASR - ANN ASR of the
    backdoored models; and asr_gain = backdoored - clean SNN ASR (the backdoor's effect)."""
    out: dict[str, float] = {}
    pairs = {
        "delta_acc": ("acc", "clean_acc"), "delta_ann_acc": ("ann_acc", "clean_ann_acc"),
        "delta_asr": ("asr", "ann_asr"), "asr_gain": ("asr", "clean_asr"),
    }  # fmt: skip
    for name, (first, second) in pairs.items():
        a, b = metrics.get(first), metrics.get(second)
        if isinstance(a, int | float) and isinstance(b, int | float):
            out[name] = a - b
    return out


def why_not_resumable(record: RunRecord) -> str | None:
    """Why the run `record` cannot be resumed, or None when it can."""
    if record.kind != RunKind.EXPERIMENT:
        return f"{record.path} holds a {record.kind} run, not an experiment to resume"
    try:
        status = record.metrics().get("status")
    except RunDirError as exc:
        return str(exc)
    if status == "completed":
        return f"{record.path}: the run has completed; there is nothing to resume"
    return None


def stage_plan(
    cfg: ExperimentConfig, estimate: RunEstimate, train_set: SampleSet
) -> tuple[PlannedStage, ...]:
    """The stages `_experiment` will run, in order, with their batches and the estimate's
    seconds: per model (the backdoored one, then its clean twin), the ANN twin's training
    ('<stage>-ann', LR_C and LR_H), the conversion (no batches, LR_C; LR_H's is counted in
    its SNN training) and the SNN's training (LR_B, LR_H)."""
    rule = cfg.rule.name
    batches = batch_count(train_set, cfg.train.batch_size, fold_single_tail=True)
    ann_epochs = cfg.rule.ann_epochs or cfg.train.epochs
    plan: list[PlannedStage] = []
    for stage in [MODEL_STAGE, CLEAN_TWIN_STAGE][: 2 if cfg.train.clean_twin else 1]:
        if rule in ("conversion", "hybrid"):
            plan.append(PlannedStage(f"{stage}-ann", ann_epochs * batches, estimate.ann_seconds))
        if rule == "conversion":
            plan.append(PlannedStage(stage, 0, estimate.conversion_seconds))
        else:
            converting = estimate.conversion_seconds if rule == "hybrid" else 0.0
            steps = cfg.train.epochs * batches
            plan.append(PlannedStage(stage, steps, estimate.snn_seconds + converting))
    return tuple(plan)


def _keep_trigger(
    job: Job, cfg: ExperimentConfig, trigger: SampleTrigger, resume: bool
) -> Iterator[Event]:
    """Save a freshly trained dynamic trigger in the run directory, before the first epoch:
    a resume, a detection and an elimination rebuild the run's inputs from it. A new run of
    another kind removes the one an earlier run may have left in its folder."""
    path = job.file(TRIGGER_FILE)
    if path is None:
        return
    if isinstance(trigger, DynamicTrigger):
        save_dynamic_trigger(path, trigger, cfg)
        yield Log(f"saved the dynamic trigger's generator as {TRIGGER_FILE}")
    elif not resume:
        path.unlink(missing_ok=True)


def _experiment(
    cfg: ExperimentConfig,
    estimate: RunEstimate,
    resume: bool,
    saved_trigger: DynamicTrigger | None,
    ann_cache: str | Path | None,
    job: Job,
) -> Generator[Event, None, None]:
    metrics, seconds, cancel = job.metrics, job.seconds, job.cancel
    states = None
    if job.rundir is not None:
        if resume:  # seconds then count this sitting only, so the run says it was resumed
            metrics["resumed_after"] = describe_progress(job.rundir.path)
            yield Log(f"resuming after {metrics['resumed_after']}")
        states = EpochStates(job.rundir.path, cfg, resume)
    yield Log(f"estimate: {estimate.summary()}")
    yield Log(f"loading dataset '{cfg.data.name}'")
    if saved_trigger is not None:
        yield Log(f"the dynamic trigger is the generator this run saved ({TRIGGER_FILE})")
    elif cfg.trigger.kind == "dynamic":
        yield Log(
            f"training the dynamic trigger's generator with a victim model "
            f"({cfg.trigger.generator_epochs} epochs, gamma {cfg.trigger.gamma})"
        )
    data = prepare_data(cfg, cancel, saved_trigger)
    if saved_trigger is None:
        yield from _keep_trigger(job, cfg, data.trigger, resume)
    for note in data.splits.notes:
        yield Log(note)
    job.lap("data")
    check_cancel(cancel)
    metrics.update(
        train_samples=len(data.poisoned_train),
        poisoned_samples=int(data.poisoned_train.is_poison.sum()),
        test_samples=len(data.sets.test),
        triggered_test_samples=len(data.sets.triggered_test),
        **stealth_metrics(data.splits.test, data.sets.triggered_test, cfg.poison.target),
    )
    yield Log(
        f"{metrics['poisoned_samples']} of {metrics['train_samples']} training samples "
        f"poisoned (target {cfg.poison.target}); {metrics['test_samples']} clean and "
        f"{metrics['triggered_test_samples']} triggered test samples"
    )
    yield RunPlanned(stage_plan(cfg, estimate, data.poisoned_train))
    device = resolve_device(cfg.train.device)
    step_mode = resolve_step_mode(cfg.train.step_mode, device)
    threads = apply_thread_policy(cfg.train.threads)
    metrics["hardware"] = hardware(device)  # what the run's seconds were measured on
    yield Log(
        f"device {device}, {metrics['hardware']}; spikingjelly step mode '{step_mode}', "
        f"{threads.describe()}"
    )
    cache = None
    if ann_cache is not None:
        cache = AnnCache(ann_cache, None if job.rundir is None else job.rundir.path)
    stages = [(MODEL_STAGE, data.poisoned_train, False)]
    if cfg.train.clean_twin:
        stages.append((CLEAN_TWIN_STAGE, data.splits.train, True))
    for stage, train_set, clean_twin in stages:
        torch.manual_seed(cfg.train.seed)  # the twin starts from the same weights
        ctx = RuleContext(
            cfg,
            data.splits,
            train_set,
            data.sets,
            device,
            step_mode,
            stage,
            cancel,
            clean_twin,
            states,
            cache,
        )
        result: RuleResult = yield from RULES[cfg.rule.name].run(ctx)
        prefix = "" if stage == MODEL_STAGE else "clean_"
        metrics.update({
            f"{prefix}{k}": v for k, v in result.metrics.items()
            if not (clean_twin and k in MIGRATION_KEYS)
        })  # fmt: skip
        if "ann_twin" in result.extra:
            metrics.setdefault("ann_twin", {})[stage] = result.extra["ann_twin"]
        seconds[stage] = result.seconds
        if job.rundir is not None:
            save_checkpoint(
                job.rundir.checkpoint_path(stage), result.network, result.config or cfg,
                data.splits.image_shape, data.splits.classes, {"stage": stage},
            )  # fmt: skip
        job.restart_lap()
    metrics.update(paper_deltas(metrics))
    if states is not None:
        states.discard()  # completed: nothing left to resume
