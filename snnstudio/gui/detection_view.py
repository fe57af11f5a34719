"""The Detection tab: choose checkpoints, layer and inputs; see the probe's recordings; run
the core's detection tests and read their scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.defense.detection import DetectionSettings
from snnstudio.core.defense.max_margin import MaxMarginSettings
from snnstudio.core.defense.sample_scores import FEATURE_KINDS, SCORERS
from snnstudio.gui.detection_plots import DetectionPlots
from snnstudio.gui.form_fields import combo, float_spin, int_spin
from snnstudio.gui.probe_snapshot import ProbeSnapshot, most_changed_neurons

CHECKPOINT_FILTER = "Checkpoints (*.pt)"
SIDE_PANEL_WIDTH = 440
SCORE_NAME_WIDTH = 280


def flatten(summary: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts -> (dotted key, shown value) rows."""
    if isinstance(summary, dict):
        rows: list[tuple[str, str]] = []
        for key, value in summary.items():
            rows += flatten(value, f"{prefix}{key}.")
        return rows
    if isinstance(summary, float):
        text = f"{summary:.4g}"
    elif isinstance(summary, list) and len(summary) > 12:
        text = f"[{len(summary)} values]"
    else:
        text = str(summary)
    return [(prefix.rstrip("."), text)]


class PathRow(QWidget):
    """A path field with a Browse button."""

    def __init__(self, placeholder: str) -> None:
        super().__init__()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.browse = QPushButton("Browse…")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.browse)
        self.browse.clicked.connect(self._choose)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Checkpoint", self.edit.text(), CHECKPOINT_FILTER
        )
        if path:
            self.edit.setText(path)

    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text) if text else None


class DetectionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.suspect = PathRow("the suspect model (.pt)")
        self.reference = PathRow("optional: a trusted clean model of the same kind")
        self.use_last_run = QPushButton("Use the last run")
        self.load_button = QPushButton("Load")
        self.layer = combo([])
        self.count = int_spin(1, 2000)
        self.count.setValue(32)
        self.sample = int_spin(0, 1999)
        self.neurons = QLineEdit()
        self.neurons.setPlaceholderText("neuron indices, e.g. 3, 17 (empty: most changed)")
        self.record_button = QPushButton("Record")
        self.method = combo(SCORERS)
        self.method.setCurrentText(DetectionSettings.method)
        self.feature = combo(FEATURE_KINDS)
        self.feature.setCurrentText(DetectionSettings.feature)
        self.clean_fraction = float_spin(0.001, 1.0, 0.05, 3)
        self.clean_fraction.setValue(DetectionSettings.clean_fraction)
        self.reference_free = QCheckBox("max-margin test (no reference needed)")
        self.reference_free.setChecked(True)
        self.margin_steps = int_spin(1, 10_000)
        self.margin_steps.setValue(MaxMarginSettings.steps)
        self.detect_button = QPushButton("Run detection")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.status = QLabel(
            "load a checkpoint: a run's model.pt, with its clean-twin.pt as reference"
        )
        self.status.setWordWrap(True)
        self.plots = DetectionPlots()
        self.scores = QTableWidget(0, 2)
        self.scores.setHorizontalHeaderLabels(["score", "value"])
        header = self.scores.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, SCORE_NAME_WIDTH)
        header.setStretchLastSection(True)
        self.scores.setWordWrap(False)
        self.scores.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long names keep both ends
        self.snapshot: ProbeSnapshot | None = None
        self._build_layout()
        self.sample.valueChanged.connect(self.redraw)
        self.neurons.editingFinished.connect(self.redraw)

    def _build_layout(self) -> None:
        models = QGroupBox("Models")
        form = QFormLayout(models)
        form.addRow("suspect", self.suspect)
        form.addRow("reference", self.reference)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_last_run)
        buttons.addWidget(self.load_button)
        form.addRow(buttons)
        probe = QGroupBox("Probe")
        probe_form = QFormLayout(probe)
        probe_form.addRow("spiking layer", self.layer)
        probe_form.addRow("inputs (clean + triggered)", self.count)
        probe_form.addRow("input shown", self.sample)
        probe_form.addRow("neuron traces", self.neurons)
        probe_form.addRow(self.record_button)
        tests = QGroupBox("Detection tests")
        tests_form = QFormLayout(tests)
        tests_form.addRow("sample score", self.method)
        tests_form.addRow("feature", self.feature)
        tests_form.addRow("trusted clean share", self.clean_fraction)
        tests_form.addRow(self.reference_free)
        tests_form.addRow("max-margin steps", self.margin_steps)
        run = QHBoxLayout()
        run.addWidget(self.detect_button)
        run.addWidget(self.stop_button)
        tests_form.addRow(run)
        side = QVBoxLayout()
        for widget in (models, probe, tests, self.status):
            side.addWidget(widget)
        side.addWidget(self.scores, 1)
        panel = QWidget()
        panel.setLayout(side)
        panel.setMinimumWidth(SIDE_PANEL_WIDTH)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(panel)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([SIDE_PANEL_WIDTH, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # ------------------------------------------------------------------ data in

    def set_layers(self, layers: list[str]) -> None:
        current = self.layer.currentText()
        self.layer.clear()
        self.layer.addItems(layers)
        self.layer.setCurrentText(current if current in layers else layers[-1])

    def set_snapshot(self, snapshot: ProbeSnapshot) -> None:
        self.snapshot = snapshot
        self.sample.setMaximum(snapshot.clean.voltage.shape[1] - 1)
        self.redraw()

    def chosen_neurons(self) -> list[int]:
        assert self.snapshot is not None
        total = self.snapshot.clean.num_neurons
        try:
            chosen = [int(p) for p in self.neurons.text().replace(",", " ").split()]
        except ValueError:
            chosen = []
        chosen = [n for n in chosen if 0 <= n < total]
        return chosen or most_changed_neurons(self.snapshot, self.sample.value())

    def redraw(self) -> None:
        if self.snapshot is None:
            return
        sample = min(self.sample.value(), self.snapshot.clean.voltage.shape[1] - 1)
        self.plots.show_snapshot(self.snapshot, sample, self.chosen_neurons())
        snap = self.snapshot
        self.status.setText(
            f"{snap.layer}: {snap.clean.num_neurons} neurons, T = {snap.clean.voltage.shape[0]}, "
            f"threshold {snap.threshold:.3g}; input {sample} is class {snap.labels[sample]}, "
            f"target {snap.target}"
        )

    def settings(self) -> DetectionSettings:
        return DetectionSettings(
            layer=self.layer.currentText(), feature=self.feature.currentText(),
            method=self.method.currentText(), clean_fraction=self.clean_fraction.value(),
            reference_free=self.reference_free.isChecked(),
            max_margin=MaxMarginSettings(steps=self.margin_steps.value()),
        )  # fmt: skip

    def clear_scores(self) -> None:
        self.scores.setRowCount(0)

    def add_scores(self, section: str, summary: dict[str, Any]) -> None:
        for key, value in flatten(summary, f"{section}."):
            row = self.scores.rowCount()
            self.scores.insertRow(row)
            name = QTableWidgetItem(key)
            name.setToolTip(key)
            self.scores.setItem(row, 0, name)
            self.scores.setItem(row, 1, QTableWidgetItem(value))

    def set_running(self, running: bool) -> None:
        self.detect_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
