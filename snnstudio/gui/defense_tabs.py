"""Wiring of the Detection and Elimination tabs: checkpoint loading and probe recording as
short tasks in a thread pool awaited on the qasync loop; the detection tests and elimination
as jobs on the window's one worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from snnstudio.core.defense.detection import run_detection
from snnstudio.core.defense.elimination import run_elimination
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import (
    BatchDone,
    CancelToken,
    DetectionResult,
    Event,
    Log,
    RunFinished,
    StageStarted,
)
from snnstudio.core.rundir import (
    CLEAN_TWIN_STAGE,
    MODEL_STAGE,
    RunDirError,
    dropped_if_empty,
    new_run_dir,
    open_run,
)
from snnstudio.gui.detection_view import DetectionView
from snnstudio.gui.elimination_panel import EliminationPanel
from snnstudio.gui.probe_snapshot import LoadedCheckpoints, load_checkpoints, record_snapshot
from snnstudio.gui.worker import Job

StartJob = Callable[[str, Job], bool]  # (kind, job) -> started?


class DefenseTabs:
    """Owns the two tabs' behaviour; the window gives it a pool, a job starter and a parent."""

    def __init__(
        self, parent: QWidget, pool: Executor, start_job: StartJob, runs_folder: Callable[[], Path]
    ) -> None:
        self.parent = parent
        self.pool = pool
        self.start_job = start_job
        self.runs_folder = runs_folder
        self.detection = DetectionView()
        self.elimination = EliminationPanel()
        self.loaded: LoadedCheckpoints | None = None
        self.task: asyncio.Future | None = None
        self.last_run: Path | None = None
        d, e = self.detection, self.elimination
        d.use_last_run.clicked.connect(self.use_last_run)
        d.load_button.clicked.connect(lambda: self._spawn(self.load()))
        d.record_button.clicked.connect(lambda: self._spawn(self.record()))
        d.detect_button.clicked.connect(self.start_detection)
        e.use_last_run.clicked.connect(self.use_last_run)
        e.start_button.clicked.connect(self.start_elimination)

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = asyncio.ensure_future(coro)

    def _error(self, title: str, exc: Exception) -> None:
        self.detection.status.setText(str(exc))
        QMessageBox.warning(self.parent, title, str(exc))

    # ------------------------------------------------------------------ checkpoints and probe

    def use_last_run(self) -> None:
        """Point both tabs at the newest run's model.pt (and its clean twin as reference)."""
        if self.last_run is None:
            QMessageBox.information(self.parent, "No run yet", "run an experiment first")
            return
        try:
            run = open_run(self.last_run)
        except RunDirError as exc:
            QMessageBox.warning(self.parent, "Cannot open the last run", str(exc))
            return
        model = run.checkpoint(MODEL_STAGE)
        if model is None:
            QMessageBox.information(
                self.parent, "No model", f"{run.path} holds no trained model (stopped early?)"
            )
            return
        twin = run.checkpoint(CLEAN_TWIN_STAGE)
        self.detection.suspect.edit.setText(str(model))
        self.detection.reference.edit.setText("" if twin is None else str(twin))
        self.elimination.checkpoint.edit.setText(str(model))

    async def load(self) -> bool:
        suspect, reference = self.detection.suspect.path(), self.detection.reference.path()
        if suspect is None:
            self._error("No checkpoint", SnnStudioError("choose the suspect checkpoint first"))
            return False
        self.detection.status.setText(f"loading {suspect} …")
        loop = asyncio.get_event_loop()
        try:
            self.loaded = await loop.run_in_executor(
                self.pool, load_checkpoints, suspect, reference
            )
        except SnnStudioError as exc:
            self.loaded = None
            self._error("Cannot load the checkpoint", exc)
            return False
        layers = self.loaded.layers
        labels = self.loaded.labels
        cfg = self.loaded.suspect.config
        self.detection.set_layers(labels, cfg.poison.target)
        self.elimination.set_layers({k: v for k, v in labels.items() if k in layers})
        self.elimination.checkpoint.edit.setText(str(suspect))
        self.detection.status.setText(
            f"loaded {suspect.name}: {cfg.model.arch} on {cfg.data.name}, target class "
            f"{cfg.poison.target}; {len(layers)} spiking layers"
            + ("" if reference is None else f"; reference {reference.name}")
        )
        return True

    async def record(self) -> None:
        """Record the chosen layer for clean and triggered inputs, loading first if needed."""
        if self.loaded is None and not await self.load():
            return
        assert self.loaded is not None
        layer, count = self.detection.layer_name(), self.detection.count.value()
        label = self.detection.labels.get(layer, layer)
        self.detection.status.setText(f"recording {label} for {count} inputs …")
        loop = asyncio.get_event_loop()
        try:
            snapshot = await loop.run_in_executor(
                self.pool, record_snapshot, self.loaded, layer, count
            )
        except SnnStudioError as exc:
            self._error("Cannot record", exc)
            return
        self.detection.set_snapshot(snapshot)

    # ------------------------------------------------------------------ jobs

    def start_detection(self) -> None:
        suspect, reference = self.detection.suspect.path(), self.detection.reference.path()
        if suspect is None:
            self._error("No checkpoint", SnnStudioError("choose the suspect checkpoint first"))
            return
        settings, runs = self.detection.settings(), self.runs_folder()
        self.detection.clear_scores()

        def job(cancel: CancelToken) -> Iterator[Event]:  # the folder is made when it starts
            out = new_run_dir(runs, "detect")
            return dropped_if_empty(
                run_detection(suspect, reference, out, settings, None, cancel), out
            )

        if self.start_job("detection", job):
            self.detection.set_running(True)

    def start_elimination(self) -> None:
        path = self.elimination.checkpoint.path()
        if path is None:
            self._error("No checkpoint", SnnStudioError("choose the checkpoint to clean first"))
            return
        settings, runs = self.elimination.settings(), self.runs_folder()

        def job(cancel: CancelToken) -> Iterator[Event]:
            out = new_run_dir(runs, "eliminate")
            return dropped_if_empty(run_elimination(path, out, settings, None, cancel), out)

        if self.start_job("elimination", job):
            self.elimination.set_running(True)
            self.elimination.progress.setValue(0)

    def show_event(self, kind: str, event: object) -> None:
        if kind == "detection":
            if isinstance(event, DetectionResult):
                self.detection.show_result(event.section, event.summary)
            elif isinstance(event, Log):
                self.detection.status.setText(event.message)
            elif isinstance(event, RunFinished):
                self.detection.status.setText(f"detection {event.status}: {event.out_dir}")
        elif kind == "elimination":
            panel = self.elimination
            if isinstance(event, StageStarted):
                panel.progress.setRange(0, max(1, event.total_steps))
            elif isinstance(event, BatchDone):
                panel.progress.setValue(event.step)
            elif isinstance(event, Log):
                panel.status.setText(event.message)
            elif isinstance(event, RunFinished):
                panel.status.setText(f"elimination {event.status}: {event.out_dir}")
                if "acc" in event.metrics:
                    panel.show_result(event.metrics)

    def job_finished(self) -> None:
        self.detection.set_running(False)
        self.elimination.set_running(False)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
