"""Backdoor elimination by fine-tuning or fine-pruning on a small clean set, as events.

- finetune: train the loaded SNN on a clean share of the training data (the paper's
  "Defences": fine-tuning on clean data), reusing the training loop of every rule.
- reconvert (conversion/hybrid models, the paper's route): clean re-conversion, then
  clean STDB fine-tuning (`reconversion.py`).
- fineprune (Liu et al. 2018): cut off the units of a late spiking layer that are least
  active on the clean data, as many as keep the clean-set accuracy within a tolerance,
  then fine-tune as above with the cut units held at zero.

The run directory holds metrics.json (acc/asr before and after, and after pruning),
history.csv (one row per fine-tuning epoch), the new checkpoint `<method>.pt`,
config.toml and log.txt.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from snnstudio.core.checkpoint import save_checkpoint
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.defense import pruning
from snnstudio.core.defense.loading import LoadedModel, clean_fraction_subset, load_data, load_model
from snnstudio.core.defense.reconversion import reconvert_clean, require_converted
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import (
    CancelToken,
    Event,
    Log,
    check_cancel,
)
from snnstudio.core.jobs import Job, run_job
from snnstudio.core.metrics import accuracy, predict
from snnstudio.core.probe import record_dataset
from snnstudio.core.rundir import RunKind
from snnstudio.core.training import TrainSettings, evaluate, train_epochs

METHODS = ("finetune", "fineprune", "reconvert")
SETTLE_LR_FACTOR = 0.1
# Plain fine-tuning must unlearn the trigger's pathway from clean data alone: a large SGD
# step does it, then a few epochs at a tenth of it let clean accuracy settle. Fine-pruning
# has already cut the pathway, so a gentle Adam fine-tuning only repairs clean accuracy.
# (Measured on the demo and MNIST models: see the issue 5 report.)
METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "finetune": {"optimizer": "sgd", "lr": 0.2, "epochs": 8, "settle_epochs": 4},
    "fineprune": {"optimizer": "adam", "lr": 1e-3, "epochs": 5, "settle_epochs": 0},
    # conversion/hybrid models: clean re-conversion, then clean STDB with Adam (as LR_H)
    "reconvert": {"optimizer": "adam", "lr": 1e-3, "epochs": 5, "settle_epochs": 0},
}


@dataclass
class EliminationSettings:
    method: str = "finetune"  # finetune | fineprune
    clean_fraction: float = 0.1  # share of the clean training set used
    # Fine-tuning; None = the method's default (METHOD_DEFAULTS).
    epochs: int | None = None
    lr: float | None = None
    optimizer: str | None = None  # adam | sgd (momentum 0.9)
    settle_epochs: int | None = None  # then this many epochs at lr * SETTLE_LR_FACTOR
    batch_size: int = 0  # 0 = the checkpoint's train.batch_size
    layer: str = ""  # fineprune: the spiking layer to prune; "" = the last conv spiking layer
    prune_max_fraction: float = 0.9  # never cut more than this share of the layer's units
    prune_acc_tolerance: float = 0.01  # allowed clean-set accuracy drop while pruning
    prune_step: float = 0.05  # share of units added per pruning trial
    seed: int = 0

    def check(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method '{self.method}' is not one of: {', '.join(METHODS)}")
        if self.epochs is not None and self.epochs < 0:
            raise ConfigError(f"epochs = {self.epochs} must be >= 0")
        if self.settle_epochs is not None and self.settle_epochs < 0:
            raise ConfigError(f"settle epochs = {self.settle_epochs} must be >= 0")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError(f"lr = {self.lr} must be > 0")
        if self.optimizer not in (None, "adam", "sgd"):
            raise ConfigError(f"optimizer '{self.optimizer}' is not one of: adam, sgd")
        if not 0.0 < self.clean_fraction <= 1.0:
            raise ConfigError(f"clean fraction = {self.clean_fraction} must be in (0, 1]")
        if not 0.0 <= self.prune_max_fraction < 1.0:
            raise ConfigError(f"prune max fraction = {self.prune_max_fraction} must be in [0, 1)")
        if not 0.0 < self.prune_step <= 1.0:
            raise ConfigError(f"prune step = {self.prune_step} must be in (0, 1]")

    def resolved(self) -> EliminationSettings:
        """A copy with every None replaced by the method's default."""
        defaults = METHOD_DEFAULTS[self.method]
        values = {
            k: defaults[k] if getattr(self, k) is None else getattr(self, k) for k in defaults
        }
        return replace(self, **values)


def run_elimination(
    checkpoint_path: str | Path,
    out_dir: str | Path | None = None,
    settings: EliminationSettings | None = None,
    overrides: list[str] | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Event]:
    """Remove a backdoor from a checkpoint, yielding events; with `out_dir`, write the run
    directory. Raises SnnStudioError for bad input."""
    settings = settings or EliminationSettings()
    settings.check()
    settings = settings.resolved()
    model = load_model(checkpoint_path, overrides)
    if settings.method == "reconvert":
        require_converted(model.config)
    metrics = {"method": settings.method, "settings": asdict(settings)}
    body = functools.partial(_elimination, model, settings)
    yield from run_job(
        body, "elimination", out_dir, model.config, RunKind.ELIMINATION, cancel, metrics
    )


def _prune(
    model: LoadedModel, clean: SampleSet, settings: EliminationSettings
) -> Generator[Event, None, tuple[pruning.PrunePlan, dict[str, Any]]]:
    """Choose how many units to cut: the most whose clean-set accuracy stays within tolerance."""
    cfg, net = model.config, model.network
    layer = settings.layer or pruning.default_prune_layer(net)
    pruning.path_to_linear(net, layer)  # a clear error before the recording
    recording = record_dataset(
        net, clean, cfg.sim.timesteps, cfg.sim.encoder, model.device, [layer]
    )
    plan = pruning.plan_pruning(net, recording.layers[layer])

    def clean_acc(count: int) -> float:
        original = pruning.apply_mask_temporarily(plan, count)
        try:
            predicted = predict(net, clean, cfg.sim.timesteps, cfg.sim.encoder, model.device)
            return accuracy(predicted, clean.y)
        finally:
            pruning.restore(plan, original)

    base = clean_acc(0)
    limit = int(settings.prune_max_fraction * plan.units)
    step = max(1, round(settings.prune_step * plan.units))
    chosen, chosen_acc = 0, base
    for count in [*range(step, limit, step), limit]:
        acc = clean_acc(count)
        yield Log(f"pruning {count}/{plan.units} units of {plan.layer}: clean-set acc {acc:.4f}")
        if acc < base - settings.prune_acc_tolerance:
            break
        chosen, chosen_acc = count, acc
    pruning.attach_mask(plan, chosen)
    info = {
        "layer": plan.layer,
        "units": plan.units,  # inputs of the Linear layer that reads the pruned layer
        "pruned_units": chosen,
        "silent_units": plan.silent_units,
        "clean_set_acc_before_pruning": base,
        "clean_set_acc_after_pruning": chosen_acc,
    }
    return plan, info


def _train_settings(
    settings: EliminationSettings, cfg: ExperimentConfig, lr: float, epochs: int
) -> TrainSettings:
    return TrainSettings(
        epochs=epochs, lr=lr, batch_size=settings.batch_size or cfg.train.batch_size,
        timesteps=cfg.sim.timesteps, encoder=cfg.sim.encoder,
        poison_weight=cfg.train.poison_weight, clean_weight=cfg.train.clean_weight,
        seed=settings.seed, optimizer=settings.optimizer,
    )  # fmt: skip


def _elimination(
    model: LoadedModel, settings: EliminationSettings, job: Job
) -> Generator[Event, None, None]:
    cfg, net, device, metrics = model.config, model.network, model.device, job.metrics
    yield Log(f"loading dataset '{cfg.data.name}' and the checkpoint's trigger")
    data = load_data(model)
    clean = clean_fraction_subset(data.splits.train, settings.clean_fraction, settings.seed)
    metrics["clean_samples"] = len(clean)
    job.lap("data")
    before = evaluate(net, data.sets, cfg.sim.timesteps, cfg.sim.encoder, device)
    metrics.update(acc_before=before["acc"], asr_before=before["asr"])
    yield Log(f"before: acc {before['acc']:.4f}  asr {before['asr']:.4f}")
    job.lap("evaluation-before")
    check_cancel(job.cancel)
    plan = None
    try:  # the pruned units stay cut however the job ends
        if settings.method == "fineprune":
            plan, info = yield from _prune(model, clean, settings)
            pruned = evaluate(net, data.sets, cfg.sim.timesteps, cfg.sim.encoder, device)
            metrics["pruning"] = info
            metrics.update(acc_pruned=pruned["acc"], asr_pruned=pruned["asr"])
            yield Log(
                f"pruned {info['pruned_units']} of {info['units']} units of {info['layer']} "
                f"({info['silent_units']} silent on clean data): "
                f"acc {pruned['acc']:.4f}  asr {pruned['asr']:.4f}"
            )
            job.lap("pruning")
        after = dict(before) if plan is None else {"acc": pruned["acc"], "asr": pruned["asr"]}
        if settings.method == "reconvert":
            train = _train_settings(settings, cfg, settings.lr, settings.epochs)
            net, cfg, info = yield from reconvert_clean(model, data, clean, train, job.cancel)
            metrics.update(info)
            after = evaluate(net, data.sets, cfg.sim.timesteps, cfg.sim.encoder, device)
        else:
            phases = [(settings.method, settings.lr, settings.epochs)]
            if settings.settle_epochs:
                phases.append((f"{settings.method}-settle", settings.lr * SETTLE_LR_FACTOR,
                               settings.settle_epochs))  # fmt: skip
            for stage, lr, epochs in phases:
                if epochs <= 0:
                    continue
                train = _train_settings(settings, cfg, lr, epochs)
                after = yield from train_epochs(
                    net, clean, data.sets, train, device, stage, job.cancel
                )
        job.lap(settings.method)
    finally:
        if plan is not None:
            pruning.make_permanent(plan)
    metrics.update(acc=after["acc"], asr=after["asr"])
    metrics["acc_drop"] = before["acc"] - after["acc"]
    metrics["asr_drop"] = before["asr"] - after["asr"]
    if job.rundir is not None:
        path = job.rundir.checkpoint_path(settings.method)
        save_checkpoint(
            path, net, cfg, data.splits.image_shape, data.splits.classes,
            {"stage": settings.method, "source": str(model.path)},
        )  # fmt: skip
        metrics["checkpoint"] = path.name
    yield Log(f"after {settings.method}: acc {after['acc']:.4f}  asr {after['asr']:.4f}")
