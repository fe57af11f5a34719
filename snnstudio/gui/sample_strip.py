"""A strip of sample images above the same samples with the trigger stamped in.

The stamping is the core's own (`PlacedTrigger.apply`), so what is shown is what is trained
on. Pressing or dragging on a triggered image reports the image pixel under the mouse, which
the trigger editor uses to move the trigger there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from snnstudio.core.attack.trigger import PlacedTrigger
from snnstudio.gui.image_render import frame_of, to_pixmap

STRIP_SAMPLES = 6
STRIP_PIXELS = 120  # about how wide each shown sample is


class _SampleImage(QLabel):
    """One shown sample; reports presses and drags in image pixel coordinates."""

    pressed = Signal(int, int)  # row, col of the image

    def __init__(self) -> None:
        super().__init__()
        self.zoom = 1
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("border: 1px solid #888;")

    def show_frame(self, frame: np.ndarray, zoom: int) -> None:
        self.zoom = zoom
        pixmap = to_pixmap(frame, zoom)
        self.setPixmap(pixmap)
        self.setFixedSize(pixmap.width() + 2, pixmap.height() + 2)  # the border hugs the image

    def _report(self, event: QMouseEvent) -> None:
        pixmap = self.pixmap()
        if pixmap is None or pixmap.isNull():
            return
        offset_x = (self.width() - pixmap.width()) // 2
        offset_y = (self.height() - pixmap.height()) // 2
        point = event.position().toPoint()
        self.pressed.emit((point.y() - offset_y) // self.zoom, (point.x() - offset_x) // self.zoom)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._report(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._report(event)


class SampleStrip(QWidget):
    """Clean samples in the first row, triggered ones in the second."""

    trigger_dragged = Signal(int, int)  # image row, col under the mouse

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.addWidget(QLabel("clean"), 0, 0)
        layout.addWidget(QLabel("triggered\n(drag to move)"), 1, 0)
        self.clean = [_SampleImage() for _ in range(STRIP_SAMPLES)]
        self.triggered = [_SampleImage() for _ in range(STRIP_SAMPLES)]
        for index, (top, bottom) in enumerate(zip(self.clean, self.triggered, strict=True)):
            layout.addWidget(top, 0, index + 1)
            layout.addWidget(bottom, 1, index + 1)
            bottom.pressed.connect(self.trigger_dragged)
        layout.setColumnStretch(STRIP_SAMPLES + 1, 1)  # the images stay beside their labels
        self.samples: np.ndarray | None = None

    def set_samples(self, samples: np.ndarray) -> None:
        """Up to STRIP_SAMPLES samples, (N, C, H, W) or event frames (N, T, C, H, W)."""
        self.samples = samples[:STRIP_SAMPLES]
        self.show_trigger(None)

    def show_trigger(self, trigger: PlacedTrigger | None) -> None:
        """Draw the samples and, below, the samples stamped with `trigger` (blank when None)."""
        if self.samples is None:
            return
        stamped = trigger.apply(self.samples) if trigger is not None else None
        for index, sample in enumerate(self.samples):
            frame = frame_of(sample)
            zoom = max(1, STRIP_PIXELS // frame.shape[-1])
            self.clean[index].show_frame(frame, zoom)
            if stamped is None:
                self.triggered[index].clear()
            else:
                self.triggered[index].show_frame(frame_of(stamped[index]), zoom)
