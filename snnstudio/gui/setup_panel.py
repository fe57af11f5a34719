"""The experiment form: dataset, poisoning, learning rule, model, simulation and training.

Every choice comes from the core (registries and config.py's tuples); the form edits a copy
of an ExperimentConfig and keeps any field it does not show, so a TOML file opened and saved
again loses nothing. The window decides what stops a run (`start_checks`); `show_problems`
lists them under the form and marks each field they are about.
"""

from __future__ import annotations

import copy

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core import config as config_io
from snnstudio.core.data.event_frames import FRAMES_BY
from snnstudio.core.data.registry import dataset_names, is_event_dataset, needs_root
from snnstudio.core.models.registry import arch_names
from snnstudio.core.rules.registry import converting_rule_names, rule_names
from snnstudio.gui.form_fields import (
    BoundField,
    bind,
    changed_signal,
    combo,
    float_spin,
    get_dotted,
    int_spin,
    set_dotted,
)
from snnstudio.gui.start_checks import Problem

MAX_SAMPLES = 10_000_000
PROBLEM_STYLE = "border: 2px solid #b00020;"
CONVERTING_RULES = set(converting_rule_names())
# Fields that apply to some learning rules only (shown only for those). A converted SNN is
# always IF with soft reset and balanced thresholds, and LR_H trains with the STDB surrogate,
# so the neuron options are LR_B's.
BPTT_ONLY = {"bptt"}
RULE_SPECIFIC: dict[str, set[str]] = {
    "model.neuron": BPTT_ONLY, "model.tau": BPTT_ONLY, "model.v_threshold": BPTT_ONLY,
    "model.reset": BPTT_ONLY, "model.surrogate": BPTT_ONLY,
    "rule.norm": CONVERTING_RULES, "rule.scale": CONVERTING_RULES,
    "rule.spike_scaling": CONVERTING_RULES,
    "rule.percentile": CONVERTING_RULES, "rule.v_init": CONVERTING_RULES,
    "model.pool": CONVERTING_RULES,
    "rule.reference": {"conversion"},
    "rule.reference_samples": CONVERTING_RULES, "rule.combo": {"hybrid"},
    "rule.ann_epochs": CONVERTING_RULES, "rule.ann_lr": CONVERTING_RULES,
    "rule.ann_optimizer": CONVERTING_RULES, "rule.stdb_alpha": {"hybrid"},
    "rule.stdb_lr": {"hybrid"},
    "rule.stdb_beta": {"hybrid"}, "sim.eval_timesteps": CONVERTING_RULES,
}  # fmt: skip
EVENT_FRAMING_KEYS = {"data.frames_by", "data.frame_side", "sim.timesteps"}  # reframe events


def paper_default(spin: QDoubleSpinBox) -> QDoubleSpinBox:
    """A spin box whose 0 reads "paper's" (the config's 0 = the paper's setting)."""
    spin.setSpecialValueText("paper's")
    return spin


def device_choices() -> list[str]:
    """'cuda' is offered only when torch sees a GPU."""
    return ["auto", "cpu", "cuda"] if torch.cuda.is_available() else ["auto", "cpu"]


class SetupPanel(QWidget):
    """Edits an ExperimentConfig. `changed` fires on every edit; `dataset_changed` when the
    dataset name or folder changes (the window then checks it with the core's loader)."""

    changed = Signal()
    dataset_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = config_io.ExperimentConfig()
        self._fields: list[BoundField] = []
        self._rows: dict[str, tuple[QFormLayout, QWidget]] = {}
        self._help: dict[str, str] = {}  # each field's own tooltip, kept under its problems
        self._loading = False
        self.name = QLineEdit()
        self.dataset = combo(dataset_names())
        self.root = QLineEdit()
        self.root.setPlaceholderText("folder holding the dataset's files")
        self.browse = QPushButton("Browse…")
        self.dataset_status = QLabel()
        self.dataset_status.setWordWrap(True)
        self.target = combo([])
        self.rule = combo(rule_names())
        self.neuron = combo(config_io.NEURONS)
        self.tau = float_spin(1.01, 1000.0, 0.5, 2)
        self.clean_twin = QCheckBox("also train a clean twin (PR = 0) for the deltas")
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #b00020;")

        root_row = QHBoxLayout()
        root_row.addWidget(self.root, 1)
        root_row.addWidget(self.browse)
        data = self._group("Dataset", [
            ("experiment name", "name", self.name),
            ("dataset", "data.name", self.dataset),
            ("folder", "data.root", self.root, root_row),
            ("train samples (0 = all)", "data.train_limit", int_spin(0, MAX_SAMPLES, 100)),
            ("test samples (0 = all)", "data.test_limit", int_spin(0, MAX_SAMPLES, 100)),
        ])  # fmt: skip
        self.event_rows: list[QWidget] = [combo(FRAMES_BY), int_spin(0, 4096)]
        self.event_rows[1].setSpecialValueText("sensor size")
        for label, key, widget in (("event frames split by", "data.frames_by", self.event_rows[0]),
                                   ("frame side (downsample)", "data.frame_side",
                                    self.event_rows[1])):  # fmt: skip
            self._add_row(data.layout(), label, key, widget)
        data.layout().addRow(self.dataset_status)
        poison = self._group("Poisoning", [
            ("poisoning rate (PR)", "poison.rate", float_spin(0.0, 1.0, 0.01, 3)),
            ("target class", "poison.target", self.target),
        ])  # fmt: skip
        model = self._group("Learning rule and model", [
            ("learning rule", "rule.name", self.rule),
            ("architecture", "model.arch", combo(arch_names())),
            ("neuron", "model.neuron", self.neuron),
            ("LIF tau", "model.tau", self.tau),
            ("threshold", "model.v_threshold", float_spin(0.01, 100.0, 0.1, 3)),
            ("reset", "model.reset", combo(config_io.RESETS)),
            ("surrogate", "model.surrogate", combo(config_io.SURROGATES)),
        ])  # fmt: skip
        conversion = self._group("Conversion and hybrid (LR_C, LR_H)", [
            ("threshold balancing", "rule.norm", combo(config_io.CONVERSION_NORMS)),
            ("threshold scale", "rule.scale", float_spin(0.001, 1.0, 0.05, 3)),
            ("Spike-Norm scaling", "rule.spike_scaling", combo(config_io.SPIKE_SCALINGS)),
            ("percentile (robust)", "rule.percentile", float_spin(0.001, 100.0, 0.1, 3)),
            ("initial voltage (x threshold)", "rule.v_init", float_spin(0.0, 0.99, 0.05, 2)),
            ("pooling (converted net)", "model.pool", combo(config_io.POOLS)),
            ("calibration reference", "rule.reference", combo(config_io.REFERENCES)),
            ("reference samples (0 = all)", "rule.reference_samples", int_spin(0, MAX_SAMPLES)),
            ("combination (Table 8)", "rule.combo", combo(config_io.HYBRID_COMBOS)),
            ("ANN epochs (0 = epochs)", "rule.ann_epochs", int_spin(0, 100_000)),
            ("ANN learning rate", "rule.ann_lr", paper_default(float_spin(0.0, 10.0, 1e-3, 6))),
            ("ANN optimizer", "rule.ann_optimizer", combo(config_io.ANN_OPTIMIZERS)),
            ("STDB learning rate", "rule.stdb_lr", paper_default(float_spin(0.0, 10.0, 1e-4, 6))),
            ("STDB alpha", "rule.stdb_alpha", float_spin(1e-4, 100.0, 0.05, 4)),
            ("STDB beta", "rule.stdb_beta", float_spin(0.0, 100.0, 0.005, 4)),
            ("ACC/ASR curve up to T (0 = T)", "sim.eval_timesteps", int_spin(0, 100_000)),
        ])  # fmt: skip
        self.conversion_box = conversion
        training = self._group("Simulation and training", [
            ("timesteps T", "sim.timesteps", int_spin(1, 10_000)),
            ("encoder", "sim.encoder", combo(config_io.ENCODERS)),
            ("epochs", "train.epochs", int_spin(1, 100_000)),
            ("batch size", "train.batch_size", int_spin(1, 65_536)),
            ("learning rate", "train.lr", float_spin(1e-6, 10.0, 1e-4, 6)),
            ("seed", "train.seed", int_spin(0, 2**31 - 1)),
            ("device", "train.device", combo(device_choices())),
            ("step mode", "train.step_mode", combo(config_io.STEP_MODES)),
            ("poisoned-loss weight λ", "train.poison_weight", float_spin(0.0, 100.0, 0.1, 3)),
            ("clean-loss weight μ", "train.clean_weight", float_spin(0.0, 100.0, 0.1, 3)),
            ("Eq. 10 weighting", "train.loss_weighting", self._weighting_box()),
            ("", "train.clean_twin", self.clean_twin),
        ])  # fmt: skip

        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(data)
        left.addWidget(poison)
        left.addWidget(training)
        left.addStretch(1)
        right.addWidget(model)
        right.addWidget(conversion)
        right.addStretch(1)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.problems)

        self.browse.clicked.connect(self.choose_folder)
        self.dataset.currentTextChanged.connect(self._on_dataset_edited)
        self.root.editingFinished.connect(self._on_dataset_edited)
        self.neuron.currentTextChanged.connect(self._update_enabled)
        self.rule.currentTextChanged.connect(self._update_enabled)
        self._widget("rule.norm").currentTextChanged.connect(self._update_enabled)
        self.set_classes([str(i) for i in range(10)])
        self.set_config(config_io.ExperimentConfig())

    @staticmethod
    def _weighting_box() -> QComboBox:
        box = combo(config_io.LOSS_WEIGHTINGS)
        box.setToolTip(
            "per_sample: λ or μ per sample, the mean over the batch (λ = μ: plain training on "
            "the poisoned set)\nper_set: each term the mean over its own samples, so the "
            "poisoned samples carry λ of the loss at any PR"
        )
        return box

    def _group(self, title: str, rows: list[tuple]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        for label, key, widget, *shown in rows:
            self._add_row(form, label, key, widget, shown[0] if shown else None)
        return box

    def _add_row(
        self, form: QFormLayout, label: str, key: str, widget: QWidget, shown: object = None
    ) -> None:
        form.addRow(label, shown if shown is not None else widget)
        field = bind(key, widget)
        if key == "poison.target":
            field.read = lambda w=widget: int(w.currentData() or 0)
            field.write = self._select_target
        self._fields.append(field)
        self._rows[key] = (form, widget)
        self._help[key] = widget.toolTip()
        changed_signal(widget).connect(self._on_edited)
        if key in EVENT_FRAMING_KEYS:
            changed_signal(widget).connect(self._on_framing_edited)

    def show_field(self, key: str, visible: bool) -> None:
        """Show a field's row only where it applies."""
        form, widget = self._rows[key]
        form.setRowVisible(widget, visible)

    # ------------------------------------------------------------------ config in/out

    def config(self) -> config_io.ExperimentConfig:
        """A new config: the one last set, with every field of the form applied."""
        cfg = copy.deepcopy(self._base)
        for field in self._fields:
            set_dotted(cfg, field.key, field.read())
        return cfg

    def set_config(self, cfg: config_io.ExperimentConfig) -> None:
        self._base = copy.deepcopy(cfg)
        self._loading = True
        try:
            for field in self._fields:
                field.write(get_dotted(cfg, field.key))
        finally:
            self._loading = False
        self._update_enabled()
        self._on_edited()
        self.dataset_changed.emit()

    def show_problems(self, problems: list[Problem]) -> None:
        """List the problems of this form under it and mark each field they are about."""
        by_key: dict[str, list[str]] = {}
        for problem in problems:
            by_key.setdefault(problem.key, []).append(problem.message)
        for key, (_form, widget) in self._rows.items():
            messages = by_key.get(key, [])
            widget.setStyleSheet(PROBLEM_STYLE if messages else "")
            widget.setToolTip("\n".join([*messages, self._help[key]]).strip())
        self.problems.setText("\n".join(p.message for p in problems if not p.on_trigger_tab))

    # ------------------------------------------------------------------ classes, dataset

    def set_classes(self, classes: list[str]) -> None:
        """Offer the dataset's class names as targets, keeping the chosen index."""
        current = int(self.target.currentData() or 0) if self.target.count() else 0
        self.target.blockSignals(True)
        self.target.clear()
        for index, name in enumerate(classes):
            self.target.addItem(f"{index}: {name}", index)
        self.target.blockSignals(False)
        self._select_target(current)

    def _select_target(self, index: int) -> None:
        found = self.target.findData(int(index))
        if found < 0:
            self.target.addItem(f"{index}: (not a class of this dataset)", int(index))
            found = self.target.count() - 1
        self.target.setCurrentIndex(found)

    def set_dataset_status(self, text: str, ok: bool) -> None:
        self.dataset_status.setText(text)
        self.dataset_status.setStyleSheet("" if ok else "color: #b00020;")

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.root.text())
        if folder:
            self.root.setText(folder)
            self._on_dataset_edited()

    # ------------------------------------------------------------------ reactions

    def _on_dataset_edited(self) -> None:
        self._update_enabled()
        if not self._loading:
            self.dataset_changed.emit()

    def _on_framing_edited(self) -> None:
        if is_event_dataset(self.dataset.currentText()):
            self._on_dataset_edited()

    def _update_enabled(self) -> None:
        dataset = self.dataset.currentText()
        has_root = needs_root(dataset)
        self.root.setEnabled(has_root)
        self.browse.setEnabled(has_root)
        for key in ("data.frames_by", "data.frame_side"):
            self.show_field(key, is_event_dataset(dataset))
        self.tau.setEnabled(self.neuron.currentText() == "lif")
        rule = self.rule.currentText()
        for key, rules in RULE_SPECIFIC.items():
            self.show_field(key, rule in rules)
        if rule in CONVERTING_RULES:
            self.show_field("rule.percentile", self._widget("rule.norm").currentText() == "robust")
        self.conversion_box.setVisible(rule in CONVERTING_RULES)

    def _widget(self, key: str) -> QWidget:
        return self._rows[key][1]

    def _on_edited(self) -> None:
        if not self._loading:
            self.changed.emit()
