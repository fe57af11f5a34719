"""A zoomed grid at the image's real resolution for drawing a trigger pixel by pixel.

Left click and drag paints the brush value, right click and drag erases. The drawing is an
array (C, H, W) with NaN where nothing is drawn; `pattern()` crops it to the drawn pixels'
bounding box, which is exactly the core's `trigger.kind = "array"` pattern (NaN =
transparent) placed at `position = "xy"`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from snnstudio.gui.image_render import to_rgb8

BACKGROUND_DIM = 0.35  # how bright the sample image under the drawing is shown
MIN_CELL_FOR_LINES = 5  # pixels; smaller cells get no grid lines


class PixelGrid(QWidget):
    """Emits `stroke_started` when a press begins a stroke (before it paints), and `edited`
    after every pixel painted or erased."""

    stroke_started = Signal()
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drawing = np.full((1, 28, 28), np.nan, np.float32)
        self.background = np.zeros((1, 28, 28), np.float32)
        self.brush = np.ones(1, np.float32)
        self._erasing = False
        self.setMouseTracking(False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)

    # ------------------------------------------------------------------ model

    @property
    def shape(self) -> tuple[int, int, int]:
        c, h, w = self.drawing.shape
        return int(c), int(h), int(w)

    def set_image_shape(self, image_shape: tuple[int, int, int]) -> None:
        """Resize to (C, H, W), clearing the drawing when the shape changes."""
        if tuple(image_shape) != self.shape:
            self.drawing = np.full(image_shape, np.nan, np.float32)
            self.background = np.zeros(image_shape, np.float32)
            self.brush = np.ones(image_shape[0], np.float32)
            self.update()

    def set_background(self, frame: np.ndarray) -> None:
        if frame.shape == self.drawing.shape:
            self.background = frame.astype(np.float32)
            self.update()

    def set_brush(self, values: np.ndarray) -> None:
        self.brush = np.asarray(values, np.float32).reshape(self.shape[0])

    def set_drawing(self, drawing: np.ndarray, notify: bool = True) -> None:
        self.drawing = np.asarray(drawing, np.float32).copy()
        self.update()
        if notify:
            self.edited.emit()

    def clear(self) -> None:
        self.set_drawing(np.full(self.shape, np.nan, np.float32))

    def paint_pixel(self, row: int, col: int, erase: bool = False) -> None:
        _, height, width = self.shape
        if 0 <= row < height and 0 <= col < width:
            self.drawing[:, row, col] = np.nan if erase else self.brush
            self.update()
            self.edited.emit()

    def pattern(self) -> tuple[np.ndarray, int, int] | None:
        """(pattern (C, h, w) with NaN = transparent, left x, top y), or None when empty."""
        drawn = ~np.isnan(self.drawing).all(axis=0)
        if not drawn.any():
            return None
        rows, cols = np.nonzero(drawn)
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        return self.drawing[:, top:bottom, left:right].copy(), int(left), int(top)

    # ------------------------------------------------------------------ geometry

    def cell_size(self) -> int:
        _, height, width = self.shape
        return max(2, min(self.width() // width, self.height() // height))

    def cell_at(self, point: QPoint) -> tuple[int, int]:
        cell = self.cell_size()
        return point.y() // cell, point.x() // cell

    def cell_rect(self, row: int, col: int) -> QRect:
        cell = self.cell_size()
        return QRect(col * cell, row * cell, cell, cell)

    def sizeHint(self) -> QSize:
        _, height, width = self.shape
        zoom = max(4, 448 // max(height, width))
        return QSize(width * zoom, height * zoom)

    # ------------------------------------------------------------------ Qt events

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        self._erasing = event.button() == Qt.MouseButton.RightButton
        self.stroke_started.emit()
        self.paint_pixel(*self.cell_at(event.position().toPoint()), erase=self._erasing)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & (Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton):
            self.paint_pixel(*self.cell_at(event.position().toPoint()), erase=self._erasing)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        _, height, width = self.shape
        cell = self.cell_size()
        dimmed = to_rgb8(np.clip(self.background, 0, 1) * BACKGROUND_DIM)
        drawn_rgb = to_rgb8(np.nan_to_num(self.drawing, nan=0.0))
        drawn = ~np.isnan(self.drawing).all(axis=0)
        rgb = np.ascontiguousarray(np.where(drawn[..., None], drawn_rgb, dimmed))
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        painter.drawImage(QRect(0, 0, width * cell, height * cell), image)  # one call, not H*W
        if cell >= MIN_CELL_FOR_LINES:
            painter.setPen(QPen(QColor(70, 70, 70), 1))
            for row in range(height + 1):
                painter.drawLine(0, row * cell, width * cell, row * cell)
            for col in range(width + 1):
                painter.drawLine(col * cell, 0, col * cell, height * cell)
        painter.setPen(QPen(QColor("#ffb000"), 2))
        for row, col in zip(*np.nonzero(drawn), strict=True):
            painter.drawRect(self.cell_rect(int(row), int(col)).adjusted(1, 1, -1, -1))
        painter.end()
