"""The small events a long job yields, and the token that cancels it.

Every long job in snnstudio is a generator of these dataclasses. Tests drive the generator
directly, the CLI prints it, and the GUI relays it from one worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class CancelToken:
    """Thread-safe flag a job checks between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Cancelled(Exception):
    """Raised inside a job when its token was cancelled; runners turn it into a final event."""


def run_to_end(job: Generator[Any, None, T]) -> T:
    """Drive a job generator to its end without looking at its events; return its value."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value


def check_cancel(token: CancelToken | None) -> None:
    if token is not None and token.cancelled:
        raise Cancelled


class NetworkKind(StrEnum):
    """Which network a stage trains or measures."""

    SNN = "snn"
    ANN = "ann"  # the ANN twin of a conversion rule (LR_C, LR_H)


@dataclass(frozen=True)
class StageRole:
    """What a stage's numbers are of, typed (views style curves by it, never by stage names).

    Attributes
    ----------
    network : the SNN or its ANN twin.
    clean_twin : the model trained with PR = 0 beside the backdoored one (Table 1's deltas).
    """

    network: NetworkKind = NetworkKind.SNN
    clean_twin: bool = False


@dataclass(frozen=True)
class Log:
    """A line for the log pane and log.txt."""

    message: str


@dataclass(frozen=True)
class StageEvent:
    """An event of one stage of a job: its name ('backdoored', 'clean-twin', 'finetune', ...)
    and, keyword-only, its typed role."""

    stage: str
    role: StageRole = field(default=StageRole(), kw_only=True)


@dataclass(frozen=True)
class PlannedStage:
    """One stage a run will go through: its name (as StageStarted will give it), its batches
    (0 for work without batches, such as a conversion's calibration) and estimated seconds."""

    stage: str
    steps: int
    seconds: float


@dataclass(frozen=True)
class RunPlanned:
    """The stages of a run, in order, before the first starts: what a progress bar and an
    ETA over the whole run need (StageStarted only knows its own stage)."""

    stages: tuple[PlannedStage, ...]


@dataclass(frozen=True)
class StageStarted(StageEvent):
    """A stage of an experiment begins (for example 'backdoored' or 'clean-twin')."""

    total_steps: int


@dataclass(frozen=True)
class BatchDone(StageEvent):
    """One optimisation step finished; `step` counts from 1 to the stage's total_steps."""

    epoch: int
    step: int
    total_steps: int
    loss: float
    batch_acc: float


@dataclass(frozen=True)
class EpochDone(StageEvent):
    """Metrics after one epoch of one stage."""

    epoch: int
    acc: float
    asr: float
    loss: float
    seconds: float


@dataclass(frozen=True)
class TimestepCurve(StageEvent):
    """ACC and ASR of a model read out after every timestep t = 1..len(acc)."""

    acc: list[float]
    asr: list[float]


@dataclass(frozen=True)
class DetectionResult:
    """One finished part of a detection run ('sample-level', 'model-comparison',
    'reference-free'), with its JSON-able summary as in report.json."""

    section: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFinished:
    """The job ended; `status` is 'completed' or 'cancelled'."""

    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    out_dir: str | None = None


Event = (
    Log
    | RunPlanned
    | StageStarted
    | BatchDone
    | EpochDone
    | TimestepCurve
    | DetectionResult
    | RunFinished
)


def describe(event: Event) -> str | None:
    """The one line a log shows for `event` (log.txt, the terminal, the GUI's log pane);
    None for events that only move a progress bar."""
    if isinstance(event, Log):
        return event.message
    if isinstance(event, StageStarted):
        return f"stage {event.stage}: {event.total_steps} steps"
    if isinstance(event, EpochDone):
        return (
            f"{event.stage} epoch {event.epoch}: acc {event.acc:.4f}  asr {event.asr:.4f}  "
            f"loss {event.loss:.4f}  ({event.seconds:.1f} s)"
        )
    if isinstance(event, RunFinished):
        return f"run {event.status}"
    return None


def result_summary(metrics: dict[str, Any], digits: int | None = None) -> dict[str, Any]:
    """A finished job's metrics without the per-stage seconds, floats rounded to `digits`."""
    return {
        k: round(v, digits) if digits is not None and isinstance(v, float) else v
        for k, v in metrics.items()
        if k != "seconds"
    }
