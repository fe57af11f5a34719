"""Print a run's events on a terminal: a tqdm bar per stage, a line per epoch."""

from __future__ import annotations

import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from snnstudio.core.events import BatchDone, EpochDone, Event, Log, RunFinished, StageStarted


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
        elif isinstance(event, EpochDone):
            self.write(
                f"{event.stage} epoch {event.epoch}: acc {event.acc:.4f}  asr {event.asr:.4f}  "
                f"loss {event.loss:.4f}  ({event.seconds:.1f} s)"
            )
        elif isinstance(event, Log):
            self.write(event.message)
        elif isinstance(event, RunFinished):
            self.close()
            self.status = event.status
            summary = {k: v for k, v in event.metrics.items() if k != "seconds"}
            print(json.dumps(summary, indent=None, default=str))
            print(f"run {event.status}: {event.out_dir}")

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
