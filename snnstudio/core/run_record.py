"""Reading a run directory: `open_run` finds its kind in run.json and gives a `RunRecord`
that reads its config, metrics, report, history, curves and checkpoints; `list_runs` lists the
runs in a folder. The file names and the format are rundir.py's.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.events import EpochDone, NetworkKind, StageRole, TimestepCurve
from snnstudio.core.rundir import (
    CLEAN_TWIN_STAGE,
    CONFIG_FILE,
    CURVE_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_STAGE,
    REPORT_FILE,
    RUN_FILE,
    RunDirError,
    RunKind,
    checkpoint_name,
    curve_stage,
)


@dataclass(frozen=True)
class RunRecord:
    """A run directory as `open_run` found it: its path, kind and when it was made."""

    path: Path
    kind: RunKind
    created: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def modified(self) -> float:
        """When the run last changed: its metrics.json, else its run.json."""
        metrics = self.path / METRICS_FILE
        return (metrics if metrics.is_file() else self.path / RUN_FILE).stat().st_mtime

    def has_metrics(self) -> bool:
        return (self.path / METRICS_FILE).is_file()

    def config(self) -> config_io.ExperimentConfig:
        """The resolved config the run was made with (ConfigError when it cannot be read)."""
        return config_io.load(self.path / CONFIG_FILE, written=True)

    def metrics(self) -> dict[str, Any]:
        """metrics.json; empty while the job runs or when it stopped before writing it."""
        return self._json(METRICS_FILE)

    def report(self) -> dict[str, Any]:
        """report.json of a detection (empty for other kinds)."""
        return self._json(REPORT_FILE)

    def _json(self, name: str) -> dict[str, Any]:
        path = self.path / name
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{path}: unreadable ({exc})") from None
        if not isinstance(data, dict):
            raise RunDirError(f"{path}: not a JSON object")
        return data

    def checkpoint(self, stage: str = MODEL_STAGE) -> Path | None:
        """The checkpoint of `stage` (model.pt, clean-twin.pt, <method>.pt), or None."""
        path = self.path / checkpoint_name(stage)
        return path if path.is_file() else None

    def history(self) -> list[dict[str, str]]:
        """The rows of history.csv (empty when it has none)."""
        path = self.path / HISTORY_FILE
        if not path.is_file():
            return []
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def epochs(self) -> list[EpochDone]:
        """history.csv as the EpochDone events that wrote it; unreadable rows are skipped.

        Histories written before the role columns existed read as SNN stages.
        """
        events = []
        for row in self.history():
            try:
                role = StageRole(
                    NetworkKind(row.get("network") or NetworkKind.SNN),
                    row.get("clean_twin") == "1",
                )
                events.append(
                    EpochDone(
                        row["stage"], int(row["epoch"]), float(row["acc"]), float(row["asr"]),
                        float(row["loss"]), float(row["seconds"]), role=role,
                    )
                )  # fmt: skip
            except (KeyError, TypeError, ValueError):
                continue
        return events

    def timestep_curves(self) -> list[TimestepCurve]:
        """The ACC/ASR-against-T curves the run wrote, as events; unreadable files skipped."""
        curves = []
        for file in sorted(self.path.glob(f"*{CURVE_FILE}")):
            stage = curve_stage(file.name)
            if stage is None:
                continue
            with file.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            try:
                acc, asr = [float(r["acc"]) for r in rows], [float(r["asr"]) for r in rows]
            except (KeyError, TypeError, ValueError):
                continue
            role = StageRole(clean_twin=stage == CLEAN_TWIN_STAGE)  # curve files are the SNN's
            curves.append(TimestepCurve(stage, acc, asr, role=role))
        return curves


def open_run(path: str | Path) -> RunRecord:
    """The run directory at `path`; RunDirError when it has no readable run.json."""
    path = Path(path)
    info_file = path / RUN_FILE
    if not info_file.is_file():
        raise RunDirError(f"{path} is not a run directory (it has no {RUN_FILE})")
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
        kind = RunKind(info["kind"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunDirError(f"{info_file}: unreadable ({exc})") from None
    return RunRecord(path, kind, str(info.get("created", "")))


def list_runs(folder: str | Path) -> list[RunRecord]:
    """Every run directory directly inside `folder`, newest first (others are skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    records = []
    for child in folder.iterdir():
        try:
            records.append(open_run(child))
        except (RunDirError, OSError):
            continue
    return sorted(records, key=lambda r: r.modified, reverse=True)
