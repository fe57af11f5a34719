"""Elimination methods (`--method`) -> how each removes a backdoor, and their settings.

Every method is an `EliminationMethod` in `METHODS`: a title for the GUI, its defaults for
the settings left at None, whether it needs a converted model, and a generator that
changes a `MethodJob`'s network and returns the ACC/ASR after. The CLI's options and the
GUI's form are generated from `EliminationSettings` (`options.options`), whose `method`
choices are this registry's names, default first.

The methods' names, titles and defaults are `settings.METHOD_SPECS` (torch-free, for the
CLI); the default method, the first, was chosen from benchmarks/elimination_methods.py.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.defense import pruning
from snnstudio.core.defense.finetuning import (
    Distillation,
    Recipe,
    fine_tune,
    teacher_copy,
)
from snnstudio.core.defense.layer_names import layer_labels
from snnstudio.core.defense.loading import LoadedModel
from snnstudio.core.defense.reconversion import reconvert_clean, require_converted
from snnstudio.core.defense.settings import (
    DEFAULT_METHOD,
    METHOD_SPECS,
    EliminationSettings,
    MethodSpec,
)
from snnstudio.core.events import CancelToken, Event, Log
from snnstudio.core.metrics import accuracy, predict
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.probe import record_dataset
from snnstudio.core.runner import PreparedData
from snnstudio.core.training import TrainSettings, evaluate

SETTLE_LR_FACTOR = 0.1


@dataclass
class MethodJob:
    """What a method works on: the loaded model, its data, the defender's clean share."""

    model: LoadedModel
    data: PreparedData
    clean: SampleSet
    settings: EliminationSettings  # resolved: no None left
    cancel: CancelToken | None
    metrics: dict[str, Any]  # the method adds its own numbers here
    config: ExperimentConfig  # the config the cleaned network runs under (reconvert changes it)

    @property
    def net(self) -> SpikingNetwork:
        return self.model.network

    def recipe(self, epochs: int, lr: float, schedule: str = "constant",
               sam_rho: float = 0.0) -> Recipe:  # fmt: skip
        s, cfg = self.settings, self.model.config
        return Recipe(
            epochs=epochs, lr=lr, optimizer=s.optimizer or "adam",
            batch_size=s.batch_size or cfg.train.batch_size, timesteps=cfg.sim.timesteps,
            encoder=cfg.sim.encoder, seed=s.seed, schedule=schedule, sam_rho=sam_rho,
        )  # fmt: skip

    def tune(self, net: SpikingNetwork, recipe: Recipe, stage: str,
             loss_fn: Any = None) -> Generator[Event, None, dict[str, float]]:  # fmt: skip
        """Fine-tune `net` by `recipe` as one stage of events."""
        extra = {} if loss_fn is None else {"loss_fn": loss_fn}
        return (
            yield from fine_tune(
                net, self.clean, self.data.sets, recipe, self.model.device, stage, self.cancel,
                **extra,
            )
        )  # fmt: skip


MethodRun = Callable[[MethodJob], Generator[Event, None, tuple[SpikingNetwork, dict[str, float]]]]


@dataclass(frozen=True)
class EliminationMethod:
    spec: MethodSpec  # name, title, defaults (settings.METHOD_SPECS)
    run: MethodRun  # returns the cleaned network and its ACC/ASR

    @property
    def name(self) -> str:
        return self.spec.name


def _fine_tuning(job: MethodJob) -> Generator[Event, None, tuple[SpikingNetwork, dict]]:
    """One fine-tuning stage by the settings (schedule, SAM radius), then the settle stage:
    plain steps at a tenth of the rate, to let clean accuracy recover."""
    s = job.settings
    assert s.epochs is not None and s.lr is not None and s.settle_epochs is not None
    recipe = job.recipe(s.epochs, s.lr, s.schedule or "constant", s.sam_rho or 0.0)
    after = yield from job.tune(job.net, recipe, s.method)
    if s.settle_epochs > 0:
        settle = job.recipe(s.settle_epochs, s.lr * SETTLE_LR_FACTOR)  # plain steps
        after = yield from job.tune(job.net, settle, f"{s.method}-settle")
    return job.net, after


def _distillation(job: MethodJob) -> Generator[Event, None, tuple[SpikingNetwork, dict]]:
    """NAD: fine-tune a copy into the teacher, then distil its attention into the model."""
    s = job.settings
    assert s.teacher_epochs is not None and s.teacher_lr is not None and s.nad_beta is not None
    assert s.epochs is not None and s.lr is not None
    teacher = teacher_copy(job.net)
    teacher_after = yield from job.tune(
        teacher, job.recipe(s.teacher_epochs, s.teacher_lr, s.schedule or "constant"),
        f"{s.method}-teacher",
    )  # fmt: skip
    job.metrics.update(acc_teacher=teacher_after["acc"], asr_teacher=teacher_after["asr"])
    yield Log(f"teacher: acc {teacher_after['acc']:.4f}  asr {teacher_after['asr']:.4f}")
    loss = Distillation(job.net, teacher, s.nad_feature or "rate", s.nad_beta)
    try:
        after = yield from job.tune(job.net, job.recipe(s.epochs, s.lr), s.method, loss)
    finally:
        loss.remove()
    return job.net, after


def _fine_pruning(job: MethodJob) -> Generator[Event, None, tuple[SpikingNetwork, dict]]:
    """Cut the units least active on clean data (as many as keep the clean-set accuracy
    within tolerance), fine-tune with them held at zero, then bake the zeros in."""
    plan, info = yield from _prune(job)
    cfg = job.model.config
    pruned = evaluate(job.net, job.data.sets, cfg.sim.timesteps, cfg.sim.encoder, job.model.device)
    job.metrics["pruning"] = info
    job.metrics.update(acc_pruned=pruned["acc"], asr_pruned=pruned["asr"])
    yield Log(
        f"pruned {info['pruned_units']} of {info['units']} units of {info['layer_label']} "
        f"({info['silent_units']} silent on clean data): "
        f"acc {pruned['acc']:.4f}  asr {pruned['asr']:.4f}"
    )
    try:
        _, after = yield from _fine_tuning(job)
    finally:
        pruning.make_permanent(plan)  # also when cancelled: the checkpoint keeps its names
    return job.net, after


def _prune(job: MethodJob) -> Generator[Event, None, tuple[pruning.PrunePlan, dict[str, Any]]]:
    cfg, net, settings, clean = job.model.config, job.net, job.settings, job.clean
    layer = settings.layer or pruning.default_prune_layer(net)
    pruning.path_to_linear(net, layer)  # a clear error before the recording
    recording = record_dataset(
        net, clean, cfg.sim.timesteps, cfg.sim.encoder, job.model.device, [layer]
    )
    plan = pruning.plan_pruning(net, recording.layers[layer])
    label = layer_labels(net, tuple(job.data.splits.sample_shape)).get(layer, layer)

    def clean_acc(count: int) -> float:
        original = pruning.apply_mask_temporarily(plan, count)
        try:
            predicted = predict(net, clean, cfg.sim.timesteps, cfg.sim.encoder, job.model.device)
            return accuracy(predicted, clean.y)
        finally:
            pruning.restore(plan, original)

    base = clean_acc(0)
    limit = int(settings.prune_max_fraction * plan.units)
    step = max(1, round(settings.prune_step * plan.units))
    chosen, chosen_acc = 0, base
    for count in [*range(step, limit, step), limit]:
        acc = clean_acc(count)
        yield Log(f"pruning {count}/{plan.units} units of {label}: clean-set acc {acc:.4f}")
        if acc < base - settings.prune_acc_tolerance:
            break
        chosen, chosen_acc = count, acc
    pruning.attach_mask(plan, chosen)
    info = {
        "layer": plan.layer,
        "layer_label": label,  # as the detection and the window name it ('conv2 spikes ...')
        "units": plan.units,  # inputs of the Linear layer that reads the pruned layer
        "pruned_units": chosen,
        "silent_units": plan.silent_units,
        "clean_set_acc_before_pruning": base,
        "clean_set_acc_after_pruning": chosen_acc,
    }
    return plan, info


def _reconversion(job: MethodJob) -> Generator[Event, None, tuple[SpikingNetwork, dict]]:
    """Clean re-conversion, then clean STDB (conversion / hybrid checkpoints)."""
    s, cfg = job.settings, job.model.config
    assert s.epochs is not None and s.lr is not None
    train = TrainSettings(
        epochs=s.epochs, lr=s.lr, batch_size=s.batch_size or cfg.train.batch_size,
        timesteps=cfg.sim.timesteps, encoder=cfg.sim.encoder,
        poison_weight=cfg.train.poison_weight, clean_weight=cfg.train.clean_weight,
        seed=s.seed, optimizer=s.optimizer or "adam",
    )  # fmt: skip
    net, new_cfg, info = yield from reconvert_clean(
        job.model, job.data, job.clean, train, job.cancel
    )
    job.metrics.update(info)
    job.config = new_cfg
    sim = new_cfg.sim
    after = evaluate(net, job.data.sets, sim.timesteps, sim.encoder, job.model.device)
    return net, after


RUNS: dict[str, MethodRun] = {
    "superft": _fine_tuning,
    "finetune": _fine_tuning,
    "ftsam": _fine_tuning,
    "nad": _distillation,
    "fineprune": _fine_pruning,
    "reconvert": _reconversion,
}
METHODS: dict[str, EliminationMethod] = {
    spec.name: EliminationMethod(spec, RUNS[spec.name]) for spec in METHOD_SPECS
}


def method_names() -> list[str]:
    """The methods, the default first."""
    return list(METHODS)


def method_of(settings: EliminationSettings) -> EliminationMethod:
    return METHODS[settings.method]


def require_method_fits(method: EliminationMethod, model: LoadedModel) -> None:
    if method.spec.needs_converted:
        require_converted(model.config)


__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "EliminationMethod",
    "EliminationSettings",
    "MethodJob",
    "method_names",
]
