"""The run directory contract (DESIGN.md): config.toml, metrics.json, history.csv, log.txt,
checkpoints and TensorBoard scalars, written as the events of a run arrive."""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import (
    EpochDone,
    Event,
    Log,
    RunFinished,
    StageStarted,
    TimestepCurve,
)

HISTORY_COLUMNS = ["stage", "epoch", "acc", "asr", "loss", "seconds"]


def json_safe(value: Any) -> Any:
    """NaN and infinities become null so metrics.json stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


class RunDirectory:
    """Writes one run's files into `path`, creating it."""

    def __init__(self, path: str | Path, cfg: config_io.ExperimentConfig) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        config_io.save(cfg, self.path / "config.toml")
        self._log = (self.path / "log.txt").open("a", encoding="utf-8")
        history_file = self.path / "history.csv"
        self._history_file = history_file.open("w", newline="", encoding="utf-8")
        self._history = csv.writer(self._history_file)
        self._history.writerow(HISTORY_COLUMNS)
        from torch.utils.tensorboard import SummaryWriter  # imported here: it is slow to load

        self._tensorboard = SummaryWriter(str(self.path / "tensorboard"))

    def checkpoint_path(self, stage: str) -> Path:
        return self.path / ("model.pt" if stage == "backdoored" else f"{stage}.pt")

    def curve_path(self, stage: str) -> Path:
        """curve.csv for the backdoored model, <stage>-curve.csv for the others."""
        return self.path / ("curve.csv" if stage == "backdoored" else f"{stage}-curve.csv")

    def write_curve(self, event: TimestepCurve) -> None:
        with self.curve_path(event.stage).open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["t", "acc", "asr"])
            for t, (acc, asr) in enumerate(zip(event.acc, event.asr, strict=True), start=1):
                writer.writerow([t, acc, asr])

    def record(self, event: Event) -> None:
        stamp = time.strftime("%H:%M:%S")
        if isinstance(event, Log):
            self._log.write(f"{stamp} {event.message}\n")
        elif isinstance(event, StageStarted):
            self._log.write(f"{stamp} stage {event.stage}: {event.total_steps} steps\n")
        elif isinstance(event, EpochDone):
            row = [event.stage, event.epoch, event.acc, event.asr, event.loss, event.seconds]
            self._history.writerow(row)
            self._history_file.flush()
            for name in ("acc", "asr", "loss"):
                self._tensorboard.add_scalar(
                    f"{event.stage}/{name}", getattr(event, name), event.epoch
                )
            self._log.write(
                f"{stamp} {event.stage} epoch {event.epoch}: acc {event.acc:.4f} "
                f"asr {event.asr:.4f} loss {event.loss:.4f} ({event.seconds:.1f} s)\n"
            )
        elif isinstance(event, TimestepCurve):
            self.write_curve(event)
            self._log.write(f"{stamp} {event.stage}: wrote {self.curve_path(event.stage).name}\n")
        elif isinstance(event, RunFinished):
            self.write_metrics(event.metrics)
            self._log.write(f"{stamp} run {event.status}\n")
        self._log.flush()

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        text = json.dumps(json_safe(metrics), indent=2, sort_keys=True)
        (self.path / "metrics.json").write_text(text + "\n", encoding="utf-8")

    def close(self) -> None:
        self._tensorboard.close()
        self._history_file.close()
        self._log.close()


def recorded(events: Iterator[Event], rundir: RunDirectory | None) -> Iterator[Event]:
    """Pass a job's events through, recording each into `rundir` (when given), logging a user
    error before it propagates, and closing the directory however the job ends."""
    try:
        for event in events:
            if rundir is not None:
                rundir.record(event)
            yield event
    except SnnStudioError as exc:
        if rundir is not None:
            rundir.record(Log(f"error: {exc}"))
        raise
    finally:
        if rundir is not None:
            rundir.close()
