"""The Elimination tab: remove a backdoor from a checkpoint with one of the core's methods
(`run_elimination`, the window's long job), with ACC/ASR before and after as bars.

The options are generated from `EliminationSettings` (as `snnstudio eliminate`'s are), the
method list is the registry's with the default first, and each method shows only the
options it reads."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.defense.settings import EliminationSettings, method_spec
from snnstudio.gui.detection_view import SIDE_PANEL_WIDTH, PathRow
from snnstudio.gui.screen_fit import scrolled
from snnstudio.gui.settings_form import SettingsForm

BEFORE_COLOUR, AFTER_COLOUR = "#9e9e9e", "#1f77b4"
LAST_CONV = "last conv spiking layer"


class EliminationPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.checkpoint = PathRow("the backdoored model (.pt)")
        self.use_last_run = QPushButton("Use the last run")
        self.start_button = QPushButton("Eliminate")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.bars_plot = self.graphics.addPlot(title="ACC and ASR before and after")
        self.bars_plot.setYRange(0, 1.08, padding=0)
        self.bars_plot.setXRange(-0.7, 4.7, padding=0)  # both groups' ticks, even before a run
        self.bars_plot.getAxis("bottom").setTicks([[(0.5, "ACC"), (3.5, "ASR")]])
        self.bars_plot.addLegend(offset=(-10, 10), brush=(255, 255, 255, 210))
        self.bars: list[pg.GraphicsObject] = []
        self._build_layout()
        self.method.currentTextChanged.connect(self._update_visible)
        self._update_visible()

    def _build_layout(self) -> None:
        box = QGroupBox("Elimination")
        form = QFormLayout(box)
        form.addRow("checkpoint", self.checkpoint)
        form.addRow(self.use_last_run)
        self.options = SettingsForm(EliminationSettings, form, skip=("layer",))
        self.fields = self.options.fields
        self.method: QComboBox = self.fields["method"]  # type: ignore[assignment]
        form.insertRow(form.getWidgetPosition(self.method)[0] + 1, self.title)
        self.layer = QComboBox()
        self.layer.addItem(LAST_CONV, "")
        form.addRow("layer to prune", self.layer)
        self.form = form
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.status)
        box.setMinimumWidth(SIDE_PANEL_WIDTH)
        panel = QWidget()
        side = QVBoxLayout(panel)
        side.addWidget(box)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(scrolled(panel, horizontal=False), 0)  # fits a 768-pixel screen
        layout.addWidget(self.graphics, 1)

    def _update_visible(self) -> None:
        spec = method_spec(self.method.currentText())
        used = spec.used_settings()
        self.options.show_only(used)
        self.form.setRowVisible(self.layer, "layer" in used)
        self.title.setText(spec.title)
        self.status.setText(
            "method defaults: " + ", ".join(f"{k} {v}" for k, v in spec.defaults.items())
        )

    def set_layers(self, layers: dict[str, str]) -> None:
        """The spiking layers to offer for pruning: module name -> readable label."""
        self.layer.clear()
        self.layer.addItem(LAST_CONV, "")
        for name, label in layers.items():
            self.layer.addItem(label, name)

    def settings(self) -> EliminationSettings:
        """The options as the core's settings (None = the method's default)."""
        return self.options.settings(layer=str(self.layer.currentData() or ""))

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def clear_result(self) -> None:
        """Remove the bars of a previous elimination."""
        for item in self.bars:
            self.bars_plot.removeItem(item)
        self.bars = []
        if self.bars_plot.legend is not None:
            self.bars_plot.legend.clear()

    def show_result(self, metrics: dict) -> None:
        """Bars of acc/asr before (grey) and after (blue), with their values written above."""
        self.clear_result()
        for offset, when, colour in ((0, "before", BEFORE_COLOUR), (1, "after", AFTER_COLOUR)):
            keys = [f"acc_{when}" if when == "before" else "acc",
                    f"asr_{when}" if when == "before" else "asr"]  # fmt: skip
            values = [float(metrics.get(k) or 0.0) for k in keys]
            xs = [offset, 3 + offset]
            bar = pg.BarGraphItem(x=xs, height=values, width=0.9, brush=colour, name=when)
            self.bars_plot.addItem(bar)
            self.bars.append(bar)
            for x, value in zip(xs, values, strict=True):
                label = pg.TextItem(f"{value:.3f}", color="k", anchor=(0.5, 1.0))
                label.setPos(x, value + 0.005)
                self.bars_plot.addItem(label)
                self.bars.append(label)
