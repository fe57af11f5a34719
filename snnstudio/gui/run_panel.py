"""The Run tab: start/stop, a progress bar with ETA, live curves and the log pane."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.events import (
    BatchDone,
    EpochDone,
    Log,
    RunFinished,
    RunPlanned,
    StageStarted,
    describe,
    result_summary,
)
from snnstudio.gui.estimate_label import EstimateLabel
from snnstudio.gui.live_curves import LiveCurves
from snnstudio.gui.run_progress import RunProgress
from snnstudio.gui.start_checks import Problem
from snnstudio.gui.tasks import Failure, show_failure

LOG_LINES = 5000
PROGRESS_STEPS = 1000  # the progress bar's resolution over the whole run
STATUS_SECONDS = 0.4


def metrics_line(metrics: dict) -> str:
    """A finished job's metrics as one readable line ('acc 0.9531, asr 0.1000, ...')."""
    shown = result_summary(metrics, digits=4)
    return ", ".join(f"{k} {v}" for k, v in shown.items() if not isinstance(v, dict | list))


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RunPanel(QWidget):
    """Shows one run's events; the window starts the job and sends its events here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()  # the whole run: every stage, weighted by its time
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress.setFormat("%p% of the run")
        self.status = QLabel("idle")
        self.refusal = QLabel()  # why Start is off, where Start is
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("color: #b00020;")
        self.refusal.hide()
        self.estimate = EstimateLabel()
        self.curves = LiveCurves()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.run_progress = RunProgress()
        self._last_status = 0.0

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.estimate)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.curves)
        splitter.addWidget(self.log)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.refusal)
        layout.addWidget(splitter, 1)

    def show_refusal(self, problems: list[Problem]) -> None:
        """Why Start is off, beside it (and as its tooltip); hidden when it may start."""
        text = "\n".join(p.where() for p in problems)
        self.start_button.setToolTip(text)
        self.refusal.setText(f"Start is off: {text}" if len(problems) == 1 else
                             f"Start is off:\n{text}")  # fmt: skip
        self.refusal.setVisible(bool(problems))

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def begin(self, name: str, out_dir: str) -> None:
        self.curves.clear()
        self.run_progress = RunProgress()
        self.progress.setValue(0)
        self.status.setText("starting")
        self.append_log(f"run '{name}' -> {out_dir}")

    def show_reopened(self, path: Path, events: list[object]) -> None:
        """A past run's saved curves (epochs, timestep curves), and nothing left of the run
        shown before: progress, status and ETA are reset."""
        self.curves.clear()
        for event in events:
            self.curves.add_event(event)
        self.curves.note_steps_not_saved()
        self.progress.setValue(0)
        self.status.setText(f"reopened {path.name}")
        self.append_log(f"reopened {path}")

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')} {line}")

    def show_failure(self, title: str, failure: Failure) -> None:
        """A failed job: its message (and a bug's traceback) in the log, and a message box."""
        self.append_log(f"error: {failure.message}")
        if failure.is_bug:
            self.append_log(failure.details)
        self.status.setText("failed")
        show_failure(self, title, failure)

    def show_event(self, event: object) -> None:
        """Route one core event to the curves, the progress bar and the log."""
        self.curves.add_event(event)
        if isinstance(event, RunPlanned):
            self.run_progress = RunProgress(event.stages)
        elif isinstance(event, StageStarted):
            self.run_progress.stage_started(event.stage)
            self._show_progress()
            self.append_log(describe(event) or "")
        elif isinstance(event, BatchDone):
            now = time.perf_counter()
            self.run_progress.batch_done(event.step, event.total_steps, now)
            # progress and ETA a few times a second, not per batch
            if now - self._last_status > STATUS_SECONDS or event.step == event.total_steps:
                self._last_status = now
                self._show_progress()
                eta = self.run_progress.eta(now)
                left = "…" if eta is None else format_seconds(eta)
                self.status.setText(
                    f"{event.stage}  epoch {event.epoch}  batch {event.step}/{event.total_steps}"
                    f"  loss {event.loss:.3f}  run ETA {left}"
                )
        elif isinstance(event, EpochDone | Log):
            self.append_log(describe(event) or "")
        elif isinstance(event, RunFinished):
            if event.status == "completed":
                self.progress.setValue(PROGRESS_STEPS)
            self.append_log(f"{describe(event)}: {metrics_line(event.metrics)}")
            self.status.setText(event.status)

    def _show_progress(self) -> None:
        self.progress.setValue(round(self.run_progress.fraction * PROGRESS_STEPS))
