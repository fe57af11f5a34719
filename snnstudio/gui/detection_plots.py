"""The detection figures.

`DetectionPlots`: voltage heat maps (neuron x time) and spike rasters clean vs triggered,
neuron traces with the firing threshold, and cumulative-voltage histograms. A large layer
is drawn as the neurons the caller picks (the top k that the trigger changes most), rows
ranked; every time axis spans t = 1..T. `ScorePlots`: the sample score's
ROC curve and histograms (clean vs triggered test inputs) and the reference-free tests'
per-class margins, from the core's detection results.

The heat maps, rasters (one ScatterPlotItem each), threshold line, ROC curve and score
histograms are created once and updated by replacing their data (`setImage` with fixed
levels, `setData`), following pyqtgraph's PlotSpeedTest. The neuron traces, the
cumulative-voltage histograms and the margin bars are re-created on each snapshot: a few
items whose number and legend names change with the chosen neurons, layer and tests.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from snnstudio.gui.plot_items import side_legend
from snnstudio.gui.probe_snapshot import ProbeSnapshot

HISTOGRAM_BINS = 60
MAX_TICKS = 16  # up to this many rows (timesteps) are labelled one by one
TRACE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
CLEAN_COLOUR, TRIGGERED_COLOUR, REFERENCE_COLOUR = "#1f77b4", "#d62728", "#2ca02c"
MARGIN_COLOURS = ("#9467bd", "#ff7f0e")


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
        side_legend(self.traces)  # beside the traces, not over their ends
        self.threshold = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#b00020", width=2, style=Qt.PenStyle.DashLine),
            label="threshold {value:.2f}", labelOpts={"position": 0.25, "color": "#b00020"},
        )  # fmt: skip
        self.traces.addItem(self.threshold)
        self.histogram = self._plot(
            g.addPlot(2, 1), "cumulative voltage, all neurons", "voltage summed over t", "count"
        )
        side_legend(self.histogram)
        self._trace_items: list[pg.PlotDataItem] = []
        self._hist_items: list[pg.PlotDataItem] = []
        self.time_plots = (
            self.heat_clean, self.heat_triggered, self.raster_clean, self.raster_triggered,
            self.traces,
        )  # fmt: skip

    @staticmethod
    def _plot(plot: pg.PlotItem, title: str, x: str, y: str) -> pg.PlotItem:
        plot.setTitle(title)
        plot.setLabel("bottom", x)
        plot.setLabel("left", y)
        return plot

    def show_snapshot(
        self, snap: ProbeSnapshot, sample: int, neurons: list[int], shown: np.ndarray
    ) -> None:
        """Draw input `sample` of the snapshot: rows = the neurons `shown` (in that order),
        traces of `neurons`."""
        clean_v = snap.clean.voltage[:, sample, shown]  # [T, k]: ImageItem's x = t, y = row
        trig_v = snap.triggered.voltage[:, sample, shown]
        low = float(min(clean_v.min(), trig_v.min()))
        high = float(max(clean_v.max(), trig_v.max(), low + 1e-6))
        steps, rows = clean_v.shape
        for item, image in zip(self.heat_items, (clean_v, trig_v), strict=True):
            item.setImage(image, autoLevels=False, levels=(low, high))
            item.setRect(QRectF(0.5, -0.5, steps, rows))  # pixel centres at t = 1..T
        self.colorbar.setLevels((low, high))
        for item, rec in zip(self.raster_items, (snap.clean, snap.triggered), strict=True):
            t, row = np.nonzero(rec.spikes[:, sample, shown] > 0)
            item.setData(t + 1, row)  # t = 1..T as in the heat maps and traces
        whole = len(shown) == snap.clean.num_neurons and np.all(np.diff(shown) > 0)
        axis_name = "neuron" if whole else f"top {rows} neurons (rank)"
        ticks = [[(i, str(n)) for i, n in enumerate(shown)]] if rows <= MAX_TICKS else None
        for plot in (self.heat_clean, self.heat_triggered, self.raster_clean,
                     self.raster_triggered):  # fmt: skip
            plot.setLabel("left", axis_name)
            plot.getAxis("left").setTicks(ticks)
            plot.setYRange(-0.5, rows - 0.5, padding=0)
        time_ticks = [[(t, str(t)) for t in range(1, steps + 1)]] if steps <= MAX_TICKS else None
        for plot in self.time_plots:  # one time axis: t = 1..T on every plot (not linked:
            plot.setXRange(0.5, steps + 0.5, padding=0)  # pyqtgraph aligns linked views by
            plot.getAxis("bottom").setTicks(time_ticks)  # screen position, across columns)
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
        self.threshold.show()  # first: a hidden line's label keeps its old value (0.00)
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

    def clear(self) -> None:
        """Empty every plot: nothing of a previous model stays on screen."""
        for item in self.heat_items:
            item.clear()
        for item in self.raster_items:
            item.setData([], [])  # clear() empties the data but leaves the old points painted
        for plot, items in ((self.traces, self._trace_items), (self.histogram, self._hist_items)):
            for item in items:
                plot.removeItem(item)
            items.clear()
        self.threshold.hide()

    def spike_points(self, which: int) -> int:
        """How many spikes the clean (0) or triggered (1) raster shows."""
        return len(self.raster_items[which].data)


class ScorePlots(QWidget):
    """The sample score's ROC curve and histograms, and the per-class maximum margins.

    A widget holding its GraphicsLayoutWidget, as DetectionPlots (`graphics` is what File >
    Export draws), not a GraphicsLayoutWidget itself: that class puts its layout's `clear`
    on every instance, which shadowed `ScorePlots.clear` and emptied the whole layout
    whenever a detection started, so the Scores tab stayed blank."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        g = self.graphics
        self.roc = g.addPlot(0, 0, title="ROC: triggered vs clean test inputs")
        self.roc.setLabel("bottom", "false positive rate")
        self.roc.setLabel("left", "true positive rate")
        self.roc.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.roc.plot([0, 1], [0, 1], pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine))
        self.roc_curve = self.roc.plot([], [], pen=pg.mkPen(TRIGGERED_COLOUR, width=2))
        self.histogram = g.addPlot(0, 1, title="sample score")
        self.histogram.setLabel("bottom", "score (higher = more suspicious)")
        self.histogram.setLabel("left", "inputs")
        self.histogram.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=(255, 255, 255, 210))
        self.hist_items = []
        for name, colour in (("clean", CLEAN_COLOUR), ("triggered", TRIGGERED_COLOUR)):
            brush = pg.mkColor(colour)
            brush.setAlpha(70)
            pen = pg.mkPen(colour, width=2)
            item = self.histogram.plot(
                [0, 1], [0], stepMode="center", fillLevel=0, brush=brush, pen=pen, name=name
            )
            self.hist_items.append(item)
        self.margins = g.addPlot(1, 0, 1, 2, title="reference-free: largest margin per class")
        self.margins.setLabel("bottom", "class")
        self.margins.setLabel("left", "max margin")
        self.margins.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=(255, 255, 255, 210))
        self.margin_items: list[pg.GraphicsObject] = []

    def clear(self) -> None:
        """No scores: the ROC curve, the histograms and the margins emptied."""
        self.roc_curve.setData([], [])
        self.roc.setTitle("ROC: triggered vs clean test inputs")
        for item in self.hist_items:
            item.setData([0, 1], [0])
        self.histogram.setTitle("sample score")
        self.show_margins({})

    def show_sample_level(self, summary: dict) -> None:
        self.roc_curve.setData(summary["roc_fpr"], summary["roc_tpr"])
        self.roc.setTitle(f"ROC: triggered vs clean test inputs (AUROC {summary['auroc']:.3f})")
        edges = np.asarray(summary["histogram_edges"])
        for item, key in zip(self.hist_items, ("histogram_clean", "histogram_triggered"),
                             strict=True):  # fmt: skip
            item.setData(edges, np.asarray(summary[key]))
        self.histogram.setTitle(f"{summary['method']} score on {summary['layer_label']}")

    def show_margins(self, verdicts: dict[str, dict[str, dict]]) -> None:
        """Bars per class of each test on the suspect model; the suspect class outlined."""
        for item in self.margin_items:
            self.margins.removeItem(item)
        self.margin_items = []
        if self.margins.legend is not None:
            self.margins.legend.clear()
        tests = [(test, roles["suspect"]) for test, roles in verdicts.items() if "suspect" in roles]
        width = 0.8 / max(1, len(tests))
        for i, (test, verdict) in enumerate(tests):
            margins = np.asarray(verdict["margins"])
            x = np.arange(len(margins)) + (i - (len(tests) - 1) / 2) * width
            pens = [pg.mkPen("k", width=2) if c == verdict["suspect_class"] else None
                    for c in range(len(margins))]  # fmt: skip
            bar = pg.BarGraphItem(
                x=x, height=margins, width=width * 0.95, brush=MARGIN_COLOURS[i % 2], pens=pens,
                name=f"{test}: p = {verdict['p_value']:.2g}",
            )  # fmt: skip
            self.margins.addItem(bar)
            self.margin_items.append(bar)
        classes = len(tests[0][1]["margins"]) if tests else 0
        self.margins.getAxis("bottom").setTicks(
            [[(c, str(c)) for c in range(classes)]] if tests else None
        )
        self.margins.enableAutoRange()  # no axes left at an earlier model's margins
