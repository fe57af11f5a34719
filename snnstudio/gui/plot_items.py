"""Plot parts the window's figures share: a legend beside the plot (never over the curves'
ends, where a legend inside the top-right corner sat) and an axis of whole numbers (epochs,
timesteps: no 1.5 or 2.5 ticks)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

LEGEND_TEXT = "8pt"
_VIEW_ROW, _RIGHT_OF_AXIS = 2, 3  # PlotItem's grid: the view box row; past the right axis


def side_legend(plot: pg.PlotItem) -> pg.LegendItem:
    """A legend in `plot`'s own layout, right of its view box and top-aligned; curves
    plotted with a `name` join it (it becomes `plot.legend`). It is part of the plot item,
    so exported figures keep it."""
    legend = pg.LegendItem(labelTextSize=LEGEND_TEXT)
    plot.layout.addItem(legend, _VIEW_ROW, _RIGHT_OF_AXIS)
    legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    plot.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop)
    plot.legend = legend
    return legend


class IntegerAxis(pg.AxisItem):
    """Ticks at whole numbers only, one apart at the closest."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        levels, seen = [], set()
        for spacing, values in super().tickValues(minVal, maxVal, size):
            whole = [v for v in values if float(v).is_integer() and v not in seen]
            seen.update(whole)
            if whole:
                levels.append((max(1.0, spacing), whole))
        if not levels and math.floor(maxVal) >= math.ceil(minVal):
            levels = [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
        return levels
