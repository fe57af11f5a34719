"""The one skeleton of a long job: its run directory, timer, cancellation and final event.

An experiment, a detection and an elimination differ only in their bodies. `run_job` makes
the run directory (when asked), times the body, turns `Cancelled` into a log line, records
every event into the run directory (and the error of a failed job into its log), and ends
with the one `RunFinished` whose metrics hold `status` and `seconds`: one shape in every job,
{stage: seconds, ..., "total": seconds}, where a stage made of parts (LR_C: ANN training,
conversion, ...) maps to {part: seconds}.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.events import Cancelled, CancelToken, Event, Log, RunFinished
from snnstudio.core.laps import LapClock
from snnstudio.core.rundir import RunDirectory, RunKind, recorded


@dataclass
class Job:
    """What a job body works with and fills in.

    Attributes
    ----------
    rundir : the run directory, or None when the job writes no files.
    cancel : the token the body checks between batches.
    metrics : what metrics.json and RunFinished will carry (the body adds to it).
    seconds : seconds per stage; `lap(stage)` adds one, `run_job` adds "total".
    """

    rundir: RunDirectory | None
    cancel: CancelToken | None
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, Any] = field(default_factory=dict)
    clock: LapClock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = LapClock(self.seconds)

    @property
    def started(self) -> float:
        return self.clock.started

    def lap(self, stage: str) -> float:
        """Charge the seconds since the last lap (or the start) to `stage`; return them."""
        return self.clock.lap(stage)

    def restart_lap(self) -> None:
        """Start the next lap now (when a stage's seconds were recorded another way)."""
        self.clock.restart()

    def file(self, name: str) -> Path | None:
        """The path of a file of this job's run directory, or None without one."""
        return None if self.rundir is None else self.rundir.file(name)


JobBody = Callable[[Job], Generator[Event, None, None]]


def run_job(
    body: JobBody,
    noun: str,
    out_dir: str | Path | None,
    cfg: ExperimentConfig,
    kind: RunKind,
    cancel: CancelToken | None,
    metrics: dict[str, Any] | None = None,
    finish: Callable[[Job, str], None] | None = None,
    resume: bool = False,
) -> Iterator[Event]:
    """Run `body` as a job of `kind`, yielding its events and then RunFinished.

    Parameters
    ----------
    body : the job's work; it reads and fills `Job.metrics` / `Job.seconds`.
    noun : how log lines name the job ('run', 'detection', 'elimination').
    out_dir : the run directory to make (None: no files).
    cfg : the config recorded as the run's config.toml.
    finish : called with the job and its status after the body ended (also when it was
        cancelled), before RunFinished: for files written from what the body got done.
    resume : `out_dir` holds a stopped run that the body continues (RunDirectory's resume).
    """
    rundir = RunDirectory(out_dir, cfg, kind, resume) if out_dir is not None else None
    job = Job(rundir, cancel, dict(metrics or {}))
    yield from recorded(_skeleton(body, job, noun, finish), rundir)


def _skeleton(
    body: JobBody, job: Job, noun: str, finish: Callable[[Job, str], None] | None
) -> Generator[Event, None, None]:
    status = "completed"
    try:
        yield from body(job)
    except Cancelled:
        status = "cancelled"
        yield Log(f"{noun} cancelled; files written so far are kept")
    job.seconds["total"] = time.perf_counter() - job.started
    job.metrics["seconds"] = job.seconds
    job.metrics["status"] = status
    if finish is not None:
        finish(job, status)
    out = str(job.rundir.path) if job.rundir is not None else None
    yield RunFinished(status, job.metrics, out)
