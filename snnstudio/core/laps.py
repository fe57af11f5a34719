"""The one lap timer: seconds per stage of a job or of a rule, charged lap by lap."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


class LapClock:
    """`lap(stage)` charges the seconds since the previous lap (or the start) to `stage`; a
    stage timed twice adds up. `seconds` may be a dict the caller holds (a job's, which also
    carries other entries), filled in place; `stages` start at 0 so that every one is
    reported even when it did not run."""

    def __init__(self, seconds: dict[str, Any] | None = None, stages: Iterable[str] = ()) -> None:
        self.seconds: dict[str, Any] = {} if seconds is None else seconds
        for stage in stages:
            self.seconds.setdefault(stage, 0.0)
        self.started = self._since = time.perf_counter()

    def lap(self, stage: str) -> float:
        """Charge the time since the last lap to `stage`; return that time."""
        now = time.perf_counter()
        spent = now - self._since
        self.seconds[stage] = self.seconds.get(stage, 0.0) + spent
        self._since = now
        return spent

    def restart(self) -> None:
        """Start the next lap now (when a stage's seconds were recorded another way)."""
        self._since = time.perf_counter()
