"""The Detection tab: choose checkpoints, layer and inputs; see the probe's recordings; run
the core's detection tests and read their verdict.

The verdict sits on top (which tests flag which class at which threshold, the other numbers
in words: gui/detection_verdict.py), with the reference-free stage's progress and the next
step (take the checkpoint to Elimination); below it, the
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
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.defense.settings import DetectionSettings
from snnstudio.gui.detection_plots import DetectionPlots, ScorePlots
from snnstudio.gui.detection_verdict import TOOLTIP, row_tooltip, score_rows, verdict_html
from snnstudio.gui.form_fields import int_spin
from snnstudio.gui.probe_snapshot import ProbeSnapshot, top_changed_neurons
from snnstudio.gui.screen_fit import scrolled
from snnstudio.gui.settings_form import SettingsForm

CHECKPOINT_FILTER = "Checkpoints (*.pt)"
IDLE_VERDICT = "load a checkpoint and run the detection tests"
SIDE_PANEL_WIDTH = 440
SCORE_NAME_WIDTH = 280
TOP_K_DEFAULT = 32
TRACES = 3
# The test options shown at first; "all options" shows every field of DetectionSettings.
MAIN_OPTIONS = {"feature", "clean_fraction", "training_scores", "reference_free",
                "max_margin.steps"}  # fmt: skip


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
        self.verdict = QLabel(IDLE_VERDICT)
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.verdict.setToolTip(TOOLTIP)
        self.progress = QProgressBar()  # the reference-free searches: minutes on a CPU
        self.progress.hide()
        self.next_step = QPushButton("Eliminate the backdoor from this model…")
        self.next_step.setToolTip("open this checkpoint in the Elimination tab")
        self.next_step.hide()
        self.result_for: tuple[Path | None, Path | None] | None = None  # whose verdict
        self._searches = (0, 1)  # (reference-free searches started, searches in all)
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
        for row in (self.suspect, self.reference):  # another model: the verdict is not its
            row.edit.textChanged.connect(self._forget_stale_verdict)

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
        splitter.addWidget(scrolled(panel, horizontal=False))  # fits a 768-pixel screen
        splitter.addWidget(self.views)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([SIDE_PANEL_WIDTH, 900])
        below_verdict = QHBoxLayout()  # each shown only when it has something to say
        below_verdict.addWidget(self.progress, 1)
        below_verdict.addWidget(self.next_step)
        below_verdict.addStretch(0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addLayout(below_verdict)
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

    def clear_scores(self, verdict: str = "") -> None:
        """No results: the table, the plots and the verdict emptied (`verdict` shown)."""
        self.scores.setRowCount(0)
        self.sections = {}
        self.result_for = None
        self.verdict.setText(verdict or IDLE_VERDICT)
        self.score_plots.clear()
        self.next_step.hide()
        self.progress.hide()

    def begin(self, suspect: Path, reference: Path | None, searches: int) -> None:
        """A detection of `suspect` starts, with `searches` reference-free margin searches."""
        self.clear_scores(verdict_html({}))
        self.result_for = (suspect, reference)
        self._searches = (0, max(1, searches))

    def _forget_stale_verdict(self) -> None:
        if self.result_for is not None and self.result_for != self.chosen_paths():
            self.clear_scores()

    def chosen_paths(self) -> tuple[Path | None, Path | None]:
        return self.suspect.path(), self.reference.path()

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
            name.setToolTip(f"{key}\n\n{row_tooltip(section)}")
            self.scores.setItem(row, 0, name)
            self.scores.setItem(row, 1, QTableWidgetItem(value))

    def search_started(self, name: str, steps: int) -> None:
        """A reference-free margin search begins: one part of the progress bar."""
        started, total = self._searches
        self._searches = (started + 1, total)
        self.progress.setRange(0, total * steps)
        self.progress.setValue(started * steps)
        self.progress.setFormat(f"reference-free test {started + 1} of {total} ({name}): %p%")
        self.progress.show()

    def search_step(self, step: int, steps: int) -> None:
        self.progress.setValue((self._searches[0] - 1) * steps + step)

    def finish(self, status: str) -> None:
        """The detection ended ('completed', 'cancelled' or 'failed'): the final verdict and,
        for a completed one, the next step."""
        self.progress.hide()
        self.verdict.setText(verdict_html(self.sections, self.target, ended=status))
        if status != "completed":
            return
        flagged = any(
            v.get("flagged") for roles in self.sections.get("reference-free", {}).values()
            for v in roles.values()
        )  # fmt: skip
        self.next_step.setText(
            "Eliminate the backdoor from this model…" if flagged
            else "Try elimination on this model anyway…"
        )  # fmt: skip
        self.next_step.show()

    def set_running(self, running: bool) -> None:
        self.detect_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for row in (self.suspect, self.reference):  # the results coming are this model's
            row.setEnabled(not running)
