"""Past runs, read from their run directories through `core.rundir.open_run`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.rundir import RunDirError, RunKind, RunRecord, list_runs
from snnstudio.core.runner import why_not_resumable
from snnstudio.core.sweep.results import sweep_status

COLUMNS = ["run", "kind", "dataset", "rule", "status", "acc", "asr", "clean_acc", "clean_asr",
           "delta_acc", "delta_asr", "ann_acc", "ann_asr", "mr", "finished"]  # fmt: skip


@dataclass
class RunRow:
    """One row of the table: a run directory as `open_run` read it, and its metrics."""

    record: RunRecord
    metrics: dict[str, Any]

    @property
    def kind(self) -> RunKind:
        return self.record.kind

    def cell(self, column: str) -> str:
        if column == "run":
            return self.record.name
        if column == "kind":
            return str(self.record.kind)
        if column == "finished":
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.record.modified))
        value = self.metrics.get(column)
        if isinstance(value, float):
            return f"{value:.4f}"
        return "" if value is None else str(value)


def run_row(record: RunRecord) -> RunRow:
    """The row of a run, with a status that says why metrics are missing or unreadable."""
    if record.kind is RunKind.SWEEP:
        return RunRow(record, {"status": sweep_status(record.path)})
    try:
        metrics = record.metrics()
    except RunDirError:
        return RunRow(record, {"status": "unreadable metrics.json"})
    if not record.has_metrics():
        return RunRow(record, {"status": "no metrics (running or stopped early)"})
    return RunRow(record, metrics)


def scan_runs(folder: Path) -> list[RunRow]:
    """A row for every run directory directly inside `folder`, newest first."""
    return [run_row(record) for record in list_runs(folder)]


class ResultsTable(QWidget):
    """Emits `reopen(path)` when the user asks to reopen a run's curves and config, and
    `resume(path)` to continue a stopped or killed experiment from its last epoch."""

    reopen = Signal(Path)
    resume = Signal(Path)

    def __init__(self, runs_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_folder = runs_folder
        self.records: list[RunRow] = []
        self.folder_label = QLabel()
        self.choose = QPushButton("Runs folder…")
        self.refresh_button = QPushButton("Refresh")
        self.reopen_button = QPushButton("Reopen curves and config")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setEnabled(False)
        self.resume_button.setToolTip("select a stopped or killed experiment")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.choose)
        top.addWidget(self.refresh_button)
        top.addWidget(self.reopen_button)
        top.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.choose.clicked.connect(self.choose_folder)
        self.refresh_button.clicked.connect(self.refresh)
        self.reopen_button.clicked.connect(self._reopen_selected)
        self.resume_button.clicked.connect(self._resume_selected)
        self.table.itemSelectionChanged.connect(self._update_resume)
        self.table.cellDoubleClicked.connect(lambda row, _col: self._reopen_row(row))
        self.refresh()

    def set_runs_folder(self, folder: Path) -> None:
        self.runs_folder = folder
        self.refresh()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs folder", str(self.runs_folder))
        if folder:
            self.set_runs_folder(Path(folder))

    def refresh(self) -> None:
        self.folder_label.setText(f"runs in {self.runs_folder}")
        self.records = scan_runs(self.runs_folder)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            for col, column in enumerate(COLUMNS):
                item = QTableWidgetItem(record.cell(column))
                item.setData(Qt.ItemDataRole.UserRole, str(record.record.path))
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self._update_resume()

    def selected_row(self) -> RunRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        path = Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
        return next((r for r in self.records if r.record.path == path), None)

    def _update_resume(self) -> None:
        row = self.selected_row()
        problem = "select a run" if row is None else why_not_resumable(row.record)
        self.resume_button.setEnabled(problem is None)
        self.resume_button.setToolTip(problem or "continue this run from its last completed epoch")

    def _resume_selected(self) -> None:
        row = self.selected_row()
        if row is not None and why_not_resumable(row.record) is None:
            self.resume.emit(row.record.path)

    def _reopen_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._reopen_row(rows[0].row())

    def _reopen_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.reopen.emit(Path(item.data(Qt.ItemDataRole.UserRole)))
