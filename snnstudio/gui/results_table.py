"""Past runs, read from their run directories through `core.run_record.open_run`.

Reading every run folder takes a while with hundreds of runs, so it is a task off the GUI
thread (gui/tasks.py); the table is filled when it returns, sorted as the user last chose
(newest first until then), with the selected run kept selected."""

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
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.run_record import RunRecord, list_runs
from snnstudio.core.rundir import RunDirError, RunKind
from snnstudio.core.runner import why_not_resumable
from snnstudio.core.sweep.results import sweep_status
from snnstudio.gui.tasks import Failure, TaskSlot

RESIZE_ROWS = 30  # column widths from these rows, not from every run
COLUMNS = ["run", "kind", "dataset", "rule", "status", "acc", "asr", "clean_acc", "clean_asr",
           "delta_acc", "delta_asr", "ann_acc", "ann_asr", "mr", "finished"]  # fmt: skip


@dataclass
class RunRow:
    """One row of the table: a run directory as `open_run` read it, and its metrics."""

    record: RunRecord
    metrics: dict[str, Any]
    modified: float = 0.0  # when the run last changed (read with the row, off the GUI thread)

    @property
    def kind(self) -> RunKind:
        return self.record.kind

    def cell(self, column: str) -> str:
        if column == "run":
            return self.record.name
        if column == "kind":
            return str(self.record.kind)
        if column == "finished":
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.modified))
        value = self.metrics.get(column)
        if isinstance(value, float):
            return f"{value:.4f}"
        return "" if value is None else str(value)

    def sort_key(self, column: str) -> tuple[int, float | str]:
        """Numbers sort as numbers (-0.02 before -0.01), the time to the second; blanks last
        in ascending order."""
        value = self.modified if column == "finished" else self.metrics.get(column)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, float(value))
        text = self.cell(column)
        return (1, text) if text else (2, "")


class SortedItem(QTableWidgetItem):
    """A cell that sorts by its row's sort key rather than by its text."""

    def __init__(self, text: str, key: tuple[int, float | str]) -> None:
        super().__init__(text)
        self.key = key

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, SortedItem):
            return self.key < other.key
        return super().__lt__(other)


def run_row(record: RunRecord) -> RunRow:
    """The row of a run, with a status that says why metrics are missing or unreadable."""
    try:
        modified = record.modified
    except OSError:  # removed while being read
        modified = 0.0
    if record.kind is RunKind.SWEEP:
        return RunRow(record, {"status": sweep_status(record.path)}, modified)
    try:
        metrics = record.metrics()
    except RunDirError:
        return RunRow(record, {"status": "unreadable metrics.json"}, modified)
    if not record.has_metrics():
        return RunRow(record, {"status": "no metrics (running or stopped early)"}, modified)
    return RunRow(record, metrics, modified)


def scan_runs(folder: Path, cancel: CancelToken | None = None) -> list[RunRow]:
    """A row for every run directory directly inside `folder`, newest first; blocking, for a
    worker thread (`cancel` is checked between runs)."""
    rows = []
    for record in list_runs(folder):
        check_cancel(cancel)
        rows.append(run_row(record))
    return rows


class ResultsTable(QWidget):
    """Emits `reopen(path)` when the user asks to reopen a run's curves and config, and
    `resume(path)` to continue a stopped or killed experiment from its last epoch."""

    reopen = Signal(Path)
    resume = Signal(Path)

    def __init__(self, runs_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_folder = runs_folder
        self.records: list[RunRow] = []
        self.reading = TaskSlot(self, replace=True)  # the runs folder, read off the GUI thread
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
        self.table.sortByColumn(COLUMNS.index("finished"), Qt.SortOrder.DescendingOrder)
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(RESIZE_ROWS)  # widths fitted once per fill (below)
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
        """Read the runs folder again (a task); the table is filled when it is read."""
        folder = self.runs_folder
        self.folder_label.setText(f"runs in {folder} (reading…)")
        self.reading.start(
            "reading the runs",
            lambda cancel: scan_runs(folder, cancel),
            on_returned=self.show_rows,
            on_failed=self._read_failed,
        )

    def _read_failed(self, failure: Failure) -> None:
        self.folder_label.setText(f"runs in {self.runs_folder}: {failure.message}")

    def show_rows(self, rows: list[RunRow]) -> None:
        """Fill the table, sorted by the column the user last chose, keeping the selection."""
        selected = self.selected_row()
        keep = selected.record.path if selected is not None else None
        self.folder_label.setText(f"runs in {self.runs_folder}")
        self.records = rows
        header = self.table.horizontalHeader()
        column, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.table.setSortingEnabled(False)
        self.table.clearContents()
        self.table.setRowCount(len(rows))
        for row, record in enumerate(rows):
            for col, name in enumerate(COLUMNS):
                item = SortedItem(record.cell(name), record.sort_key(name))
                item.setData(Qt.ItemDataRole.UserRole, str(record.record.path))
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(column, order)
        self.table.resizeColumnsToContents()  # once: ResizeToContents refitted on every
        # setItem, 8 s to refill 200 runs in a shown 1300x700 table
        paths = [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(len(rows))]
        if keep is not None and str(keep) in paths:
            self.table.selectRow(paths.index(str(keep)))
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
