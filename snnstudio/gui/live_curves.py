"""Live curves of a run: ACC/ASR per epoch, smoothed per-batch loss and accuracy, and the
ACC/ASR-against-timestep curve of converted networks.

The pyqtgraph pattern of PlotSpeedTest / scrollingPlots: every curve is created once, events
only append to plain lists, and a timer calls `setData` at most every REFRESH_MS, so a burst
of batch events never stalls the event loop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from snnstudio.core.events import (
    BatchDone,
    EpochDone,
    NetworkKind,
    StageEvent,
    StageRole,
    TimestepCurve,
)
from snnstudio.gui.plot_items import IntegerAxis, side_legend

REFRESH_MS = 400
# No grid: pyqtgraph draws every minor grid line on each repaint, which tripled the cost of a
# frame (33 ms against 10 ms for the four plots at 1300x650, offscreen raster) and that time
# is taken from the training thread's cores.
SMOOTHING = 0.9  # exponential moving average weight of the per-batch curves
METRIC_COLOURS = {"acc": "#1f77b4", "asr": "#d62728", "loss": "#2ca02c", "batch_acc": "#9467bd"}
METRIC_LABELS = {"acc": "ACC", "asr": "ASR", "loss": "loss", "batch_acc": "batch acc"}
FRACTION_RANGE = (-0.03, 1.03)  # ACC/ASR of 0 and 1 stay visible inside the frame
WHOLE_NUMBER_AXES = ("epoch", "timesteps T")
TITLES = {
    "epoch": "ACC and ASR per epoch",
    "batch_acc": "batch accuracy (smoothed)",
    "loss": "training loss (smoothed)",
    "timestep": "ACC and ASR against timestep",
}
NOT_SAVED = " — not saved with a run: drawn while it trains"


def stage_pen_style(role: StageRole) -> Qt.PenStyle:
    """A clean twin's curves dashed, the backdoored model's solid."""
    return Qt.PenStyle.DashLine if role.clean_twin else Qt.PenStyle.SolidLine


def stage_symbol(role: StageRole) -> str:
    """Points of an ANN stage (LR_C, LR_H) are triangles, those of an SNN circles."""
    return "t" if role.network is NetworkKind.ANN else "o"


@dataclass
class _Series:
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)


class LiveCurves(QWidget):
    """Four plots fed by run events (a finished run's too: `RunRecord.epochs()`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.plots: dict[str, pg.PlotItem] = {
            "epoch": self._make_plot(0, 0, TITLES["epoch"], "epoch", FRACTION_RANGE),
            "batch_acc": self._make_plot(0, 1, TITLES["batch_acc"], "step", FRACTION_RANGE),
            "loss": self._make_plot(1, 0, TITLES["loss"], "step", None),
        }
        self._series: dict[tuple[str, str, str], _Series] = defaultdict(_Series)
        self._curves: dict[tuple[str, str, str], pg.PlotDataItem] = {}
        self._ema: dict[tuple[str, str], float] = {}
        self._roles: dict[str, StageRole] = {}  # stage -> role, from the events
        self._dirty: set[tuple[str, str, str]] = set()
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _make_plot(
        self, row: int, col: int, title: str, x_label: str, y_range: tuple[float, float] | None
    ) -> pg.PlotItem:
        whole = x_label in WHOLE_NUMBER_AXES
        axes = {"bottom": IntegerAxis("bottom")} if whole else {}
        plot = self.graphics.addPlot(row=row, col=col, title=title, axisItems=axes)
        plot.setLabel("bottom", x_label)
        side_legend(plot)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        if y_range is not None:
            plot.setYRange(*y_range, padding=0)
        return plot

    # ------------------------------------------------------------------ data in

    def clear(self) -> None:
        if "timestep" in self.plots:
            self.graphics.removeItem(self.plots.pop("timestep"))
        for name, plot in self.plots.items():
            plot.clear()
            plot.setTitle(TITLES[name])
            if plot.legend is not None:
                plot.legend.clear()
        self._series.clear()
        self._curves.clear()
        self._ema.clear()
        self._roles.clear()
        self._dirty.clear()

    def note_steps_not_saved(self) -> None:
        """Say on the per-batch plots why a reopened run leaves them empty."""
        for name in ("batch_acc", "loss"):
            self.plots[name].setTitle(TITLES[name] + NOT_SAVED)

    def add_event(self, event: object) -> None:
        """Append what an event carries; drawing happens on the next timer tick."""
        if isinstance(event, StageEvent):
            self._roles.setdefault(event.stage, event.role)
        if isinstance(event, BatchDone):
            for metric, value in (("loss", event.loss), ("batch_acc", event.batch_acc)):
                key = (event.stage, metric)
                smooth = self._ema.get(key, value) * SMOOTHING + value * (1 - SMOOTHING)
                self._ema[key] = smooth
                self._append(metric, event.stage, metric, event.step, smooth)
        elif isinstance(event, EpochDone):
            for metric in ("acc", "asr"):
                self._append("epoch", event.stage, metric, event.epoch, getattr(event, metric))
        elif isinstance(event, TimestepCurve):
            for metric in ("acc", "asr"):
                values = list(getattr(event, metric))
                series = self._series[("timestep", event.stage, metric)]
                series.x = list(range(1, len(values) + 1))
                series.y = values
                self._dirty.add(("timestep", event.stage, metric))

    def add_epoch_row(
        self, stage: str, epoch: int, acc: float, asr: float, role: StageRole | None = None
    ) -> None:
        """One epoch's ACC and ASR, as an EpochDone would add them."""
        self._roles.setdefault(stage, role or StageRole())
        self._append("epoch", stage, "acc", epoch, acc)
        self._append("epoch", stage, "asr", epoch, asr)

    def _append(self, plot: str, stage: str, metric: str, x: float, y: float) -> None:
        series = self._series[(plot, stage, metric)]
        series.x.append(float(x))
        series.y.append(float(y))
        self._dirty.add((plot, stage, metric))

    # ------------------------------------------------------------------ drawing

    def _tick(self) -> None:
        if self.isVisible():  # hidden curves are drawn when their tab is shown again
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """Push changed series to their curves (called by the timer; cheap when idle)."""
        for key in self._dirty:
            plot, stage, metric = key
            curve = self._curves.get(key)
            if curve is None:
                curve = self._make_curve(plot, stage, metric)
                self._curves[key] = curve
            series = self._series[key]
            curve.setData(series.x, series.y)
        self._dirty.clear()

    def _plot(self, name: str) -> pg.PlotItem:
        """The plot `name`; the timestep plot is added only once a run has such a curve."""
        if name == "timestep" and name not in self.plots:
            self.plots[name] = self._make_plot(
                1, 1, TITLES["timestep"], "timesteps T", FRACTION_RANGE
            )
        return self.plots[name]

    def _make_curve(self, plot: str, stage: str, metric: str) -> pg.PlotDataItem:
        role = self._roles.get(stage, StageRole())
        pen = pg.mkPen(METRIC_COLOURS[metric], width=2, style=stage_pen_style(role))
        symbol = stage_symbol(role) if plot in ("epoch", "timestep") else None
        return self._plot(plot).plot(
            [], [], pen=pen, name=f"{METRIC_LABELS[metric]} ({stage})", symbol=symbol,
            symbolSize=5, symbolBrush=METRIC_COLOURS[metric], symbolPen=None,
        )  # fmt: skip

    def point_count(self, plot: str, metric: str) -> int:
        """How many points the drawn curves of `plot`/`metric` hold, over all stages."""
        return sum(
            len(curve.xData) if curve.xData is not None else 0
            for (p, _, m), curve in self._curves.items()
            if p == plot and m == metric
        )
