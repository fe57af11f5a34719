"""A sweep as a generator of small events: the CLI, the GUI and the tests drive this one.

DIR/sweep.toml holds the resolved spec, DIR/runs/<point> one ordinary run directory per
point, DIR/results.csv one row per point, rewritten as each point finishes, DIR/ann-twins
the ANN twins LR_C and LR_H points trained, each reused by every point whose ANN twin would
be the same (`ann_reuse`; core/rules/ann_cache.py). Running the same spec into the same DIR
again reads the completed points instead of training them; given other sweep folders
(`reuse_runs`), it copies a point one of them completed with the same config (run_reuse.py).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.atomic_files import write_text_atomic
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken
from snnstudio.core.rundir import RUN_FILE, RunKind, mark_run_dir
from snnstudio.core.sweep.backends import Backend, check_backend, make_backend
from snnstudio.core.sweep.point_jobs import PointOutcome, PointTask, completed_point
from snnstudio.core.sweep.results import (
    ANN_TWINS_FOLDER,
    RESULTS_FILE,
    RUNS_FOLDER,
    SPEC_FILE,
    point_row,
    write_results,
)
from snnstudio.core.sweep.run_reuse import (
    check_reuse_sources,
    copy_completed_run,
    find_completed_run,
)
from snnstudio.core.sweep.spec import SweepPoint, SweepSpec, load_written_spec

POLL_SECONDS = 0.25
POINT_THREADS = 1  # torch threads of every point, whatever the backend (core/threads.py)


@dataclass(frozen=True)
class SweepStarted:
    name: str
    out_dir: str
    axes: list[str]
    total: int
    to_run: int  # the others were completed by an earlier invocation, or copied
    copied: int = 0  # of those, copied from the reuse_runs folders this time


@dataclass(frozen=True)
class PointStarted:
    """A point went to a worker."""

    index: int
    label: str
    run_dir: str


@dataclass(frozen=True)
class PointFinished:
    """A point ended (or, with `reused`, was read from an earlier invocation or copied from
    another sweep: its row's `copied_from`); `row` is its results.csv row."""

    index: int
    row: dict[str, Any]
    reused: bool = False


@dataclass(frozen=True)
class SweepFinished:
    status: str  # completed (every point ran, some may have failed) | cancelled
    counts: dict[str, int] = field(default_factory=dict)
    out_dir: str = ""
    seconds: float = 0.0


SweepEvent = SweepStarted | PointStarted | PointFinished | SweepFinished


def point_run_dir(out_dir: Path, point: SweepPoint) -> Path:
    return out_dir / RUNS_FOLDER / point.name


def run_sweep(
    spec: SweepSpec, out_dir: str | Path, workers: int = 1, backend: str = "local",
    ray_address: str | None = None, cancel: CancelToken | None = None, ann_reuse: bool = True,
    reuse_runs: Sequence[str | Path] = (),
) -> Iterator[SweepEvent]:  # fmt: skip
    """Run every point of `spec` not completed yet into `out_dir`, yielding events.

    A failed point is recorded and the others go on. Cancelling stops running points
    after their current batch and starts no new one; finished points are kept. With
    `ann_reuse`, points share the ANN twins they train through `out_dir`/ann-twins. A point
    not completed here that has no run folder yet is copied from the first of `reuse_runs`
    (sweep folders) that completed it with the same config but its name.
    """
    started = time.perf_counter()
    check_backend(backend, workers)
    out = Path(out_dir)
    sources = check_reuse_sources([Path(s) for s in reuse_runs], out)
    points = spec.points()
    _claim_folder(spec, out)
    rows: dict[int, dict[str, Any]] = {}
    to_run: list[SweepPoint] = []
    copied = 0
    for point in points:
        run_dir = point_run_dir(out, point)
        metrics = completed_point(spec.job, point.config, run_dir, spec.job_settings)
        if metrics is None and sources and not run_dir.exists():
            metrics = _copy_from(sources, spec, point, run_dir)
            copied += metrics is not None
        if metrics is None:
            to_run.append(point)
        else:
            rows[point.index] = point_row(point, "completed", metrics, _relative(point))
    if copied:
        _write(out, spec, rows)
    yield SweepStarted(spec.name, str(out), spec.axes, len(points), len(to_run), copied)
    for index in sorted(rows):
        yield PointFinished(index, rows[index], reused=True)
    if to_run and not _cancelled(cancel):
        runner = make_backend(backend, workers, ray_address)
        try:
            cache = str(out / ANN_TWINS_FOLDER) if ann_reuse else ""
            yield from _drive(runner, spec, out, to_run, rows, cancel, cache)
        finally:
            runner.close()
    for point in to_run:
        if point.index not in rows:
            rows[point.index] = point_row(point, "cancelled", {}, "", "not run: the sweep stopped")
    _write(out, spec, rows)
    counts = {s: sum(r["status"] == s for r in rows.values()) for s in ("completed", "failed")}
    counts["cancelled"] = len(points) - counts["completed"] - counts["failed"]
    status = "cancelled" if _cancelled(cancel) else "completed"
    yield SweepFinished(status, counts, str(out), time.perf_counter() - started)


def _drive(
    runner: Backend, spec: SweepSpec, out: Path, to_run: list[SweepPoint],
    rows: dict[int, dict[str, Any]], cancel: CancelToken | None, ann_cache: str,
) -> Iterator[SweepEvent]:  # fmt: skip
    waiting = deque(to_run)
    by_index = {p.index: p for p in to_run}
    in_flight = 0
    told_to_stop = False
    while waiting or in_flight:
        while waiting and in_flight < runner.slots and not _cancelled(cancel):
            point = waiting.popleft()
            run_dir = point_run_dir(out, point)
            runner.submit(_task(spec, point, run_dir, ann_cache))
            in_flight += 1
            yield PointStarted(point.index, point.label(), str(run_dir))
        if _cancelled(cancel):
            waiting.clear()
            if not told_to_stop:
                runner.cancel()
                told_to_stop = True
        for outcome in runner.finished(POLL_SECONDS):
            in_flight -= 1
            point = by_index[outcome.index]
            rows[point.index] = _outcome_row(out, point, outcome)
            _write(out, spec, rows)
            yield PointFinished(point.index, rows[point.index])


def _copy_from(
    sources: list[Path], spec: SweepSpec, point: SweepPoint, run_dir: Path
) -> dict[str, Any] | None:
    """The metrics of the point as copied from a run in `sources`, None when none matches."""
    source_run = find_completed_run(spec.job, point.config, spec.job_settings, sources)
    if source_run is None:
        return None
    copy_completed_run(source_run, run_dir, point.config)
    return completed_point(spec.job, point.config, run_dir, spec.job_settings)


def _task(spec: SweepSpec, point: SweepPoint, run_dir: Path, ann_cache: str) -> PointTask:
    return PointTask(
        point.index, config_io.to_dict(point.config), str(run_dir), spec.job,
        spec.job_settings, POINT_THREADS, ann_cache,
    )  # fmt: skip


def _outcome_row(out: Path, point: SweepPoint, outcome: PointOutcome) -> dict[str, Any]:
    run_dir = _relative(point) if point_run_dir(out, point).exists() else ""
    return point_row(point, outcome.status, outcome.metrics, run_dir, outcome.error)


def _relative(point: SweepPoint) -> str:
    return f"{RUNS_FOLDER}/{point.name}"


def _write(out: Path, spec: SweepSpec, rows: dict[int, dict[str, Any]]) -> None:
    write_results(out / RESULTS_FILE, spec.axes, [rows[i] for i in sorted(rows)])


def _claim_folder(spec: SweepSpec, out: Path) -> None:
    """Write the resolved spec, refusing a folder that holds another sweep or a run."""
    spec_file = out / SPEC_FILE
    resuming = spec_file.is_file()
    if resuming:
        try:
            earlier = load_written_spec(spec_file)
        except ConfigError as exc:
            raise ConfigError(f"{out} holds an unreadable sweep: {exc}") from None
        if earlier.to_dict() != spec.to_dict():
            raise ConfigError(
                f"{out} holds a different sweep ('{earlier.name}'); choose another --out "
                "or rerun that sweep's own spec (its sweep.toml) to resume it"
            )
    elif out.is_dir() and any(p.name != RUN_FILE for p in out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no sweep; choose another --out")
    if not (resuming and (out / RUN_FILE).is_file()):  # a resume keeps when it was created
        mark_run_dir(out, RunKind.SWEEP)
    (out / RUNS_FOLDER).mkdir(exist_ok=True)
    write_text_atomic(spec_file, spec.dumps())


def _cancelled(cancel: CancelToken | None) -> bool:
    return cancel is not None and cancel.cancelled
