"""The detection figures: voltage heat maps (neuron x time), spike rasters clean vs triggered,
neuron traces with the firing threshold, and cumulative-voltage histograms.

Every plot item is created once; `show_snapshot` only replaces data (`setImage` with fixed
levels, `setData`), following pyqtgraph's PlotSpeedTest. A raster is one ScatterPlotItem.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from snnstudio.gui.probe_snapshot import ProbeSnapshot

HISTOGRAM_BINS = 60
TRACE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
CLEAN_COLOUR, TRIGGERED_COLOUR, REFERENCE_COLOUR = "#1f77b4", "#d62728", "#2ca02c"


class DetectionPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        g = self.graphics
        self.heat_clean = self._plot(g.addPlot(0, 0), "voltage, clean input", "t", "neuron")
        self.heat_triggered = self._plot(g.addPlot(0, 1), "voltage, triggered input", "t", "neuron")
        self.heat_items = (pg.ImageItem(), pg.ImageItem())
        colormap = pg.colormap.get("viridis")
        for plot, item in zip((self.heat_clean, self.heat_triggered), self.heat_items, strict=True):
            item.setColorMap(colormap)
            plot.addItem(item)
        self.colorbar = pg.ColorBarItem(colorMap=colormap, label="voltage", interactive=False)
        self.colorbar.setImageItem(list(self.heat_items), insert_in=self.heat_triggered)
        self.raster_clean = self._plot(g.addPlot(1, 0), "spikes, clean input", "t", "neuron")
        self.raster_triggered = self._plot(
            g.addPlot(1, 1), "spikes, triggered input", "t", "neuron"
        )
        self.raster_items = (
            pg.ScatterPlotItem(symbol="s", size=4, pen=None, brush=CLEAN_COLOUR),
            pg.ScatterPlotItem(symbol="s", size=4, pen=None, brush=TRIGGERED_COLOUR),
        )
        self.raster_clean.addItem(self.raster_items[0])
        self.raster_triggered.addItem(self.raster_items[1])
        self.traces = self._plot(g.addPlot(2, 0), "neuron voltage (dashed: clean)", "t", "voltage")
        self.traces.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=(255, 255, 255, 210))
        self.threshold = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#b00020", width=2, style=Qt.PenStyle.DashLine),
            label="threshold {value:.2f}", labelOpts={"position": 0.25, "color": "#b00020"},
        )  # fmt: skip
        self.traces.addItem(self.threshold)
        self.histogram = self._plot(
            g.addPlot(2, 1), "cumulative voltage, all neurons", "voltage summed over t", "count"
        )
        self.histogram.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=(255, 255, 255, 210))
        self._trace_items: list[pg.PlotDataItem] = []
        self._hist_items: list[pg.PlotDataItem] = []

    @staticmethod
    def _plot(plot: pg.PlotItem, title: str, x: str, y: str) -> pg.PlotItem:
        plot.setTitle(title)
        plot.setLabel("bottom", x)
        plot.setLabel("left", y)
        return plot

    def show_snapshot(self, snap: ProbeSnapshot, sample: int, neurons: list[int]) -> None:
        """Draw input `sample` of the snapshot, with traces of `neurons`."""
        clean_v = snap.clean.voltage[:, sample, :]  # [T, neurons]: ImageItem's x = t, y = neuron
        trig_v = snap.triggered.voltage[:, sample, :]
        low = float(min(clean_v.min(), trig_v.min()))
        high = float(max(clean_v.max(), trig_v.max(), low + 1e-6))
        steps, neurons_total = clean_v.shape
        for item, image in zip(self.heat_items, (clean_v, trig_v), strict=True):
            item.setImage(image, autoLevels=False, levels=(low, high))
            item.setRect(QRectF(0.5, -0.5, steps, neurons_total))  # pixel centres at t = 1..T
        self.colorbar.setLevels((low, high))
        for item, rec in zip(self.raster_items, (snap.clean, snap.triggered), strict=True):
            t, neuron = np.nonzero(rec.spikes[:, sample, :] > 0)
            item.setData(t + 1, neuron)  # t = 1..T as in the heat maps and traces
        self._draw_traces(snap, sample, neurons)
        self._draw_histograms(snap)

    def _draw_traces(self, snap: ProbeSnapshot, sample: int, neurons: list[int]) -> None:
        for item in self._trace_items:
            self.traces.removeItem(item)
        self._trace_items = []
        steps = np.arange(1, snap.clean.voltage.shape[0] + 1)
        for index, neuron in enumerate(neurons):
            colour = TRACE_COLOURS[index % len(TRACE_COLOURS)]
            for rec, style, name in (
                (snap.clean, Qt.PenStyle.DashLine, None),
                (snap.triggered, Qt.PenStyle.SolidLine, f"neuron {neuron}"),
            ):
                item = self.traces.plot(
                    steps, rec.voltage[:, sample, neuron], name=name, symbol="o", symbolSize=5,
                    pen=pg.mkPen(colour, width=2, style=style), symbolBrush=colour,
                )  # fmt: skip
                self._trace_items.append(item)
        self.threshold.setValue(snap.threshold)

    def _draw_histograms(self, snap: ProbeSnapshot) -> None:
        for item in self._hist_items:
            self.histogram.removeItem(item)
        self._hist_items = []
        if snap.reference_triggered is not None:
            series = [
                ("suspect, triggered", snap.triggered, TRIGGERED_COLOUR),
                ("reference, triggered", snap.reference_triggered, REFERENCE_COLOUR),
            ]
        else:
            series = [
                ("suspect, clean", snap.clean, CLEAN_COLOUR),
                ("suspect, triggered", snap.triggered, TRIGGERED_COLOUR),
            ]
        values = [rec.cumulative_voltage.ravel() for _, rec, _ in series]
        edges = np.histogram_bin_edges(np.concatenate(values), bins=HISTOGRAM_BINS)
        for (name, _, colour), data in zip(series, values, strict=True):
            counts, _ = np.histogram(data, bins=edges)
            brush = pg.mkColor(colour)
            brush.setAlpha(70)
            item = self.histogram.plot(
                edges, counts, stepMode="center", fillLevel=0, brush=brush,
                pen=pg.mkPen(colour, width=2), name=name,
            )  # fmt: skip
            self._hist_items.append(item)

    def spike_points(self, which: int) -> int:
        """How many spikes the clean (0) or triggered (1) raster shows."""
        return len(self.raster_items[which].data)
