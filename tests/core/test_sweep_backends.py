"""The local sweep backend when a worker process dies under a point, or its sweep does."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from snnstudio.core.sweep.backends import LocalBackend
from snnstudio.core.sweep.point_jobs import PointOutcome, PointTask
from tests.core.dying_worker import die_on_point_zero
from tests.core.sweep_specs import tiny_spec


def _outcomes(backend: LocalBackend, count: int, limit_s: float = 120) -> list[PointOutcome]:
    out: list[PointOutcome] = []
    deadline = time.monotonic() + limit_s
    while len(out) < count and time.monotonic() < deadline:
        out.extend(backend.finished(timeout=1.0))
    return out


def test_a_dead_worker_fails_its_point_and_the_next_points_still_run():
    backend = LocalBackend(1, run=die_on_point_zero)
    try:
        backend.submit(PointTask(0, {}, ""))
        first = _outcomes(backend, 1)
        assert [o.status for o in first] == ["failed"]
        assert "worker process died" in first[0].error and "out-of-memory" in first[0].error
        for index in (1, 2):  # the broken pool was replaced: these points run
            backend.submit(PointTask(index, {}, ""))
        rest = _outcomes(backend, 2)
        assert sorted((o.index, o.status) for o in rest) == [(1, "completed"), (2, "completed")]
    finally:
        backend.close()


def test_a_point_submitted_after_the_pool_broke_unseen_still_runs():
    backend = LocalBackend(1, run=die_on_point_zero)
    try:
        backend.submit(PointTask(0, {}, ""))
        time.sleep(5)  # the worker is dead, but finished() has not looked yet
        backend.submit(PointTask(1, {}, ""))
        outcomes = {o.index: o.status for o in _outcomes(backend, 2)}
        assert outcomes == {0: "failed", 1: "completed"}
    finally:
        backend.close()


def test_a_worker_whose_sweep_is_gone_cancels_its_point(tmp_path: Path) -> None:
    """The sweep process killed outright (SIGKILL here; SIGTERM and a closed terminal end it
    the same way) leaves no orphan running the point: its worker sees the parent gone at the
    next batch and ends the point cancelled, its finished epochs kept for a resume."""
    spec = tmp_path / "long.toml"
    spec.write_text(
        tiny_spec('[grid]\n"poison.rate" = [0.1]').replace(
            '"train.epochs" = 2', '"train.epochs" = 500'
        )
    )
    out = tmp_path / "sweep"
    env = {**os.environ, "SNNSTUDIO_THREADS": "1"}
    command = [sys.executable, "-m", "snnstudio", "sweep", str(spec), "--out", str(out), "--quiet"]
    sweep = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300
        while _epochs(out) < 1:
            assert sweep.poll() is None and time.monotonic() < deadline, "the point never trained"
            time.sleep(0.5)
        workers = psutil.Process(sweep.pid).children(recursive=True)
        sweep.kill()
        sweep.wait()
        _, alive = psutil.wait_procs(workers, timeout=120)
        assert not alive, f"orphaned workers still running: {[p.pid for p in alive]}"
    finally:  # nothing this test started outlives it, whichever assertion failed
        if sweep.poll() is None:
            sweep.kill()
        for process in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
    (run,) = out.glob("runs/*")
    assert json.loads((run / "metrics.json").read_text())["status"] == "cancelled"
    assert _epochs(out) >= 1


def _epochs(out: Path) -> int:
    """Epochs the sweep's points have written to their history.csv (header aside)."""
    rows = (p.read_text().splitlines()[1:] for p in out.glob("runs/*/history.csv"))
    return sum(len(r) for r in rows)
