"""The small events a long job yields, and the token that cancels it.

Every long job in snnstudio is a generator of these dataclasses. Tests drive the generator
directly, the CLI prints it, and the GUI relays it from one worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Log:
    """A line for the log pane and log.txt."""

    message: str


@dataclass(frozen=True)
class StageStarted:
    """A stage of an experiment begins (for example 'backdoored' or 'clean-twin')."""

    stage: str
    total_steps: int


@dataclass(frozen=True)
class BatchDone:
    """One optimisation step finished; `step` counts from 1 to the stage's total_steps."""

    stage: str
    epoch: int
    step: int
    total_steps: int
    loss: float
    batch_acc: float


@dataclass(frozen=True)
class EpochDone:
    """Metrics after one epoch of one stage."""

    stage: str
    epoch: int
    acc: float
    asr: float
    loss: float
    seconds: float


@dataclass(frozen=True)
class TimestepCurve:
    """ACC and ASR of a model read out after every timestep t = 1..len(acc)."""

    stage: str
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


Event = Log | StageStarted | BatchDone | EpochDone | TimestepCurve | DetectionResult | RunFinished
