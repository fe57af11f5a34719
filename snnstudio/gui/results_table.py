"""Past runs, read from their run directories (config.toml, metrics.json, history.csv)."""

from __future__ import annotations

import csv
import json
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

from snnstudio.core.events import TimestepCurve

COLUMNS = ["run", "kind", "dataset", "rule", "status", "acc", "asr", "clean_acc", "clean_asr",
           "delta_acc", "delta_asr", "ann_acc", "ann_asr", "mr", "finished"]  # fmt: skip


@dataclass
class RunRecord:
    """What the table knows of one run directory."""

    path: Path
    metrics: dict[str, Any]
    modified: float

    @property
    def kind(self) -> str:
        """What wrote the directory: an experiment, `snnstudio detect` or `eliminate`."""
        if (self.path / "report.json").is_file():
            return "detection"
        if "acc_before" in self.metrics:
            return "elimination"
        return "experiment"

    def cell(self, column: str) -> str:
        if column == "run":
            return self.path.name
        if column == "kind":
            return self.kind
        if column == "finished":
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.modified))
        value = self.metrics.get(column)
        if isinstance(value, float):
            return f"{value:.4f}"
        return "" if value is None else str(value)


def read_run(path: Path) -> RunRecord | None:
    """A run directory's record, or None when `path` holds no readable run."""
    if not (path / "config.toml").is_file():
        return None
    metrics: dict[str, Any] = {}
    metrics_file = path / "metrics.json"
    if metrics_file.is_file():
        try:
            metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metrics = {"status": "unreadable metrics.json"}
    else:
        metrics = {"status": "no metrics (running or stopped early)"}
    stamp = (metrics_file if metrics_file.is_file() else path / "config.toml").stat().st_mtime
    return RunRecord(path, metrics, stamp)


def read_history(path: Path) -> list[dict[str, str]]:
    """The rows of a run's history.csv (empty when it has none)."""
    history = path / "history.csv"
    if not history.is_file():
        return []
    with history.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_timestep_curves(path: Path) -> list[TimestepCurve]:
    """The ACC/ASR-against-T curves a run wrote (curve.csv, <stage>-curve.csv), as events."""
    curves = []
    for file in sorted(path.glob("*curve.csv")):
        stage = "backdoored" if file.name == "curve.csv" else file.name[: -len("-curve.csv")]
        with file.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        try:
            acc, asr = [float(r["acc"]) for r in rows], [float(r["asr"]) for r in rows]
        except (KeyError, ValueError):
            continue
        curves.append(TimestepCurve(stage, acc, asr))
    return curves


def scan_runs(folder: Path) -> list[RunRecord]:
    """Every run directory directly inside `folder`, newest first."""
    if not folder.is_dir():
        return []
    records = [read_run(child) for child in folder.iterdir() if child.is_dir()]
    return sorted((r for r in records if r is not None), key=lambda r: r.modified, reverse=True)


class ResultsTable(QWidget):
    """Emits `reopen(path)` when the user asks to reopen a run's curves and config."""

    reopen = Signal(Path)

    def __init__(self, runs_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_folder = runs_folder
        self.records: list[RunRecord] = []
        self.folder_label = QLabel()
        self.choose = QPushButton("Runs folder…")
        self.refresh_button = QPushButton("Refresh")
        self.reopen_button = QPushButton("Reopen curves and config")
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
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.choose.clicked.connect(self.choose_folder)
        self.refresh_button.clicked.connect(self.refresh)
        self.reopen_button.clicked.connect(self._reopen_selected)
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
                item.setData(Qt.ItemDataRole.UserRole, str(record.path))
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)

    def _reopen_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._reopen_row(rows[0].row())

    def _reopen_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.reopen.emit(Path(item.data(Qt.ItemDataRole.UserRole)))
