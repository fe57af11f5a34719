"""The trigger editor: white / random / image file, or drawn pixel by pixel on a grid.

It edits the `trigger.*` section of a config. A drawn trigger becomes `kind = "array"` with
the drawn pixels' bounding box as `pattern` (NaN = transparent) at `position = "xy"`; the
preview stamps sample images with `placed_trigger_from_config`, the core's own placement.
The samples and the trigger stamped on them are trigger_samples.py's, what happens on the grid
trigger_drawing.py's (both mixed into the editor).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from snnstudio.core.attack.trigger import PlacedTrigger
from snnstudio.core.config import (
    EVENT_TRIGGER_KINDS,
    MOVING_DIRECTIONS,
    POSITIONS,
    REGION_CHOICES,
    REGION_SCOPES,
    TRIGGER_KINDS,
    ExperimentConfig,
    TriggerConfig,
)
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import SnnStudioError
from snnstudio.gui.event_trigger_preview import DynamicPreview, event_trigger_note
from snnstudio.gui.event_trigger_view import EventTriggerView
from snnstudio.gui.form_fields import combo, float_spin, int_spin, set_combo_text
from snnstudio.gui.pixel_grid import PixelGrid
from snnstudio.gui.sample_strip import SampleStrip
from snnstudio.gui.screen_fit import scrolled
from snnstudio.gui.tasks import TaskSlot
from snnstudio.gui.trigger_drawing import TriggerDrawing, pattern_to_lists
from snnstudio.gui.trigger_samples import TriggerSamples

KIND_LABELS = {"white": "white square (event data: static polarity square)",
               "random": "random square", "image": "image file", "array": "drawn on the grid",
               "moving": "moving square (events)", "smart": "smart square (events)",
               "dynamic": "dynamic, generated (events)", "strobing": "strobing square (events)",
               "framed": "frame border (events)", "flashy": "flashing frames (events)"}  # fmt: skip
# the rows each event kind uses, besides size / position / polarity
EVENT_KIND_ROWS = {"moving": ("direction", "speed"),
                   "smart": ("region", "region_grid", "region_polarity", "region_scope"),
                   "dynamic": ("gamma", "generator_epochs"),
                   "strobing": ("strobe_on", "strobe_off"), "flashy": ("strobe_on", "strobe_off"),
                   "framed": ("border",)}  # fmt: skip
POLARITY_LABELS = {0: "0: channel 0 (OFF events)", 1: "1: channel 1 (ON events)",
                   2: "2: both channels"}  # fmt: skip


def trigger_summary(placed: PlacedTrigger) -> str:
    """'26x26 trigger (5 of 676 pixels set) at row 2, column 2': the size of the pattern (its
    bounding box), and how many of its pixels it sets when some are transparent."""
    mask = placed.mask[0] > 0
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not len(rows):
        return "the trigger sets no pixel"
    height, width = int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
    count = int(mask.sum())
    pixels = "" if count == height * width else f" ({count} of {height * width} pixels set)"
    return f"{height}x{width} trigger{pixels} at row {rows[0]}, column {cols[0]}"


class TriggerEditor(TriggerSamples, TriggerDrawing, QWidget):
    """Emits `changed` whenever the trigger it describes changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_shape: tuple[int, int, int] = (1, 28, 28)
        self.kind = QComboBox()
        for kind in (*TRIGGER_KINDS, *EVENT_TRIGGER_KINDS):
            self.kind.addItem(KIND_LABELS.get(kind, kind), kind)
        self.size = int_spin(0, 4096)
        self.size.setSpecialValueText("auto (the paper's size)")
        self.position = combo(POSITIONS)
        self.x = int_spin(0, 4096)
        self.y = int_spin(0, 4096)
        self.seed = int_spin(0, 2**31 - 1)
        self.path = QLineEdit()
        self.browse = QPushButton("Browse…")
        self.intensity: QDoubleSpinBox = float_spin(0.0, 1.0, 0.1, 2)
        self.intensity.setValue(1.0)
        self.colour = QPushButton("brush colour…")
        self.polarity = QComboBox()
        self.brush_polarity = QComboBox()
        for value, label in POLARITY_LABELS.items():
            self.polarity.addItem(label, value)
            self.brush_polarity.addItem(label, value)
        self.frame_start = int_spin(0, 100_000)
        self.frame_stop = int_spin(0, 100_000)
        self.frame_stop.setSpecialValueText("to the last frame")
        self.is_event = False
        self.direction = combo(MOVING_DIRECTIONS)
        self.speed = int_spin(0, 1000)
        self.region = combo(REGION_CHOICES)
        self.region_grid = int_spin(1, 64)
        self.region_polarity = combo(REGION_CHOICES)
        self.region_scope = combo(REGION_SCOPES)
        self.strobe_on = int_spin(1, 100_000)
        self.strobe_off = int_spin(0, 100_000)
        self.border = int_spin(1, 4096)
        self.gamma: QDoubleSpinBox = float_spin(0.001, 1.0, 0.01, 3)
        self.generator_epochs = int_spin(1, 1000)
        self.event_rows = {"direction": self.direction, "speed": self.speed,
                           "region": self.region, "region_grid": self.region_grid,
                           "region_polarity": self.region_polarity,
                           "region_scope": self.region_scope,
                           "strobe_on": self.strobe_on, "strobe_off": self.strobe_off,
                           "border": self.border, "gamma": self.gamma,
                           "generator_epochs": self.generator_epochs}  # fmt: skip
        self.set_event_keys(TriggerConfig())
        self.event_view = EventTriggerView()
        self.dynamic_preview = DynamicPreview()
        # the whole form's config (the main window's), which a reopened run's generator needs
        self.form_config: Callable[[], ExperimentConfig] | None = None
        self.generator_task = TaskSlot(self, replace=True)  # the dynamic preview's training
        self.train_samples: SampleSet | None = None
        self.clear_button = QPushButton("Clear drawing")
        self.from_current = QPushButton("Start from the current trigger")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.grid = PixelGrid()
        self.strip = SampleStrip()
        self.loading = False
        self.init_drawing()
        self._build_layout()
        self._connect()
        self.update_enabled()

    def _build_layout(self) -> None:
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        options = QGroupBox("Trigger")
        form = QFormLayout(options)
        form.addRow("kind", self.kind)
        form.addRow("size (side)", self.size)
        form.addRow("position", self.position)
        form.addRow("x (left column)", self.x)
        form.addRow("y (top row)", self.y)
        form.addRow("random seed", self.seed)
        form.addRow("image file", path_row)
        form.addRow("polarity (event data)", self.polarity)
        form.addRow("first frame", self.frame_start)
        form.addRow("stop frame", self.frame_stop)
        for key, widget in self.event_rows.items():
            form.addRow(key.replace("_", " "), widget)
        self.options_form = form
        brush = QGroupBox("Drawing (left drag paints, right drag erases)")
        brush_form = QFormLayout(brush)
        brush_form.addRow("grey value", self.intensity)
        brush_form.addRow("colour (RGB data)", self.colour)
        brush_form.addRow("paint polarity", self.brush_polarity)
        self.brush_form = brush_form
        brush_form.addRow(self.from_current)
        brush_form.addRow(self.clear_button)
        settings = QWidget()
        column = QVBoxLayout(settings)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(options)
        column.addWidget(brush)
        column.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(scrolled(settings, horizontal=False), 1)  # fits a 768-pixel screen
        left.addWidget(self.message)  # always in sight, below what scrolls
        top = QHBoxLayout()
        top.addLayout(left, 0)
        top.addWidget(self.grid, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        self.previews = QTabWidget()
        self.previews.addTab(self.strip, "samples")
        self.previews.addTab(self.event_view, "frame by frame (event data)")
        layout.addWidget(self.previews)

    def _connect(self) -> None:
        self.kind.currentIndexChanged.connect(self.on_kind_changed)
        for signal in (self.kind.currentIndexChanged, self.size.valueChanged,
                       self.position.currentTextChanged, self.x.valueChanged,
                       self.y.valueChanged, self.seed.valueChanged,
                       self.path.editingFinished, self.polarity.currentIndexChanged,
                       self.frame_start.valueChanged, self.frame_stop.valueChanged,
                       self.direction.currentTextChanged, self.speed.valueChanged,
                       self.region.currentTextChanged, self.region_grid.valueChanged,
                       self.region_polarity.currentTextChanged, self.strobe_on.valueChanged,
                       self.region_scope.currentTextChanged,
                       self.strobe_off.valueChanged, self.border.valueChanged,
                       self.gamma.valueChanged, self.generator_epochs.valueChanged):  # fmt: skip
            signal.connect(self.on_edited)
        self.grid.edited.connect(self.on_drawn)
        self.grid.stroke_started.connect(self.on_stroke_started)
        self.browse.clicked.connect(self.choose_file)
        self.colour.clicked.connect(self.choose_colour)
        self.intensity.valueChanged.connect(self.update_brush)
        self.brush_polarity.currentIndexChanged.connect(self.update_brush)
        self.clear_button.clicked.connect(self.grid.clear)
        self.from_current.clicked.connect(self.draw_current_trigger)
        self.strip.trigger_dragged.connect(self.move_trigger)

    # ------------------------------------------------------------------ config in/out

    def trigger_config(self, base: TriggerConfig | None = None) -> TriggerConfig:
        """The trigger section as edited (other fields of `base` kept)."""
        cfg = TriggerConfig(**vars(base)) if base is not None else TriggerConfig()
        cfg.kind = str(self.kind.currentData())
        cfg.size, cfg.position = self.size.value(), self.position.currentText()
        cfg.x, cfg.y, cfg.seed, cfg.path = (
            self.x.value(), self.y.value(), self.seed.value(), self.path.text()
        )  # fmt: skip
        cfg.polarity = int(self.polarity.currentData())
        cfg.frame_start, cfg.frame_stop = self.frame_start.value(), self.frame_stop.value()
        cfg.direction, cfg.speed = self.direction.currentText(), self.speed.value()
        cfg.region, cfg.region_grid = self.region.currentText(), self.region_grid.value()
        cfg.region_polarity = self.region_polarity.currentText()
        cfg.region_scope = self.region_scope.currentText()
        cfg.strobe_on, cfg.strobe_off = self.strobe_on.value(), self.strobe_off.value()
        cfg.border, cfg.gamma = self.border.value(), self.gamma.value()
        cfg.generator_epochs = self.generator_epochs.value()
        cfg.pattern = []
        if cfg.kind == "array":
            drawn = self.grid.pattern()
            if drawn is not None:
                pattern, cfg.x, cfg.y = drawn
                cfg.pattern, cfg.position = pattern_to_lists(pattern), "xy"
        return cfg

    def set_trigger_config(self, cfg: TriggerConfig) -> None:
        self.loading = True
        try:
            self.kind.setCurrentIndex(max(0, self.kind.findData(cfg.kind)))
            self.size.setValue(cfg.size)
            set_combo_text(self.position, cfg.position)
            self.x.setValue(cfg.x)
            self.y.setValue(cfg.y)
            self.seed.setValue(cfg.seed)
            self.path.setText(cfg.path)
            self.polarity.setCurrentIndex(max(0, self.polarity.findData(cfg.polarity)))
            self.frame_start.setValue(cfg.frame_start)
            self.frame_stop.setValue(cfg.frame_stop)
            self.set_event_keys(cfg)
            if cfg.kind == "array" and cfg.pattern:
                self.draw_pattern(cfg)
            elif cfg.kind == "array":  # nothing drawn: no pixel of an earlier trigger stays
                self.grid.set_drawing(self.blank_drawing(), notify=False)
        finally:
            self.loading = False
        self.on_edited()

    def set_event_keys(self, cfg: TriggerConfig) -> None:
        """The event kinds' keys into their fields (values outside a field's range are shown
        clamped; validation names them when the config is run)."""
        for name in ("direction", "region", "region_polarity", "region_scope"):
            set_combo_text(self.event_rows[name], getattr(cfg, name))
        for name in ("speed", "region_grid", "strobe_on", "strobe_off", "border", "gamma",
                     "generator_epochs"):  # fmt: skip
            self.event_rows[name].setValue(getattr(cfg, name))

    # ------------------------------------------------------------------ preview

    def update_preview(self) -> None:
        kind = str(self.kind.currentData())
        try:
            trigger = self.sample_trigger()
        except SnnStudioError as exc:
            self.strip.show_trigger(None)
            self.event_view.show_trigger(np.empty(0), None)
            self.show_message(str(exc), ok=False)
            return
        if trigger is None:  # a dynamic trigger whose preview generator is not trained yet
            self.strip.show_trigger(None)
            self.event_view.show_trigger(np.empty(0), None)
            self.show_message("training the dynamic trigger's preview generator…", ok=True)
            self.train_preview_generator()
            return
        self.strip.show_trigger(trigger)  # type: ignore[arg-type]
        samples = self.strip.samples if self.strip.samples is not None else np.empty(0)
        run = self.run_generator()
        note = run.note() if run is not None else event_trigger_note(self.trigger_config())
        self.event_view.show_trigger(samples, trigger if self.is_event else None, note)
        if kind in EVENT_TRIGGER_KINDS:  # it changes over time: the grid shows none
            self.grid.set_drawing(np.full(self.grid.shape, np.nan, np.float32), notify=False)
            self.show_message(f"{KIND_LABELS[kind]}: see it frame by frame below", ok=True)
            return
        placed = trigger
        assert isinstance(placed, PlacedTrigger)
        if str(self.kind.currentData()) != "array":
            self.draw_placed(placed, notify=False)  # the grid always shows the trigger in use
        self.show_message(trigger_summary(placed), ok=True)

    def show_message(self, text: str, ok: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("" if ok else "color: #b00020;")

    # ------------------------------------------------------------------ user actions

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Trigger image", self.path.text(), "Images (*.png *.npy)"
        )
        if path:
            self.path.setText(path)
            self.kind.setCurrentIndex(self.kind.findData("image"))
            self.on_edited()

    def update_enabled(self) -> None:
        kind = str(self.kind.currentData())
        square = kind in ("white", "random")
        self.size.setEnabled(square)
        self.seed.setEnabled(kind in ("random", "smart", "dynamic"))  # pattern, wander, G
        self.path.setEnabled(kind == "image")
        self.browse.setEnabled(kind == "image")
        drawn = kind == "array"
        self.position.setEnabled(not drawn)
        xy = self.position.currentText() == "xy" and not drawn
        self.x.setEnabled(xy)
        self.y.setEnabled(xy)
        channels = self.image_shape[0]
        for widget in (self.polarity, self.frame_start, self.frame_stop):
            self.options_form.setRowVisible(widget, self.is_event)
        used = EVENT_KIND_ROWS.get(kind, ()) if self.is_event else ()
        for name, widget in self.event_rows.items():
            self.options_form.setRowVisible(widget, name in used)
        self.previews.setTabVisible(1, self.is_event)
        self.brush_form.setRowVisible(self.intensity, channels == 1)
        self.brush_form.setRowVisible(self.colour, channels >= 3)
        self.brush_form.setRowVisible(self.brush_polarity, channels == 2)
        self.polarity.setEnabled(kind in ("white", "moving", "strobing", "framed", "flashy"))
        if kind in EVENT_TRIGGER_KINDS:
            self.size.setEnabled(kind not in ("dynamic", "framed", "flashy"))
            self.position.setEnabled(kind in ("moving", "strobing"))

    def on_edited(self) -> None:
        if self.loading:
            return
        self.update_enabled()
        self.update_preview()
        self.changed.emit()
