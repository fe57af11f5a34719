"""The Sweep tab: axes over the edited experiment, Start/Stop on the window's worker, a live
table of points and ACC/ASR against the axis (heat maps for two axes).

It drives the core's `run_sweep` generator like the Run tab drives `run_experiment`; the
spec it builds is checked by the core (`parse_spec`) before anything starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core import config as config_io
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.rundir import RunKind, new_run_dir, open_run
from snnstudio.core.sweep.backends import BACKENDS
from snnstudio.core.sweep.cells import Dimension, cells_of, dimensions, norm
from snnstudio.core.sweep.elimination_job import JOB_NAME as ELIMINATION_JOB
from snnstudio.core.sweep.engine import (
    PointFinished,
    PointStarted,
    SweepFinished,
    SweepStarted,
    run_sweep,
)
from snnstudio.core.sweep.results import RESULTS_FILE, SPEC_FILE, read_results
from snnstudio.core.sweep.spec import (
    SweepSpec,
    axis_keys,
    loads_spec,
    parse_axis_values,
    parse_spec,
)
from snnstudio.gui.form_fields import combo, int_spin
from snnstudio.gui.tasks import Failure, show_failure

METRIC_COLUMNS = (("acc", "ACC"), ("asr", "ASR"), ("mr", "MR"))
# a train-eliminate sweep's (the paper's Fig. 12): the model after the elimination
ELIMINATION_COLUMNS = (("acc_after", "ACC after"), ("asr_after", "ASR after"),
                       ("asr_drop", "ASR drop"))  # fmt: skip
METRIC_COLOURS = {"acc": "#1f77b4", "asr": "#d62728"}
MAX_LINES = 8  # line groups drawn for three or more dimensions


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
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.status = QLabel("the base is the experiment of the Experiment and Trigger tabs")
        self.status.setWordWrap(True)
        self.points = QTableWidget(0, 0)
        self.points.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.points.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.points.setToolTip("double-click a point to open its run in Results")
        self.graphics = pg.GraphicsLayoutWidget()
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
        """The sweep as edited, checked whole by the core (raises ConfigError)."""
        grid: dict[str, list[Any]] = {}
        for row in range(self.axes.rowCount()):
            key = self.axes.cellWidget(row, 0).currentText()
            item = self.axes.item(row, 1)
            try:
                grid[key] = parse_axis_values(item.text() if item else "")
            except config_io.ConfigError as exc:
                raise config_io.ConfigError(f"axis {key}: {exc}") from None
        data = {"name": self.name.text(), "repeats": self.repeats.value(), "grid": grid,
                "base": config_io.to_dict(base)}  # fmt: skip
        return parse_spec(data, "sweep", None)

    # ------------------------------------------------------------------ running

    def begin(self, spec: SweepSpec, sweep_dir: Path) -> None:
        self.spec, self.sweep_dir, self.rows = spec, sweep_dir, {}
        points = spec.points()
        for point in points:
            self.rows[point.index] = {**point.values, "seed": point.seed, "status": "queued"}
        self.progress.setRange(0, len(points))
        self.progress.setValue(0)
        self.status.setText(f"{len(points)} points into {sweep_dir}")
        self._refresh()

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def show_event(self, event: object) -> None:
        if isinstance(event, SweepStarted):
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
            self._refresh()

    def load_sweep(self, sweep_dir: Path) -> None:
        """Show a finished (or stopped) sweep from its directory (raises ConfigError)."""
        spec = loads_spec((sweep_dir / SPEC_FILE).read_text(encoding="utf-8"), sweep_dir)
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
        self._draw()

    def _refresh_row(self, index: int) -> None:
        row = self.rows[index]
        axes = self.spec.axes if self.spec else []
        cells = [*(row.get(k, "") for k in axes), row.get("seed", ""), row.get("status", "")]
        cells += [_percent(row.get(key)) for key, _ in self._metric_columns()]
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
        self.graphics.clear()
        if self.spec is None:
            return
        dims = dimensions(self.spec)
        done = [r for r in self.rows.values() if r.get("status") == "completed"]
        cells = cells_of(dims, done)
        if len(dims) == 2:
            for col, (metric, title) in enumerate(METRIC_COLUMNS[:2]):
                self._heat_map(col, dims, [c.mean(metric) for c in cells], title)
        elif dims:
            self._lines(dims, cells)

    def _lines(self, dims: list[Dimension], cells: list) -> None:  # type: ignore[type-arg]
        first = dims[0]
        plot = self.graphics.addPlot(title=f"ACC (solid) and ASR (dashed) against {first.name}")
        plot.addLegend(offset=(-10, 10))
        plot.setYRange(0, 1.05)
        xs = [v[0] for v in first.values] if first.numeric else list(range(len(first.values)))
        if not first.numeric:
            ticks = [(i, first.label(v)) for i, v in enumerate(first.values)]
            plot.getAxis("bottom").setTicks([ticks])
        per_line = len(cells) // len(first.values)
        styles = (("acc", Qt.PenStyle.SolidLine), ("asr", Qt.PenStyle.DashLine))
        for group in range(min(per_line, MAX_LINES)):
            line_cells = cells[group::per_line]
            label = ", ".join(
                d.label(tuple(line_cells[0].values[k] for k in d.keys)) for d in dims[1:]
            )
            for metric, style in styles:
                colour = pg.intColor(group, per_line) if per_line > 1 else METRIC_COLOURS[metric]
                ys = np.array([_nan(c.mean(metric)) for c in line_cells], dtype=float)
                pen = pg.mkPen(colour, width=2, style=style)
                name = f"{metric.upper()} {label}".strip()
                plot.plot(xs, ys, pen=pen, symbol="o", symbolSize=6, symbolBrush=colour,
                          name=name, connect="finite")  # fmt: skip
        plot.setLabel("bottom", first.name)

    def _heat_map(self, col: int, dims: list[Dimension], values: list, title: str) -> None:  # type: ignore[type-arg]
        rows, columns = dims
        grid = np.array([_nan(v) for v in values], dtype=float).reshape(
            len(rows.values), len(columns.values)
        )
        plot = self.graphics.addPlot(row=0, col=col, title=f"{title} (rows {rows.name})")
        image = pg.ImageItem(np.nan_to_num(grid.T, nan=-0.05), levels=(0, 1))
        image.setColorMap(pg.colormap.get("viridis"))
        plot.addItem(image)
        plot.invertY(True)
        plot.getAxis("bottom").setTicks(
            [[(i + 0.5, columns.label(v)) for i, v in enumerate(columns.values)]]
        )
        plot.getAxis("left").setTicks(
            [[(i + 0.5, rows.label(v)) for i, v in enumerate(rows.values)]]
        )
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                text = pg.TextItem(f"{100 * value:.1f}", anchor=(0.5, 0.5),
                                   color="w" if value < 0.6 else "k")  # fmt: skip
                text.setPos(j + 0.5, i + 0.5)
                plot.addItem(text)
        plot.setLabel("bottom", columns.name)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _percent(value: Any) -> str:
    try:
        return f"{100 * float(value):.1f}" if value not in (None, "") else ""
    except (TypeError, ValueError):
        return ""


def is_sweep_dir(path: Path) -> bool:
    try:
        return open_run(path).kind is RunKind.SWEEP
    except (SnnStudioError, OSError):
        return False


class SweepTab:
    """The Sweep tab's one hook into the main window: the tab itself, Start on the window's
    worker, Stop, reopening a sweep from Results and opening a point's run."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.panel = SweepPanel()
        window.tabs.addTab(self.panel, "Sweep")
        self.panel.start_button.clicked.connect(self.start)
        self.panel.stop_button.clicked.connect(window.jobs.cancel)
        self.panel.open_point.connect(window.reopen_run)

    def start(self) -> None:
        """Check the sweep with the core; a problem is a dialog in this tab, nothing starts."""
        if self.window.jobs.busy_here(self.panel):  # says which job is busy
            return
        try:
            spec = self.panel.build_spec(self.window.config())
        except SnnStudioError as exc:
            QMessageBox.warning(self.panel, "Sweep not valid", str(exc))
            return
        try:
            out_dir = new_run_dir(self.window.runs_folder, f"sweep-{spec.name}")
        except (SnnStudioError, OSError) as exc:
            QMessageBox.warning(self.panel, "Cannot make the sweep folder", str(exc))
            return
        workers, backend = self.panel.workers.value(), self.panel.backend.currentText()
        self.panel.begin(spec, out_dir)
        self.window.jobs.start(
            "sweep",
            lambda cancel: run_sweep(spec, out_dir, workers, backend, None, cancel),
            on_yielded=self.panel.show_event,
            on_failed=self.failed,
            on_finished=lambda: self.panel.set_running(False),
        )
        self.panel.set_running(True)

    def failed(self, failure: Failure) -> None:
        """Any error of the sweep: a message in this tab (a bug's traceback in its details)."""
        self.panel.set_running(False)
        show_failure(self.panel, "Sweep failed", failure)

    def reopen(self, path: Path) -> bool:
        """Show `path` in this tab when it is a sweep directory (True), else leave it (False)."""
        if not is_sweep_dir(path):
            return False
        try:
            self.panel.load_sweep(path)
        except SnnStudioError as exc:
            QMessageBox.warning(self.panel, "Cannot reopen sweep", str(exc))
            return True
        self.window.tabs.setCurrentWidget(self.panel)
        return True
