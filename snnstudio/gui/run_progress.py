"""Progress and ETA over a whole run, not one stage: the run's plan (RunPlanned: every stage
with its batches and estimated seconds) weighs each stage, and StageStarted / BatchDone say
where the run is. The ETA is measured, not the estimate's: the rate of progress since the
first batch seen (a resumed run starts part-way), so a loaded machine lengthens it."""

from __future__ import annotations

from snnstudio.core.events import PlannedStage


class RunProgress:
    """Where a run is, as a fraction of all its work, and how long the rest should take."""

    def __init__(self, plan: tuple[PlannedStage, ...] = ()) -> None:
        self.stages = [s.stage for s in plan]
        seconds = [max(0.0, s.seconds) for s in plan]
        if sum(seconds) <= 0:  # no estimate: every batch weighs the same
            seconds = [float(max(s.steps, 1)) for s in plan]
        total = sum(seconds) or 1.0
        self.weights = [s / total for s in seconds]
        self._current = -1  # index in the plan of the stage running
        self._in_stage = 0.0  # its fraction done
        self._start: tuple[float, float] | None = None  # (time, fraction) at the first batch

    def stage_started(self, stage: str) -> None:
        """A stage began; one the plan does not know gets a share of its own."""
        if stage in self.stages[self._current + 1 :]:
            self._current = self.stages.index(stage, self._current + 1)
        else:  # unplanned: the runs's known work so far and this stage weigh alike
            self.stages.append(stage)
            share = 1.0 / len(self.stages)
            self.weights = [w * (1 - share) for w in self.weights] + [share]
            self._current = len(self.stages) - 1
        self._in_stage = 0.0

    def batch_done(self, step: int, total_steps: int, now: float) -> None:
        self._in_stage = min(1.0, step / max(1, total_steps))
        if self._start is None:
            self._start = (now, self.fraction)

    @property
    def fraction(self) -> float:
        """The share of the whole run done, 0 to 1."""
        if self._current < 0:
            return 0.0
        done = sum(self.weights[: self._current])
        return min(1.0, done + self.weights[self._current] * self._in_stage)

    def eta(self, now: float) -> float | None:
        """Seconds left for the whole run at the rate measured so far (None until known)."""
        if self._start is None:
            return None
        started, first = self._start
        gained, elapsed = self.fraction - first, now - started
        if gained <= 0 or elapsed <= 0:
            return None
        return (1.0 - self.fraction) * elapsed / gained
