"""Print a run's events on a terminal: a tqdm bar per stage, a line per epoch."""

from __future__ import annotations

import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from snnstudio.core.events import (
    BatchDone,
    EpochDone,
    Event,
    Log,
    RunFinished,
    StageStarted,
    describe,
    result_summary,
)


class ProgressPrinter:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None
        self.status = "running"

    def show(self, event: Event) -> None:
        if isinstance(event, StageStarted):
            self.close()
            if not self.quiet:
                self.bar = tqdm(total=event.total_steps, desc=event.stage, unit="batch")
        elif isinstance(event, BatchDone) and self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{event.loss:.3f}", refresh=False)
        elif isinstance(event, EpochDone | Log):
            self.write(describe(event) or "")
        elif isinstance(event, RunFinished):
            self.close()
            self.status = event.status
            print(json.dumps(result_summary(event.metrics), indent=None, default=str))
            print(f"{describe(event)}: {event.out_dir}")

    def write(self, line: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def print_events(events: Generator[Any, None, Any], out: Path, quiet: bool = False) -> int:
    """Print a job's events until it ends; the exit code: 0 completed, 1 cancelled, 130 on
    Ctrl-C (the job is closed and the files it wrote so far stay in `out`)."""
    printer = ProgressPrinter(quiet=quiet)
    try:
        for event in events:
            printer.show(event)
    except KeyboardInterrupt:
        events.close()
        printer.close()
        print(f"interrupted; files written so far are kept in {out}", file=sys.stderr)
        return 130
    printer.close()
    return 0 if printer.status == "completed" else 1
