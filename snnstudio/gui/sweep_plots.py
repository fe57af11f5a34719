"""The Sweep tab's plots: ACC and ASR against the first dimension, a line per combination of
the others, or two heat maps (ACC, ASR) when the sweep has two dimensions.

Every plot item is created once, with the tab: a new sweep only re-labels them and takes
its curves and cell labels from pools that grow to the largest sweep shown; results only
replace data. Creating the plot and its curves at every sweep's start took ~30 ms of the
GUI thread's CPU (benchmarks/gui_stalls.py, "sweep 50 points").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from snnstudio.core.sweep.cells import Cell, Dimension, cells_of, dimensions
from snnstudio.core.sweep.spec import SweepSpec
from snnstudio.gui.plot_items import side_legend

PLOTTED_METRICS = (("acc", "ACC"), ("asr", "ASR"))
METRIC_COLOURS = {"acc": "#1f77b4", "asr": "#d62728"}
METRIC_STYLES = {"acc": Qt.PenStyle.SolidLine, "asr": Qt.PenStyle.DashLine}
MAX_LINES = 8  # line groups drawn for three or more dimensions
EMPTY_CELL = -0.05  # a cell without results: below the colour map's range (0, 1)
DARK_CELL = 0.6  # below this value a cell's label is white


class LinePlot:
    """ACC (solid) and ASR (dashed) against the first dimension; one colour per combination
    of the other dimensions, up to MAX_LINES."""

    def __init__(self) -> None:
        self.plot = pg.PlotItem()
        side_legend(self.plot)
        self.plot.setYRange(0, 1.05)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)  # 0.05, not 50 (x0.001)
        self._pool: list[pg.PlotDataItem] = []
        self._curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._xs: list[Any] = []
        self._per_line = 1
        self._take_curves(len(PLOTTED_METRICS))  # a one-axis sweep's, made with the tab

    def show(self, dims: list[Dimension]) -> None:
        """Label the plot for a sweep of `dims` and give each drawn line a curve."""
        first = dims[0]
        self.plot.setTitle(f"ACC (solid) and ASR (dashed) against {first.name}")
        self.plot.setLabel("bottom", first.name)
        bottom = self.plot.getAxis("bottom")
        if first.numeric:
            self._xs = [v[0] for v in first.values]
            bottom.setTicks(None)
        else:
            self._xs = list(range(len(first.values)))
            bottom.setTicks([[(i, first.label(v)) for i, v in enumerate(first.values)]])
        cells = cells_of(dims, [])  # the combinations, for the line labels
        self._per_line = len(cells) // len(first.values)
        lines = min(self._per_line, MAX_LINES)
        curves = self._take_curves(lines * len(PLOTTED_METRICS))
        self.plot.legend.clear()
        self._curves = {}
        for group in range(lines):
            values = cells[group].values
            label = ", ".join(d.label(tuple(values[k] for k in d.keys)) for d in dims[1:])
            for metric, _title in PLOTTED_METRICS:
                curve = curves.pop(0)
                self._style(curve, group, metric)
                self.plot.legend.addItem(curve, f"{metric.upper()} {label}".strip())
                self._curves[(group, metric)] = curve
        self.plot.enableAutoRange(axis="x")

    def update(self, cells: list[Cell]) -> None:
        for (group, metric), curve in self._curves.items():
            means = [_nan(c.mean(metric)) for c in cells[group :: self._per_line]]
            curve.setData(self._xs, np.array(means, dtype=float), connect="finite")

    def _take_curves(self, count: int) -> list[pg.PlotDataItem]:
        """`count` empty curves, shown; the pool's others hidden (left out of the range)."""
        while len(self._pool) < count:
            curve = pg.PlotDataItem([], [], symbol="o", symbolSize=6)
            self.plot.addItem(curve)
            self._pool.append(curve)
        for index, curve in enumerate(self._pool):
            curve.setData([], [])
            curve.setVisible(index < count)
        return self._pool[:count]

    def _style(self, curve: pg.PlotDataItem, group: int, metric: str) -> None:
        lines = self._per_line
        colour = pg.intColor(group, lines) if lines > 1 else METRIC_COLOURS[metric]
        curve.setPen(pg.mkPen(colour, width=2, style=METRIC_STYLES[metric]))
        curve.setSymbolBrush(colour)


class HeatMap:
    """One metric's mean per cell of two dimensions (rows: the first), its value written in
    each cell."""

    def __init__(self) -> None:
        self.plot = pg.PlotItem()
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.plot.invertY(True)
        self._labels: list[pg.TextItem] = []  # a pool: one per cell of the largest map
        self._shape = (0, 0)

    def show(self, dims: list[Dimension], title: str) -> None:
        """Label the map for a sweep of two dimensions `dims`; every cell empty."""
        rows, columns = dims
        self.plot.setTitle(f"{title} (rows {rows.name})")
        self.plot.setLabel("bottom", columns.name)
        self.plot.getAxis("bottom").setTicks(
            [[(i + 0.5, columns.label(v)) for i, v in enumerate(columns.values)]]
        )
        self.plot.getAxis("left").setTicks(
            [[(i + 0.5, rows.label(v)) for i, v in enumerate(rows.values)]]
        )
        self._shape = (len(rows.values), len(columns.values))
        self._place_labels()
        self.update(np.full(self._shape, np.nan))
        self.plot.enableAutoRange()

    def update(self, grid: np.ndarray) -> None:
        """`grid`: the metric per cell, [rows, columns], nan where no point has finished."""
        self.image.setImage(np.nan_to_num(grid.T, nan=EMPTY_CELL), levels=(0, 1), autoLevels=False)
        for label, value in zip(self._labels, grid.flat, strict=False):
            text = f"{value:.3f}" if np.isfinite(value) else ""
            label.setText(text, color="w" if value < DARK_CELL else "k")

    def _place_labels(self) -> None:
        """A label at the centre of every cell, row by row; the pool's others hidden."""
        cells = self._shape[0] * self._shape[1]
        while len(self._labels) < cells:
            label = pg.TextItem("", anchor=(0.5, 0.5))
            self.plot.addItem(label)
            self._labels.append(label)
        for index, label in enumerate(self._labels):
            row, col = divmod(index, max(1, self._shape[1]))
            label.setPos(col + 0.5, row + 0.5)
            label.setVisible(index < cells)


class SweepPlots:
    """The plots of the sweep shown, in `graphics`: lines or heat maps, made once."""

    def __init__(self, graphics: pg.GraphicsLayoutWidget) -> None:
        self.graphics = graphics
        self.lines = LinePlot()
        self.heat_maps = [HeatMap() for _ in PLOTTED_METRICS]
        self._dims: list[Dimension] = []

    def show(self, spec: SweepSpec | None) -> None:
        """Lay out and label the plots for `spec` (None: no plot), without results."""
        self._dims = dimensions(spec) if spec is not None else []
        if len(self._dims) == 2:
            for heat_map, (_metric, title) in zip(self.heat_maps, PLOTTED_METRICS, strict=True):
                heat_map.show(self._dims, title)
            self._arrange([h.plot for h in self.heat_maps])
        elif self._dims:
            self.lines.show(self._dims)
            self._arrange([self.lines.plot])
        else:
            self._arrange([])

    def update(self, rows: Iterable[dict[str, Any]]) -> None:
        """Draw the means of the completed points among `rows`."""
        done = [r for r in rows if r.get("status") == "completed"]
        if not self._dims or not done:  # `show` left the plots empty
            return
        cells = cells_of(self._dims, done)
        if len(self._dims) == 2:
            shape = (len(self._dims[0].values), len(self._dims[1].values))
            for heat_map, (metric, _title) in zip(self.heat_maps, PLOTTED_METRICS, strict=True):
                grid = np.array([_nan(c.mean(metric)) for c in cells], dtype=float)
                heat_map.update(grid.reshape(shape))
        else:
            self.lines.update(cells)

    def _arrange(self, plots: list[pg.PlotItem]) -> None:
        """`plots` side by side in the layout, unless they are there already."""
        layout = self.graphics.ci
        if list(layout.items) == plots:
            return
        layout.clear()
        for col, plot in enumerate(plots):
            layout.addItem(plot, row=0, col=col)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
