"""What one sweep point runs: a registry of point jobs, and the one function a worker calls.

A point job takes the point's config, its run directory, a cancel token, the spec's
`[job_settings]` and the sweep's ANN-twin cache folder (None: no reuse), and yields the events
of an ordinary run ending in RunFinished. The
default, `experiment`, is `snnstudio run`; `train-eliminate` trains, then removes the
backdoor (the paper's Fig. 12). Other jobs register here under their own name.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken, Event, RunFinished
from snnstudio.core.sweep import elimination_job
from snnstudio.core.sweep.experiment_job import (
    check_no_settings,
    completed_experiment,
    experiment_job,
)
from snnstudio.core.threads import apply_thread_policy

JobRun = Callable[
    [config_io.ExperimentConfig, Path, CancelToken | None, dict[str, Any], Path | None],
    Iterator[Event],
]
JobCompleted = Callable[[config_io.ExperimentConfig, Path, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class PointJob:
    """A point job: its run, the metrics of a point an earlier invocation completed (None
    when it must run), and the check of `[job_settings]` (ConfigError) when a spec is read."""

    run: JobRun
    completed: JobCompleted
    check_settings: Callable[[dict[str, Any]], None]


POINT_JOBS: dict[str, PointJob] = {
    "experiment": PointJob(experiment_job, completed_experiment, check_no_settings),
    elimination_job.JOB_NAME: PointJob(
        elimination_job.train_then_eliminate_job,
        elimination_job.completed_train_then_eliminate,
        elimination_job.check_settings,
    ),
}


def point_job_names() -> list[str]:
    return sorted(POINT_JOBS)


def check_job(job: str, settings: dict[str, Any]) -> None:
    """ConfigError when `job` is unknown or `settings` are not its `[job_settings]`."""
    if job not in POINT_JOBS:
        raise ConfigError(f"job = {job!r} is not one of: {', '.join(point_job_names())}")
    POINT_JOBS[job].check_settings(settings)


def completed_point(
    job: str, cfg: config_io.ExperimentConfig, run_dir: Path, settings: dict[str, Any]
) -> dict[str, Any] | None:
    """The metrics of a point that an earlier invocation completed, else None."""
    return POINT_JOBS[job].completed(cfg, run_dir, settings)


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to run one point (plain data: it crosses process boundaries)."""

    index: int
    config: dict[str, Any]
    run_dir: str
    job: str = "experiment"
    job_settings: dict[str, Any] = field(default_factory=dict)
    threads: int = 1  # the thread policy's count for a sweep worker; Ray's num_cpus
    ann_cache: str = ""  # the sweep's folder of trained ANN twins to reuse ("" = no reuse)


@dataclass(frozen=True)
class PointOutcome:
    """How a point ended: completed, cancelled or failed (with the error)."""

    index: int
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def run_point(task: PointTask, cancel: CancelToken | None) -> PointOutcome:
    """Run one point to its end in this process; any exception becomes a failed outcome."""
    apply_thread_policy(task.threads, role="worker")  # this process keeps that count for good
    run_dir = Path(task.run_dir)
    try:
        cfg = config_io.from_dict(task.config)
        finished: RunFinished | None = None
        ann_cache = Path(task.ann_cache) if task.ann_cache else None
        for event in POINT_JOBS[task.job].run(cfg, run_dir, cancel, task.job_settings, ann_cache):
            if isinstance(event, RunFinished):
                finished = event
    except KeyboardInterrupt:  # Ray passes a cancel on as an interrupt
        return PointOutcome(task.index, "cancelled")
    except Exception as exc:  # a failed point is recorded; the sweep goes on
        message = f"{type(exc).__name__}: {exc}"
        _write_error(run_dir, message, traceback.format_exc())
        return PointOutcome(task.index, "failed", error=message)
    if finished is None:
        return PointOutcome(task.index, "failed", error="the job ended without a result")
    return PointOutcome(task.index, finished.status, dict(finished.metrics))


def _write_error(run_dir: Path, message: str, details: str) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.txt").write_text(f"{message}\n\n{details}", encoding="utf-8")
    except OSError:
        pass  # the error still reaches results.csv
