"""What one sweep point runs: a registry of point jobs, and the one function a worker calls.

A point job takes the point's config, its run directory, a cancel token and the spec's
`[job_settings]`, and yields the events of an ordinary run ending in RunFinished. The
default, `experiment`, is `snnstudio run`; other jobs (for example an elimination after
training, for the paper's Fig. 12) register here under their own name.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import CancelToken, Event, RunFinished
from snnstudio.core.rundir import open_run
from snnstudio.core.threads import apply_thread_policy

PointJob = Callable[
    [config_io.ExperimentConfig, Path, CancelToken | None, dict[str, Any]], Iterator[Event]
]


def experiment_job(
    cfg: config_io.ExperimentConfig, run_dir: Path, cancel: CancelToken | None,
    settings: dict[str, Any],
) -> Iterator[Event]:  # fmt: skip
    """One ordinary experiment (`snnstudio run`) into `run_dir`; a point interrupted earlier
    (Stop, Ctrl-C, a killed worker) resumes from its last completed epoch."""
    from snnstudio.core.runner import run_experiment  # torch loads in the worker, not the parent

    return run_experiment(cfg, run_dir, cancel, resume=_interrupted(cfg, run_dir))


def _interrupted(cfg: config_io.ExperimentConfig, run_dir: Path) -> bool:
    """True when `run_dir` holds an unfinished run of exactly `cfg` with a saved epoch."""
    from snnstudio.core.resume import resume_state_exists
    from snnstudio.core.runner import why_not_resumable

    if not resume_state_exists(run_dir):
        return False
    try:
        record = open_run(run_dir)
        return record.config() == cfg and why_not_resumable(record) is None
    except (SnnStudioError, OSError):
        return False


POINT_JOBS: dict[str, PointJob] = {"experiment": experiment_job}


def point_job_names() -> list[str]:
    return sorted(POINT_JOBS)


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to run one point (plain data: it crosses process boundaries)."""

    index: int
    config: dict[str, Any]
    run_dir: str
    job: str = "experiment"
    job_settings: dict[str, Any] = field(default_factory=dict)
    threads: int = 1  # the thread policy's count for a sweep worker; Ray's num_cpus


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
        for event in POINT_JOBS[task.job](cfg, run_dir, cancel, task.job_settings):
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
