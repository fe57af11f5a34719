"""Drawing the trigger on the Trigger tab's grid: the brush (grey value, colour or polarity),
putting a trigger on the grid, copying the current trigger there to edit it, moving it, and
keeping a drawing while another kind is tried.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog

from snnstudio.core.attack.trigger import (
    POLARITY_CHANNELS,
    PlacedTrigger,
    placed_trigger_from_config,
)
from snnstudio.core.config import TriggerConfig
from snnstudio.core.errors import SnnStudioError


def polarity_values(polarity: int) -> tuple[float, float]:
    """The two channel values the core's polarity `polarity` sets (trigger.POLARITY_CHANNELS)."""
    on = POLARITY_CHANNELS[polarity]
    return (1.0 if 0 in on else 0.0, 1.0 if 1 in on else 0.0)


def pattern_to_lists(pattern: np.ndarray) -> list:
    """(C, h, w) -> nested lists for TOML; a one-channel pattern is written as rows (h, w)."""
    array = pattern[0] if pattern.shape[0] == 1 else pattern
    return array.astype(float).tolist()


class TriggerDrawing:
    """A part of TriggerEditor (mixed into it): what happens on its grid. The editor has
    `grid`, `kind`, `position`, `x`, `y`, `intensity`, `brush_polarity`, `image_shape`,
    `is_event`, `loading`, `placed_trigger()`, `show_message()` and `on_edited()`."""

    def init_drawing(self) -> None:
        """The drawing's state, set in the editor's __init__."""
        self._brush_colour = QColor(255, 255, 255)
        self._last_kind = "white"
        self._saved_drawing: np.ndarray | None = None
        self._keep_grid = False  # switching to "drawn" keeps the pixels the grid shows

    def draw_pattern(self, cfg: TriggerConfig) -> None:
        """Put a config's array pattern on the grid where it would be placed."""
        try:
            placed = placed_trigger_from_config(cfg, self.image_shape, self.is_event)
        except SnnStudioError as exc:
            self.show_message(str(exc), ok=False)
            return
        self.draw_placed(placed)

    def draw_placed(self, placed: PlacedTrigger, notify: bool = True) -> None:
        drawing = np.where(placed.mask > 0, placed.pattern, np.nan).astype(np.float32)
        if drawing.shape[0] != self.image_shape[0]:
            drawing = np.broadcast_to(drawing, self.image_shape).copy()
        self.grid.set_drawing(drawing, notify)

    def choose_colour(self) -> None:
        colour = QColorDialog.getColor(self._brush_colour, self, "Brush colour")
        if colour.isValid():
            self._brush_colour = colour
            self.update_brush()

    def draw_current_trigger(self) -> None:
        """Copy the trigger now described (white, random, image) onto the grid to edit it."""
        try:
            placed = self.placed_trigger()
        except SnnStudioError as exc:
            self.show_message(str(exc), ok=False)
            return
        self.draw_placed(placed)
        self._become_drawn()

    def move_trigger(self, row: int, col: int) -> None:
        """Move the trigger so that its top-left pixel is at (row, col) of the image."""
        _, height, width = self.image_shape
        if str(self.kind.currentData()) == "array":
            drawn = self.grid.pattern()
            if drawn is None:
                return
            pattern, _, _ = drawn
            top = min(max(row, 0), height - pattern.shape[1])
            left = min(max(col, 0), width - pattern.shape[2])
            drawing = np.full(self.grid.shape, np.nan, np.float32)
            drawing[:, top : top + pattern.shape[1], left : left + pattern.shape[2]] = pattern
            self.grid.set_drawing(drawing)
            return
        self.loading = True
        self.position.setCurrentText("xy")
        self.x.setValue(max(col, 0))
        self.y.setValue(max(row, 0))
        self.loading = False
        self.on_edited()

    def update_brush(self) -> None:
        channels = self.image_shape[0]
        if channels == 2:
            values = polarity_values(int(self.brush_polarity.currentData()))
        elif channels >= 3:
            colour = self._brush_colour
            values = (colour.redF(), colour.greenF(), colour.blueF(), *([1.0] * (channels - 3)))
        else:
            values = (self.intensity.value(),)
        self.grid.set_brush(np.asarray(values[:channels], np.float32))

    def on_stroke_started(self) -> None:
        """Painting on a white/random/image trigger turns it into a drawn one, starting from
        the pixels the grid shows."""
        if str(self.kind.currentData()) != "array":
            self._become_drawn()

    def _become_drawn(self) -> None:
        """Turn the trigger into a drawn one that starts from the pixels the grid shows."""
        self._saved_drawing = None
        self._keep_grid = True
        try:
            self.kind.setCurrentIndex(self.kind.findData("array"))
        finally:
            self._keep_grid = False

    def blank_drawing(self) -> np.ndarray:
        return np.full(self.grid.shape, np.nan, np.float32)

    def on_kind_changed(self) -> None:
        """Keep a drawing while another kind is tried, and bring it back on return; choosing
        "drawn" otherwise starts from an empty grid (the white square the grid showed would
        have stayed in the drawing, a patch nobody drew)."""
        kind = str(self.kind.currentData())
        if self._last_kind == "array" and kind != "array":
            self._saved_drawing = self.grid.drawing.copy()
        elif kind == "array" and self._last_kind != "array" and not self._keep_grid:
            saved = None if self.loading else self._saved_drawing
            fits = saved is not None and saved.shape == self.grid.shape
            self.grid.set_drawing(saved if fits else self.blank_drawing(), notify=False)
            self._saved_drawing = None
        self._last_kind = kind

    def on_drawn(self) -> None:
        if str(self.kind.currentData()) == "array":
            self.on_edited()
