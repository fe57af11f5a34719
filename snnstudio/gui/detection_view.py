"""The Detection tab: choose checkpoints, layer and inputs; see the probe's recordings; run
the core's detection tests and read their verdict.

The verdict sits on top (suspect class, p-value, AUROC, separation); below it, the
recordings (large layers as their top-k neurons) and the scores (ROC curve, histograms,
per-class margins) in two tabs, with a short table of the numbers behind them. The test
options are generated from `DetectionSettings`, as `snnstudio detect`'s are, so the GUI
runs the same tests with the same defaults as the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.defense.settings import TRAINING_SCORERS, DetectionSettings
from snnstudio.gui.detection_plots import DetectionPlots, ScorePlots
from snnstudio.gui.form_fields import int_spin
from snnstudio.gui.probe_snapshot import ProbeSnapshot, top_changed_neurons
from snnstudio.gui.settings_form import SettingsForm

CHECKPOINT_FILTER = "Checkpoints (*.pt)"
SIDE_PANEL_WIDTH = 440
SCORE_NAME_WIDTH = 280
TOP_K_DEFAULT = 32
TRACES = 3
# The test options shown at first; "all options" shows every field of DetectionSettings.
MAIN_OPTIONS = {"feature", "clean_fraction", "training_scores", "reference_free",
                "max_margin.steps"}  # fmt: skip
REFERENCE_FREE_TESTS = (("tmpbd", "TMPBD"), ("max-margin", "MM-BD"))


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


def _num(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def verdict_html(sections: dict[str, Any], target: int | None = None) -> str:
    """The headline of the detection results received so far, as rich text."""
    parts: list[str] = []
    head = "<span style='color:#555'>running the detection tests…</span>"
    verdicts = sections.get("reference-free", {})
    suspect_results = [
        (title, verdicts[test]["suspect"])
        for test, title in REFERENCE_FREE_TESTS
        if "suspect" in verdicts.get(test, {})
    ]
    if suspect_results:
        flagged = [(title, v) for title, v in suspect_results if v["flagged"]]
        if flagged:
            v = flagged[0][1]
            head = (f"<span style='color:#b00020'><b>Backdoor suspected: class "
                    f"{v['suspect_class']}</b></span>")  # fmt: skip
        else:
            head = "<span style='color:#1b7f3b'><b>No backdoor flagged</b></span>"
        parts += [
            f"{title} p = {_num(v['p_value'])} (class {v['suspect_class']})"
            for title, v in suspect_results
        ]
    sample = sections.get("sample-level")
    if sample:
        parts.append(f"test-input AUROC {sample['auroc']:.3f} ({sample['layer_label']})")
    comparison = sections.get("model-comparison")
    if comparison:
        last = comparison["layers"][-1]
        sep = last["separation"]
        parts.append(
            f"separation vs reference on {last.get('label', last['layer'])}: "
            f"spikes {sep['spikes']:.2f}, voltage {sep['voltage']:.2f}"
        )
    training = sections.get("training-set")
    if training:
        parts.append(
            "poisoned training samples found: "
            + ", ".join(
                f"{m} precision {_num(training[m]['precision'], 2)} "
                f"recall {_num(training[m]['recall'], 2)}"
                for m in TRAINING_SCORERS
            )
        )
    if target is not None:
        parts.append(f"the checkpoint's config says target {target}")
    return f"<span style='font-size:15pt'>{head}</span><br>" + " &nbsp;·&nbsp; ".join(parts)


def score_rows(section: str, summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The numbers of one detection result worth a row of the table."""
    if section == "sample-level":
        rows = [(f"AUROC {layer}, {kind}", f"{auroc:.3f}")
                for layer, by_kind in summary["auroc_by_layer_feature"].items()
                for kind, auroc in by_kind.items()]  # fmt: skip
        return rows
    if section == "training-set":
        return [
            (f"training set, {m}: {key}", _num(summary[m][key]))
            for m in TRAINING_SCORERS
            for key in ("precision", "recall", "auroc", "flagged", "poisoned")
        ] + [(f"training set, {m}: flagged classes", str(summary[m]["flagged_classes"]))
             for m in TRAINING_SCORERS]  # fmt: skip
    if section == "model-comparison":
        return [(f"separation, {c.get('label', c['layer'])} ({kind})", f"{value:.3f}")
                for c in summary["layers"] for kind, value in c["separation"].items()]  # fmt: skip
    if section == "reference-free":
        return [(f"{test}, {role}: {key}", _num(v[key]) if key == "p_value" else str(v[key]))
                for test, roles in summary.items() for role, v in roles.items()
                for key in ("flagged", "suspect_class", "p_value")]  # fmt: skip
    return []


class DetectionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.suspect = PathRow("the suspect model (.pt)")
        self.reference = PathRow("optional: a trusted clean model of the same kind")
        self.use_last_run = QPushButton("Use the last run")
        self.load_button = QPushButton("Load")
        self.layer = QComboBox()
        self.count = int_spin(1, 2000)
        self.count.setValue(32)
        self.sample = int_spin(0, 1999)
        self.top_k = int_spin(1, 4096)
        self.top_k.setValue(TOP_K_DEFAULT)
        self.top_k.setToolTip("a larger layer is drawn as its k neurons the trigger changes most")
        self.neurons = QLineEdit()
        self.neurons.setPlaceholderText("neuron indices, e.g. 3, 17 (empty: most changed)")
        self.record_button = QPushButton("Record")
        self.all_options = QCheckBox("all options")
        self.detect_button = QPushButton("Run detection")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.verdict = QLabel("load a checkpoint and run the detection tests")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.status = QLabel(
            "load a checkpoint: a run's model.pt, with its clean-twin.pt as reference"
        )
        self.status.setWordWrap(True)
        self.plots = DetectionPlots()
        self.score_plots = ScorePlots()
        self.views = QTabWidget()
        self.views.addTab(self.plots, "Recordings")
        self.views.addTab(self.score_plots, "Scores")
        self.scores = QTableWidget(0, 2)
        self.scores.setHorizontalHeaderLabels(["score", "value"])
        header = self.scores.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, SCORE_NAME_WIDTH)
        header.setStretchLastSection(True)
        self.scores.setWordWrap(False)
        self.scores.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long names keep both ends
        self.snapshot: ProbeSnapshot | None = None
        self.labels: dict[str, str] = {}
        self.sections: dict[str, Any] = {}
        self.target: int | None = None
        self._build_layout()
        self.sample.valueChanged.connect(self.redraw)
        self.top_k.valueChanged.connect(self.redraw)
        self.neurons.editingFinished.connect(self.redraw)
        self.all_options.toggled.connect(self._show_options)
        self._show_options(False)

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
        probe_form.addRow("neurons shown (top k)", self.top_k)
        probe_form.addRow("neuron traces", self.neurons)
        probe_form.addRow(self.record_button)
        tests = QGroupBox("Detection tests")
        tests_form = QFormLayout(tests)
        self.options = SettingsForm(DetectionSettings, tests_form, skip=("layer",))
        tests_form.addRow(self.all_options)
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
        splitter.addWidget(self.views)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([SIDE_PANEL_WIDTH, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(splitter, 1)

    def _show_options(self, everything: bool) -> None:
        self.options.show_only(set(self.options.fields) if everything else MAIN_OPTIONS)

    # ------------------------------------------------------------------ data in

    def set_layers(self, labels: dict[str, str], target: int | None = None) -> None:
        """The spiking layers (module name -> readable label), the last one chosen."""
        self.labels = {name: label for name, label in labels.items() if name != "output"}
        self.target = target
        current = self.layer.currentData()
        self.layer.clear()
        for name, label in self.labels.items():
            self.layer.addItem(label, name)
        names = list(self.labels)
        self.layer.setCurrentIndex(names.index(current) if current in names else len(names) - 1)

    def layer_name(self) -> str:
        return str(self.layer.currentData() or "")

    def clear_snapshot(self, status: str) -> None:
        """Forget the recording, the layers and the plots (a new model is coming, or none)."""
        self.snapshot = None
        self.labels = {}
        self.layer.clear()
        self.plots.clear()
        self.status.setText(status)

    def set_snapshot(self, snapshot: ProbeSnapshot) -> None:
        self.snapshot = snapshot
        self.sample.setMaximum(snapshot.clean.voltage.shape[1] - 1)
        self.redraw()

    def shown_neurons(self) -> Any:
        assert self.snapshot is not None
        return top_changed_neurons(self.snapshot, self.top_k.value())

    def chosen_neurons(self, shown: Any) -> list[int]:
        assert self.snapshot is not None
        total = self.snapshot.clean.num_neurons
        try:
            chosen = [int(p) for p in self.neurons.text().replace(",", " ").split()]
        except ValueError:
            chosen = []
        chosen = [n for n in chosen if 0 <= n < total]
        return chosen or [int(n) for n in shown[:TRACES]]

    def redraw(self) -> None:
        if self.snapshot is None:
            return
        snap = self.snapshot
        sample = min(self.sample.value(), snap.clean.voltage.shape[1] - 1)
        shown = self.shown_neurons()
        self.plots.show_snapshot(snap, sample, self.chosen_neurons(shown), shown)
        total = snap.clean.num_neurons
        rows = (f"all {total} neurons" if len(shown) == total
                else f"the {len(shown)} of {total} neurons the trigger changes most")  # fmt: skip
        self.status.setText(
            f"{self.labels.get(snap.layer, snap.layer)}: {rows}, T = "
            f"{snap.clean.voltage.shape[0]}, threshold {snap.threshold:.3g}; input {sample} is "
            f"class {snap.labels[sample]}, target {snap.target}"
        )

    def settings(self) -> DetectionSettings:
        return self.options.settings(layer=self.layer_name())

    def clear_scores(self) -> None:
        self.scores.setRowCount(0)
        self.sections = {}
        self.verdict.setText(verdict_html({}))
        self.score_plots.clear()

    def show_result(self, section: str, summary: dict[str, Any]) -> None:
        """One detection result: the verdict, the plots and the table rows it feeds."""
        self.sections[section] = summary
        self.verdict.setText(verdict_html(self.sections, self.target))
        if section == "sample-level":
            self.score_plots.show_sample_level(summary)
            self.views.setCurrentWidget(self.score_plots)
        elif section == "reference-free":
            self.score_plots.show_margins(summary)
        for key, value in score_rows(section, summary):
            row = self.scores.rowCount()
            self.scores.insertRow(row)
            name = QTableWidgetItem(key)
            name.setToolTip(key)
            self.scores.setItem(row, 0, name)
            self.scores.setItem(row, 1, QTableWidgetItem(value))

    def set_running(self, running: bool) -> None:
        self.detect_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
