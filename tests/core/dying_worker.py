"""A sweep point function for the local backend's tests: point 0's worker process dies the way
one killed by the out-of-memory killer does (no exception, no clean-up); the others complete.

A module of its own because the pool's spawned workers import the function by name.
"""

from __future__ import annotations

import os

from snnstudio.core.sweep.point_jobs import PointOutcome, PointTask


def die_on_point_zero(task: PointTask) -> PointOutcome:
    if task.index == 0:
        os._exit(9)
    return PointOutcome(task.index, "completed", metrics={"acc": 1.0})
