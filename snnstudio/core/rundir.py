"""The run-directory format: names, kinds, files and writing (run_record.py reads them).

A run directory holds `run.json` (its kind, written when the folder is made), `config.toml`,
`metrics.json`, `history.csv`, `log.txt`, checkpoints, curve files, TensorBoard scalars,
for a detection `report.json`, and for a run with a dynamic trigger (trigger.kind = 'dynamic')
`trigger.pt`, the trained generator that makes its triggered inputs (beside every checkpoint
of it: a detection or elimination reads it from the checkpoint's folder). This module is the
only one that defines those names: jobs write through `RunDirectory`, the GUI, CLI and sweeps
read through `run_record.open_run`.

Every file but the streamed log and history is written atomically (atomic_files.py: a
temporary file in the same folder, flushed and fsynced, then `os.replace`), so a crash or a
power cut leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import re
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from snnstudio import __version__
from snnstudio.core import config as config_io
from snnstudio.core.atomic_files import atomic_path, write_json_atomic, write_text_atomic
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import (
    EpochDone,
    Event,
    Log,
    RunFinished,
    TimestepCurve,
    describe,
)

RUN_FILE = "run.json"
CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
LOG_FILE = "log.txt"
REPORT_FILE = "report.json"
TRIGGER_FILE = "trigger.pt"  # a dynamic trigger's trained generator (attack/saved_trigger.py)
TENSORBOARD_DIR = "tensorboard"
MODEL_STAGE = "backdoored"  # the stage whose checkpoint is model.pt and curve curve.csv
CLEAN_TWIN_STAGE = "clean-twin"
MODEL_FILE = "model.pt"
CURVE_FILE = "curve.csv"
CURVE_SUFFIX = "-curve.csv"
HISTORY_COLUMNS = [
    "stage", "epoch", "acc", "asr", "loss", "seconds", "network", "clean_twin"
]  # fmt: skip
CURVE_COLUMNS = ["t", "acc", "asr"]
FORMAT = 1
# Files whose presence means a folder holds results that a new run would overwrite.
RESULT_FILES = (METRICS_FILE, REPORT_FILE, MODEL_FILE)


class RunKind(StrEnum):
    """What made a run directory; recorded in run.json when the folder is made."""

    EXPERIMENT = "experiment"
    DETECTION = "detection"
    ELIMINATION = "elimination"
    SWEEP = "sweep"


class RunDirError(SnnStudioError):
    """A folder is not a readable run directory, or cannot be used for a new run."""


def load_config_file(path: str | Path) -> config_io.ExperimentConfig:
    """A config file; a run directory's own (run.json beside it) was written by snnstudio, so
    a key it lacks reads as that run ran it (config.WRITTEN_BEFORE)."""
    path = Path(path)
    return config_io.load(path, written=(path.parent / RUN_FILE).is_file())


# ---------------------------------------------------------------- names


def checkpoint_name(stage: str) -> str:
    """model.pt for the backdoored model, <stage>.pt for every other stage."""
    return MODEL_FILE if stage == MODEL_STAGE else f"{stage}.pt"


def curve_name(stage: str) -> str:
    """curve.csv for the backdoored model, <stage>-curve.csv for the others."""
    return CURVE_FILE if stage == MODEL_STAGE else f"{stage}{CURVE_SUFFIX}"


def trigger_file_beside(checkpoint: str | Path) -> Path:
    """Where the dynamic trigger of the run that holds `checkpoint` is saved."""
    return Path(checkpoint).parent / TRIGGER_FILE


def curve_stage(file_name: str) -> str | None:
    """The stage a curve file belongs to, or None when the name is not a curve file's."""
    if file_name == CURVE_FILE:
        return MODEL_STAGE
    if file_name.endswith(CURVE_SUFFIX) and len(file_name) > len(CURVE_SUFFIX):
        return file_name[: -len(CURVE_SUFFIX)]
    return None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def safe_name(name: str) -> str:
    """`name` as one folder name that stays inside its parent.

    Path separators split the name into parts; parts that are empty or only dots ('.', '..')
    are dropped and the rest joined with '-'; control characters are removed and leading
    dots and spaces stripped (no hidden folders). An empty result is 'run'.
    `safe_name('../../escape') == 'escape'`, `safe_name('a/b') == 'a-b'`.
    """
    parts = [p for p in re.split(r"[\\/]+", _UNSAFE.sub("", name)) if p.strip(". ")]
    joined = "-".join(p.strip() for p in parts).lstrip(". ")
    return joined or "run"


def new_run_dir(parent: str | Path, name: str, stamp: bool = True) -> Path:
    """Make and return a new, empty run folder directly inside `parent`.

    The folder is `safe_name(name)`, followed by `-YYYYmmdd-HHMMSS` when `stamp`; when that
    is taken, `~2`, `~3`, ... is appended. Creating it is the test of being free, so two
    callers never get the same folder. RunDirError when the folder cannot be made.
    """
    parent = Path(parent)
    base = safe_name(name) + (f"-{time.strftime('%Y%m%d-%H%M%S')}" if stamp else "")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for number in itertools.count(1):
            path = parent / (base if number == 1 else f"{base}~{number}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return path
    except OSError as exc:
        raise RunDirError(f"cannot make a run folder in {parent}: {exc}") from None
    raise AssertionError("unreachable")  # itertools.count never ends


def dropped_if_empty(events: Iterator[Event], path: Path) -> Iterator[Event]:
    """Pass a job's events through; when the job fails before writing anything into the new
    folder `path` (a checkpoint that does not load), remove the empty folder again."""
    try:
        yield from events
    except BaseException:
        with contextlib.suppress(OSError):  # rmdir removes only an empty folder
            path.rmdir()
        raise


def has_results(path: str | Path) -> bool:
    """True when `path` holds a run's results (metrics, a report or a model)."""
    return any((Path(path) / name).exists() for name in RESULT_FILES)


def output_dir(
    out: str | Path | None,
    name: str,
    overwrite: bool = False,
    parent: str | Path = "runs",
    holds: str = "a run",
) -> Path:
    """Where a command writes its run: `out` as the user gave it (`--out`; refused when it
    holds results, unless `overwrite`), else `new_run_dir(parent, name)`. `holds` names what
    the refusal says the folder holds ('a run', 'results')."""
    if out is None:
        return new_run_dir(parent, name)
    out = Path(out)
    if not overwrite and has_results(out):
        raise RunDirError(f"{out} already holds {holds}; choose another --out or pass --overwrite")
    return out


# ---------------------------------------------------------------- files of a run


def write_curve(path: str | Path, acc: list[float], asr: list[float]) -> None:
    """An ACC/ASR-against-t curve as CSV (t counts from 1)."""
    with atomic_path(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CURVE_COLUMNS)
        for t, (a, s) in enumerate(zip(acc, asr, strict=True), start=1):
            writer.writerow([t, a, s])


def mark_run_dir(path: str | Path, kind: RunKind) -> None:
    """Record in run.json that `path` is a run directory of `kind` (creating the folder)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    info = {
        "kind": str(kind),
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "snnstudio": __version__,
    }
    write_json_atomic(path / RUN_FILE, info)


# ---------------------------------------------------------------- writing a job's run


class RunDirectory:
    """Writes one job's files into `path`, creating it and recording its kind.

    With `resume=True` (a stopped run going on in its own folder) run.json and config.toml
    are kept as they are, and nothing is written until the first epoch arrives (the resumed
    run replays its saved epochs first): the events before it are held and written then, so
    a resume refused, failed or stopped before it leaves every file of the run as it was.
    """

    def __init__(
        self,
        path: str | Path,
        cfg: config_io.ExperimentConfig,
        kind: RunKind = RunKind.EXPERIMENT,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self._held: list[Event] | None = [] if resume else None
        if not resume:
            mark_run_dir(self.path, kind)
            write_text_atomic(self.path / CONFIG_FILE, config_io.dumps(cfg))
            self._open()

    def _open(self) -> None:
        self._log = (self.path / LOG_FILE).open("a", encoding="utf-8")
        self._history_file = (self.path / HISTORY_FILE).open("w", newline="", encoding="utf-8")
        self._history = csv.writer(self._history_file)
        self._history.writerow(HISTORY_COLUMNS)
        from torch.utils.tensorboard import SummaryWriter  # imported here: it is slow to load

        self._tensorboard = SummaryWriter(str(self.path / TENSORBOARD_DIR))

    def file(self, name: str) -> Path:
        """The path of a file of this run (report.json, a figure, ...)."""
        return self.path / name

    def checkpoint_path(self, stage: str) -> Path:
        return self.path / checkpoint_name(stage)

    def curve_path(self, stage: str) -> Path:
        return self.path / curve_name(stage)

    def record(self, event: Event) -> None:
        if self._held is not None:  # a resume that has not reached its first epoch yet
            if not isinstance(event, EpochDone):
                self._held.append(event)
                return
            held, self._held = self._held, None
            self._open()
            for earlier in held:
                self.record(earlier)
        line = describe(event)
        if isinstance(event, EpochDone):
            row = [event.stage, event.epoch, event.acc, event.asr, event.loss, event.seconds,
                   str(event.role.network), int(event.role.clean_twin)]  # fmt: skip
            self._history.writerow(row)
            self._history_file.flush()
            for name in ("acc", "asr", "loss"):
                self._tensorboard.add_scalar(
                    f"{event.stage}/{name}", getattr(event, name), event.epoch
                )
        elif isinstance(event, TimestepCurve):
            write_curve(self.curve_path(event.stage), event.acc, event.asr)
            line = f"{event.stage}: wrote {self.curve_path(event.stage).name}"
        elif isinstance(event, RunFinished):
            self.write_metrics(event.metrics)
        if line is not None:
            self._log.write(f"{time.strftime('%H:%M:%S')} {line}\n")
            self._log.flush()

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        write_json_atomic(self.path / METRICS_FILE, metrics)

    def close(self) -> None:
        if self._held is not None:  # nothing was opened
            return
        self._tensorboard.close()
        self._history_file.close()
        self._log.close()


def recorded(events: Iterator[Event], rundir: RunDirectory | None) -> Iterator[Event]:
    """Pass a job's events through, recording each into `rundir` (when given), logging the
    error of a failed job before it propagates, and closing the directory however it ends."""
    try:
        for event in events:
            if rundir is not None:
                rundir.record(event)
            yield event
    except Exception as exc:
        if rundir is not None:
            text = str(exc) if isinstance(exc, SnnStudioError) else f"{type(exc).__name__}: {exc}"
            rundir.record(Log(f"error: {text}"))
        raise
    finally:
        if rundir is not None:
            rundir.close()
