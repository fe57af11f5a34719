"""Backdoor elimination on a small clean set, as events.

The methods are the registry's (`elimination_methods.METHODS`): plain fine-tuning (the
paper's), super-fine-tuning, FT-SAM, NAD, fine-pruning, and clean re-conversion + STDB for
conversion/hybrid models. This module runs one of them on a checkpoint as a job
(`core.jobs`): it loads the data and the checkpoint's trigger, scores ACC/ASR before, runs
the method and writes the run directory: metrics.json (acc/asr before and after, the
method's own numbers), history.csv (one row per fine-tuning epoch), the new checkpoint
`<method>.pt` (with a copy of the dynamic trigger's trigger.pt beside it, so that it can be
detected and eliminated again), config.toml and log.txt.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterator
from dataclasses import asdict
from pathlib import Path

from snnstudio.core.attack.saved_trigger import save_dynamic_trigger
from snnstudio.core.checkpoint import save_checkpoint
from snnstudio.core.defense.elimination_methods import (
    DEFAULT_METHOD,
    METHODS,
    EliminationSettings,
    MethodJob,
    method_names,
    method_of,
    require_method_fits,
)
from snnstudio.core.defense.loading import LoadedModel, clean_fraction_subset, load_model
from snnstudio.core.events import CancelToken, Event, Log, check_cancel
from snnstudio.core.jobs import Job, run_job
from snnstudio.core.rundir import TRIGGER_FILE, RunKind
from snnstudio.core.training import evaluate

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "EliminationSettings",
    "method_names",
    "run_elimination",
]


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
    require_method_fits(method_of(settings), model)
    metrics = {"method": settings.method, "settings": asdict(settings)}
    body = functools.partial(_elimination, model, settings)
    yield from run_job(
        body, "elimination", out_dir, model.config, RunKind.ELIMINATION, cancel, metrics
    )


def _elimination(
    model: LoadedModel, settings: EliminationSettings, job: Job
) -> Generator[Event, None, None]:
    cfg, device, metrics = model.config, model.device, job.metrics
    yield Log(f"loading dataset '{cfg.data.name}' and the checkpoint's trigger")
    data = model.prepared_data()
    clean = clean_fraction_subset(data.splits.train, settings.clean_fraction, settings.seed)
    metrics["clean_samples"] = len(clean)
    job.lap("data")
    before = evaluate(model.network, data.sets, cfg.sim.timesteps, cfg.sim.encoder, device)
    metrics.update(acc_before=before["acc"], asr_before=before["asr"])
    yield Log(f"before: acc {before['acc']:.4f}  asr {before['asr']:.4f}")
    job.lap("evaluation-before")
    check_cancel(job.cancel)
    method_job = MethodJob(model, data, clean, settings, job.cancel, metrics, cfg)
    net, after = yield from method_of(settings).run(method_job)
    job.lap(settings.method)
    metrics.update(acc=after["acc"], asr=after["asr"])
    metrics["acc_drop"] = before["acc"] - after["acc"]
    metrics["asr_drop"] = before["asr"] - after["asr"]
    if job.rundir is not None:
        if model.trigger is not None:  # first: the checkpoint is never without its trigger
            save_dynamic_trigger(job.rundir.file(TRIGGER_FILE), model.trigger, method_job.config)
        path = job.rundir.checkpoint_path(settings.method)
        save_checkpoint(
            path, net, method_job.config, data.splits.image_shape, data.splits.classes,
            {"stage": settings.method, "source": str(model.path)},
        )  # fmt: skip
        metrics["checkpoint"] = path.name
    yield Log(f"after {settings.method}: acc {after['acc']:.4f}  asr {after['asr']:.4f}")
