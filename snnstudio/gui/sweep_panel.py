"""The Sweep tab's widget: axes over the edited experiment, Start/Stop/Estimate buttons, a live
table of points and ACC/ASR against the axis (heat maps for two axes).

`sweep_tab.SweepTab` drives the core's `run_sweep` generator through it, as the Run tab drives
`run_experiment`; the spec it builds is checked by the core (`parse_spec`) before anything
starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core import config as config_io
from snnstudio.core.sweep.backends import BACKENDS
from snnstudio.core.sweep.cells import norm
from snnstudio.core.sweep.elimination_job import JOB_NAME as ELIMINATION_JOB
from snnstudio.core.sweep.engine import (
    PointFinished,
    PointStarted,
    SweepFinished,
    SweepStarted,
)
from snnstudio.core.sweep.results import RESULTS_FILE, SPEC_FILE, read_results
from snnstudio.core.sweep.spec import (
    SweepPoint,
    SweepSpec,
    axis_keys,
    load_written_spec,
    parse_axis_values,
    parse_spec,
)
from snnstudio.gui.form_fields import combo, int_spin
from snnstudio.gui.sweep_plots import SweepPlots

METRIC_COLUMNS = (("acc", "ACC"), ("asr", "ASR"), ("mr", "MR"))
# a train-eliminate sweep's (the paper's Fig. 12): the model after the elimination
ELIMINATION_COLUMNS = (("acc_after", "ACC after"), ("asr_after", "ASR after"),
                       ("asr_drop", "ASR drop"))  # fmt: skip
RESIZE_ROWS = 20  # column widths from the first rows, not from every row of a long sweep
PLOT_DELAY_MS = 250  # points finishing within this time are drawn together


class SweepPanel(QWidget):
    """Emits `open_point(run_dir)` when a point is double-clicked."""

    open_point = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec: SweepSpec | None = None
        self.sweep_dir: Path | None = None
        self.rows: dict[int, dict[str, Any]] = {}
        self.name = QLineEdit("sweep")
        self.axes = QTableWidget(0, 2)
        self.axes.setHorizontalHeaderLabels(["config key", "values: a, b, c  or  start:stop:step"])
        self.axes.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.axes.setColumnWidth(0, 200)  # room for the longest keys (trigger.frame_start)
        self.axes.setMinimumHeight(110)
        self.add_axis_button = QPushButton("Add axis")
        self.remove_axis_button = QPushButton("Remove axis")
        self.repeats = int_spin(1, 100)
        self.workers = int_spin(1, max(1, os.cpu_count() or 1))
        self.backend = combo(BACKENDS)
        self.start_button = QPushButton("Start sweep")
        self.estimate_button = QPushButton("Estimate time")
        self.estimate_button.setToolTip(
            "each point's memory and time estimate, summed (an ANN twin that points share "
            "counted once); the same as `snnstudio sweep --dry-run`"
        )
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.status = QLabel("the base is the experiment of the Experiment and Trigger tabs")
        self.status.setWordWrap(True)
        self.points = QTableWidget(0, 0)
        self.points.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.points.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.points.setToolTip("double-click a point to open its run in Results")
        self.points.horizontalHeader().setResizeContentsPrecision(RESIZE_ROWS)
        self.graphics = pg.GraphicsLayoutWidget()
        self.plots = SweepPlots(self.graphics)  # made once; a sweep only re-labels them
        self._plot_timer = QTimer(self)
        self._plot_timer.setSingleShot(True)
        self._plot_timer.setInterval(PLOT_DELAY_MS)
        self._plot_timer.timeout.connect(self._update_plots)
        self._build_layout()
        self.add_axis_button.clicked.connect(lambda: self.add_axis())
        self.remove_axis_button.clicked.connect(self._remove_axis)
        self.points.cellDoubleClicked.connect(self._open_row)
        self.add_axis("poison.rate", "0.05, 0.1")

    def _build_layout(self) -> None:
        settings = QFormLayout()
        settings.addRow("Sweep name", self.name)
        settings.addRow("Repeats (seeds)", self.repeats)
        settings.addRow("Workers", self.workers)
        settings.addRow("Backend", self.backend)
        axis_buttons = QHBoxLayout()
        axis_buttons.addWidget(self.add_axis_button)
        axis_buttons.addWidget(self.remove_axis_button)
        axis_buttons.addStretch(1)
        axes_box = QGroupBox("Axes (every combination)")
        axes_layout = QVBoxLayout(axes_box)
        axes_layout.addWidget(self.axes)
        axes_layout.addLayout(axis_buttons)
        top = QHBoxLayout()
        top.addWidget(axes_box, 3)
        side = QVBoxLayout()
        side.addLayout(settings)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.estimate_button)
        side.addLayout(buttons)
        side.addWidget(self.progress)
        side.addStretch(1)
        top.addLayout(side, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.points)
        split.addWidget(self.graphics)
        split.setSizes([520, 600])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    # ------------------------------------------------------------------ axes

    def add_axis(self, key: str = "trigger.position", values: str = "") -> None:
        row = self.axes.rowCount()
        self.axes.insertRow(row)
        box = QComboBox()
        box.addItems(axis_keys())
        box.setCurrentText(key)
        self.axes.setCellWidget(row, 0, box)
        self.axes.setItem(row, 1, QTableWidgetItem(values))

    def _remove_axis(self) -> None:
        row = self.axes.currentRow()
        self.axes.removeRow(row if row >= 0 else self.axes.rowCount() - 1)

    def build_spec(self, base: config_io.ExperimentConfig) -> SweepSpec:
        """The sweep as edited, checked whole by the core (raises ConfigError); blocking:
        every point's config is built and validated (seconds for hundreds of points)."""
        return parse_spec(self.spec_data(base), "sweep", None)

    def spec_data(self, base: config_io.ExperimentConfig) -> dict[str, Any]:
        """The sweep as edited, as spec data; only the axes' values are checked here (raises
        ConfigError), the whole spec by `parse_spec`."""
        grid: dict[str, list[Any]] = {}
        for row in range(self.axes.rowCount()):
            key = self.axes.cellWidget(row, 0).currentText()
            item = self.axes.item(row, 1)
            try:
                grid[key] = parse_axis_values(item.text() if item else "")
            except config_io.ConfigError as exc:
                raise config_io.ConfigError(f"axis {key}: {exc}") from None
        return {"name": self.name.text(), "repeats": self.repeats.value(), "grid": grid,
                "base": config_io.to_dict(base)}  # fmt: skip

    # ------------------------------------------------------------------ running

    def begin(
        self, spec: SweepSpec, sweep_dir: Path, points: list[SweepPoint] | None = None
    ) -> None:
        self.spec, self.sweep_dir, self.rows = spec, sweep_dir, {}
        points = spec.points() if points is None else points
        for point in points:
            self.rows[point.index] = {**point.values, "seed": point.seed, "status": "queued"}
        self.progress.setRange(0, len(points))
        self.progress.setValue(0)
        self.status.setStyleSheet("")  # an estimate's red no longer applies
        self.status.setToolTip("")
        self.status.setText(f"{len(points)} points into {sweep_dir}")
        self._refresh()

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def show_event(self, event: object) -> None:
        if isinstance(event, SweepPlan):
            self.begin(event.spec, event.out_dir, event.points)
        elif isinstance(event, SweepStarted):
            self.status.setText(
                f"{event.total} points, {event.total - event.to_run} read from an earlier "
                f"run of this sweep: {event.out_dir}"
            )
        elif isinstance(event, PointStarted):
            self.rows[event.index]["status"] = "running"
            self._refresh_row(event.index)
        elif isinstance(event, PointFinished):
            self.rows[event.index] = dict(event.row)
            self.progress.setValue(sum(r["status"] != "queued" and r["status"] != "running"
                                       for r in self.rows.values()))  # fmt: skip
            self._refresh_row(event.index)
            self._draw()
        elif isinstance(event, SweepFinished):
            counts = ", ".join(f"{v} {k}" for k, v in event.counts.items())
            self.status.setText(f"sweep {event.status} in {event.seconds:.0f} s: {counts}")
            for index in self.rows:
                self._refresh_row(index)
            self._update_plots()

    def load_sweep(self, sweep_dir: Path) -> None:
        """Show a finished (or stopped) sweep from its directory (raises ConfigError)."""
        spec = load_written_spec(sweep_dir / SPEC_FILE)
        rows = read_results(sweep_dir / RESULTS_FILE)
        self.spec, self.sweep_dir = spec, sweep_dir
        self.rows = dict(enumerate(rows))
        self.name.setText(spec.name)
        self.repeats.setValue(spec.repeats)
        if not spec.zipped:  # the editor holds grid axes only; a zipped sweep keeps it as is
            while self.axes.rowCount():
                self.axes.removeRow(0)
            for key, values in spec.grid.items():
                self.add_axis(key, ", ".join(norm(v) for v in values))
        self.progress.setRange(0, len(rows))
        self.progress.setValue(sum(r.get("status") == "completed" for r in rows))
        self.status.setText(f"reopened {sweep_dir}")
        self._refresh()

    # ------------------------------------------------------------------ table and plot

    def _metric_columns(self) -> tuple[tuple[str, str], ...]:
        if self.spec is not None and self.spec.job == ELIMINATION_JOB:
            return METRIC_COLUMNS + ELIMINATION_COLUMNS
        return METRIC_COLUMNS

    def _columns(self) -> list[str]:
        axes = self.spec.axes if self.spec else []
        return [*axes, "seed", "status", *(name for _, name in self._metric_columns())]

    def _refresh(self) -> None:
        columns = self._columns()
        self.points.setColumnCount(len(columns))
        self.points.setHorizontalHeaderLabels(columns)
        self.points.setRowCount(len(self.rows))
        for index in self.rows:
            self._refresh_row(index)
        self.points.resizeColumnsToContents()
        self._build_plots()

    def _refresh_row(self, index: int) -> None:
        row = self.rows[index]
        axes = self.spec.axes if self.spec else []
        cells = [*(row.get(k, "") for k in axes), row.get("seed", ""), row.get("status", "")]
        cells += [_fraction(row.get(key)) for key, _ in self._metric_columns()]
        for col, value in enumerate(cells):
            item = QTableWidgetItem(str(value))
            item.setData(Qt.ItemDataRole.UserRole, row.get("run_dir", ""))
            self.points.setItem(index, col, item)

    def _open_row(self, row: int, _column: int = 0) -> None:
        item = self.points.item(row, 0)
        run_dir = item.data(Qt.ItemDataRole.UserRole) if item else ""
        if run_dir and self.sweep_dir is not None:
            self.open_point.emit(self.sweep_dir / run_dir)

    def _draw(self) -> None:
        """Redraw the plots soon: points finishing close together cost one redraw."""
        self._plot_timer.start()

    def _build_plots(self) -> None:
        """Lay out and label the plots for this sweep; `_update_plots` only replaces data."""
        self._plot_timer.stop()
        self.plots.show(self.spec)
        self._update_plots()

    def _update_plots(self) -> None:
        """The plots' data from the finished points, and the table's column widths (its
        first rows only: cheap) now that they hold results."""
        self.points.resizeColumnsToContents()
        self.plots.update(self.rows.values())


@dataclass(frozen=True)
class SweepPlan:
    """The first item of the window's sweep job: the checked spec, its points and folder."""

    spec: SweepSpec
    points: list[SweepPoint]
    out_dir: Path


def _fraction(value: Any) -> str:
    """A metric as a fraction, as Results and the plots show it (0.9531, not 95.3)."""
    try:
        return f"{float(value):.4f}" if value not in (None, "") else ""
    except (TypeError, ValueError):
        return ""
