"""The Run tab: start/stop, a progress bar with ETA, live curves and the log pane."""

from __future__ import annotations

import json
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
    StageStarted,
    describe,
    result_summary,
)
from snnstudio.gui.estimate_label import EstimateLabel
from snnstudio.gui.live_curves import LiveCurves
from snnstudio.gui.start_checks import Problem
from snnstudio.gui.tasks import Failure, show_failure

LOG_LINES = 5000
STATUS_SECONDS = 0.4


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
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m batches")
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
        self._stage = ""
        self._stage_started = 0.0
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
        self.progress.setRange(0, 1)
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
        self.progress.setRange(0, 1)
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
        if isinstance(event, StageStarted):
            self._stage, self._stage_started = event.stage, time.perf_counter()
            self.progress.setRange(0, max(1, event.total_steps))
            self.progress.setValue(0)
            self.append_log(describe(event) or "")
        elif isinstance(event, BatchDone):
            now = time.perf_counter()  # progress and ETA a few times a second, not per batch
            if now - self._last_status > STATUS_SECONDS or event.step == event.total_steps:
                self._last_status = now
                self.progress.setValue(event.step)
                elapsed = now - self._stage_started
                eta = elapsed / event.step * (event.total_steps - event.step)
                self.status.setText(
                    f"{event.stage}  epoch {event.epoch}  loss {event.loss:.3f}  "
                    f"ETA {format_seconds(eta)}"
                )
        elif isinstance(event, EpochDone | Log):
            self.append_log(describe(event) or "")
        elif isinstance(event, RunFinished):
            summary = json.dumps(result_summary(event.metrics, digits=4), default=str)
            self.append_log(f"{describe(event)}: {summary}")
            self.status.setText(event.status)
