"""The local sweep backend when a worker process dies under a point."""

from __future__ import annotations

import time

from snnstudio.core.sweep.backends import LocalBackend
from snnstudio.core.sweep.point_jobs import PointOutcome, PointTask
from tests.core.dying_worker import die_on_point_zero


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
