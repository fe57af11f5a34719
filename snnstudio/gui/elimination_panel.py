"""The Elimination tab: fine-tuning or fine-pruning a backdoored checkpoint on clean data (the
core's `run_elimination`, run by the window's worker), with ACC/ASR before and after as bars."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.defense.elimination import METHOD_DEFAULTS, METHODS, EliminationSettings
from snnstudio.gui.detection_view import SIDE_PANEL_WIDTH, PathRow
from snnstudio.gui.form_fields import combo, float_spin, int_spin

DEFAULT = "method default"
BEFORE_COLOUR, AFTER_COLOUR = "#9e9e9e", "#1f77b4"


class EliminationPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.checkpoint = PathRow("the backdoored model (.pt)")
        self.use_last_run = QPushButton("Use the last run")
        self.method = combo(METHODS)
        self.clean_fraction = float_spin(0.001, 1.0, 0.05, 3)
        self.clean_fraction.setValue(EliminationSettings.clean_fraction)
        self.epochs = int_spin(-1, 100_000)
        self.settle_epochs = int_spin(-1, 100_000)
        self.lr = float_spin(0.0, 10.0, 1e-3, 5)
        self.optimizer = combo([DEFAULT, "adam", "sgd"])
        for spin in (self.epochs, self.settle_epochs, self.lr):
            spin.setSpecialValueText(DEFAULT)
            spin.setValue(spin.minimum())
        self.layer = combo([""])
        self.layer.setItemText(0, "last conv spiking layer")
        self.prune_max = float_spin(0.0, 1.0, 0.05, 2)
        self.prune_max.setValue(EliminationSettings.prune_max_fraction)
        self.prune_tolerance = float_spin(0.0, 1.0, 0.005, 3)
        self.prune_tolerance.setValue(EliminationSettings.prune_acc_tolerance)
        self.start_button = QPushButton("Eliminate")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
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
        self.method.currentTextChanged.connect(self._update_enabled)
        self._update_enabled()

    def _build_layout(self) -> None:
        box = QGroupBox("Elimination")
        form = QFormLayout(box)
        form.addRow("checkpoint", self.checkpoint)
        form.addRow(self.use_last_run)
        form.addRow("method", self.method)
        form.addRow("clean data share", self.clean_fraction)
        form.addRow("epochs", self.epochs)
        form.addRow("learning rate", self.lr)
        form.addRow("optimizer", self.optimizer)
        form.addRow("settle epochs (lr / 10)", self.settle_epochs)
        form.addRow("layer to prune", self.layer)
        form.addRow("prune at most", self.prune_max)
        form.addRow("clean acc drop allowed", self.prune_tolerance)
        self.form = form
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.status)
        box.setMinimumWidth(SIDE_PANEL_WIDTH)
        side = QVBoxLayout()
        side.addWidget(box)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(side, 0)
        layout.addWidget(self.graphics, 1)

    def _update_enabled(self) -> None:
        method = self.method.currentText()
        for widget in (self.layer, self.prune_max, self.prune_tolerance):
            self.form.setRowVisible(widget, method == "fineprune")
        defaults = METHOD_DEFAULTS.get(method, {})
        self.status.setText(
            "method defaults: " + ", ".join(f"{k} {v}" for k, v in defaults.items())
        )

    def set_layers(self, layers: list[str]) -> None:
        self.layer.clear()
        self.layer.addItem("last conv spiking layer", "")
        for name in layers:
            self.layer.addItem(name, name)

    def settings(self) -> EliminationSettings:
        """The options as the core's settings (None = the method's default)."""

        def optional(spin, empty):  # type: ignore[no-untyped-def]
            return None if spin.value() == empty else spin.value()

        optimizer = self.optimizer.currentText()
        return EliminationSettings(
            method=self.method.currentText(), clean_fraction=self.clean_fraction.value(),
            epochs=optional(self.epochs, -1), lr=optional(self.lr, 0.0),
            optimizer=None if optimizer == DEFAULT else optimizer,
            settle_epochs=optional(self.settle_epochs, -1),
            layer=str(self.layer.currentData() or ""), prune_max_fraction=self.prune_max.value(),
            prune_acc_tolerance=self.prune_tolerance.value(),
        )  # fmt: skip

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def show_result(self, metrics: dict) -> None:
        """Bars of acc/asr before (grey) and after (blue), with their values written above."""
        for item in self.bars:
            self.bars_plot.removeItem(item)
        self.bars = []
        if self.bars_plot.legend is not None:
            self.bars_plot.legend.clear()
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
