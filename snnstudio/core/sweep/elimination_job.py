"""The point job `train-eliminate` (the paper's Fig. 12): train the point's backdoored model
as the `experiment` job does, then remove the backdoor from it with `snnstudio eliminate`.

The point's run directory is the training run; its `elimination/` folder is the elimination
run (an ordinary elimination run directory). `[job_settings]` holds EliminationSettings
fields (method, clean_fraction, epochs, ...); those left out keep the dataclass defaults.
The point's metrics are the training run's plus ACC/ASR before and after the elimination,
the ASR drop and the ACC gain (`eliminated_metrics`), which the report tabulates.

A point stopped during training resumes its training; one stopped during the elimination
keeps its trained model and runs the elimination again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core import schema
from snnstudio.core.defense.settings import EliminationSettings
from snnstudio.core.errors import ConfigError, SnnStudioError
from snnstudio.core.events import CancelToken, Event, Log, RunFinished
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import MODEL_STAGE
from snnstudio.core.sweep.experiment_job import completed_experiment, experiment_job

JOB_NAME = "train-eliminate"
ELIMINATION_FOLDER = "elimination"


def elimination_settings(table: dict[str, Any]) -> EliminationSettings:
    """`[job_settings]` as checked EliminationSettings (the schema's types, ranges and
    choices); ConfigError names a bad key or value."""
    settings: EliminationSettings = schema.from_dict(table, EliminationSettings, "job_settings.")
    schema.raise_problems(settings, "job_settings.")
    return settings


def train_then_eliminate_job(
    cfg: config_io.ExperimentConfig, run_dir: Path, cancel: CancelToken | None,
    table: dict[str, Any], ann_cache: Path | None = None,
) -> Iterator[Event]:  # fmt: skip
    """Train (or reuse the completed training in `run_dir`), then eliminate; one RunFinished
    at the end with the point's metrics. A failed elimination raises (a failed point)."""
    from snnstudio.core.defense.elimination import run_elimination  # torch: in the worker

    settings = elimination_settings(table)
    trained = completed_experiment(cfg, run_dir)
    if trained is None:
        training = experiment_job(cfg, run_dir, cancel, {}, ann_cache)
        finished = yield from _without_finish(training)
        if finished.status != "completed":
            yield finished  # stopped while training: resumes from its last epoch
            return
        trained = finished.metrics
    else:
        yield Log(f"training completed earlier in {run_dir}; eliminating its model")
    model = open_run(run_dir).checkpoint(MODEL_STAGE)
    if model is None:
        raise ConfigError(f"{run_dir} completed training but holds no model checkpoint")
    yield Log(f"eliminating the backdoor: {settings.method}, clean share {settings.clean_fraction}")
    out = run_dir / ELIMINATION_FOLDER
    eliminated = yield from _without_finish(run_elimination(model, out, settings, cancel=cancel))
    if eliminated.status != "completed":
        yield RunFinished(eliminated.status, trained, str(run_dir))
        return
    yield RunFinished("completed", eliminated_metrics(trained, eliminated.metrics), str(run_dir))


def _without_finish(events: Iterator[Event]) -> Iterator[Event]:
    """Pass a job's events on but its RunFinished, which it returns (the point's own comes
    last)."""
    finished: RunFinished | None = None
    for event in events:
        if isinstance(event, RunFinished):
            finished = event
        else:
            yield event
    if finished is None:
        raise SnnStudioError("a job ended without a result")
    return finished


def eliminated_metrics(trained: dict[str, Any], eliminated: dict[str, Any]) -> dict[str, Any]:
    """The point's metrics: the training run's (acc, asr, ... of the trained model), the
    elimination's ACC/ASR before and after, its ASR drop and ACC gain (after minus before),
    and seconds of both jobs."""
    metrics = {k: v for k, v in trained.items() if k != "seconds"}
    metrics.update(
        elimination_method=eliminated["method"],
        clean_samples=eliminated["clean_samples"],
        acc_before=eliminated["acc_before"],
        asr_before=eliminated["asr_before"],
        acc_after=eliminated["acc"],
        asr_after=eliminated["asr"],
        asr_drop=eliminated["asr_before"] - eliminated["asr"],
        acc_gain=eliminated["acc"] - eliminated["acc_before"],
    )
    training, elimination = trained["seconds"]["total"], eliminated["seconds"]["total"]
    metrics["seconds"] = {
        "training": training, "elimination": elimination, "total": training + elimination,
    }  # fmt: skip
    metrics["status"] = "completed"
    return metrics


def completed_train_then_eliminate(
    cfg: config_io.ExperimentConfig, run_dir: Path, table: dict[str, Any]
) -> dict[str, Any] | None:
    """The point's metrics when both its training and its elimination (with these settings)
    completed earlier, else None."""
    trained = completed_experiment(cfg, run_dir)
    if trained is None:
        return None
    try:
        eliminated = open_run(run_dir / ELIMINATION_FOLDER).metrics()
    except (OSError, SnnStudioError):
        return None
    wanted = asdict(elimination_settings(table).resolved())
    if eliminated.get("status") != "completed" or eliminated.get("settings") != wanted:
        return None
    return eliminated_metrics(trained, eliminated)


def check_settings(table: dict[str, Any]) -> None:
    elimination_settings(table)
