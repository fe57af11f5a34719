"""An event trigger over time: one sample's frames, clean beside poisoned, under a frame slider
(with Play to animate them); for a dynamic trigger also the generator's perturbation.

The poisoned frames are the core's own (`apply` of the trigger a run uses), so what is shown
is what is trained on.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from snnstudio.core.attack.trigger import SampleTrigger
from snnstudio.gui.image_render import to_pixmap

VIEW_PIXELS = 136  # about how wide each frame is drawn
PLAY_INTERVAL_MS = 400


def perturbation_frame(delta: np.ndarray) -> np.ndarray:
    """A (C, H, W) perturbation in [-g, g] scaled to [0, 1] around 0.5 for display. Two event
    channels get a third held at 0.5, so that 0 is grey (not olive) and a raised channel 0
    (OFF) shows red, a raised channel 1 (ON) green."""
    peak = float(np.abs(delta).max())
    frame = 0.5 + 0.5 * delta / peak if peak > 0 else np.full_like(delta, 0.5)
    if frame.shape[0] == 2:
        frame = np.concatenate([frame, np.full_like(frame[:1], 0.5)], axis=0)
    return frame


class EventTriggerView(QWidget):
    """Frames of the chosen sample: clean, poisoned and (dynamic kind) the perturbation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample = QSpinBox()
        self.frame = QSlider(Qt.Orientation.Horizontal)
        self.frame_label = QLabel()
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_INTERVAL_MS)
        self.images = [QLabel() for _ in range(3)]
        self.titles = [QLabel("clean"), QLabel("poisoned"), QLabel("generator output")]
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.clean: np.ndarray | None = None  # (N, T, C, H, W)
        self.poisoned: np.ndarray | None = None
        self.delta: np.ndarray | None = None
        self._build_layout()
        self.sample.valueChanged.connect(self.redraw)
        self.frame.valueChanged.connect(self.redraw)
        self.play.toggled.connect(self._toggle_play)
        self.timer.timeout.connect(self._next_frame)

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(QLabel("sample"))
        controls.addWidget(self.sample)
        controls.addWidget(QLabel("frame"))
        controls.addWidget(self.frame, 1)
        controls.addWidget(self.frame_label)
        controls.addWidget(self.play)
        grid = QGridLayout()
        for column, (title, image) in enumerate(zip(self.titles, self.images, strict=True)):
            grid.addWidget(title, 0, column)
            grid.addWidget(image, 1, column)
        grid.setColumnStretch(3, 1)
        layout = QGridLayout(self)
        layout.addLayout(controls, 0, 0)
        layout.addLayout(grid, 1, 0)
        layout.addWidget(self.note, 2, 0)

    def show_trigger(
        self, samples: np.ndarray, trigger: SampleTrigger | None, note: str = ""
    ) -> None:
        """Event samples (N, T, C, H, W) and the trigger to stamp into them (None: clear)."""
        if trigger is None or samples.ndim != 5 or not len(samples):
            self.clean = self.poisoned = self.delta = None
            self.note.setText(note)
            self.redraw()
            return
        self.clean = samples
        self.poisoned = trigger.apply(samples)
        perturbation = getattr(trigger, "perturbation", None)
        self.delta = perturbation(samples) if perturbation is not None else None
        self.sample.setRange(0, len(samples) - 1)
        self.frame.setRange(0, samples.shape[1] - 1)
        self.note.setText(note)
        self.redraw()

    def redraw(self) -> None:
        if self.clean is None or self.poisoned is None:
            for image in self.images:
                image.clear()
            self.frame_label.setText("")
            return
        i, t = self.sample.value(), self.frame.value()
        self.frame_label.setText(f"{t + 1} / {self.clean.shape[1]}")
        frames = [np.clip(self.clean[i, t], 0, 1), np.clip(self.poisoned[i, t], 0, 1)]
        if self.delta is not None:
            frames.append(perturbation_frame(self.delta[i, t]))
        zoom = max(1, VIEW_PIXELS // self.clean.shape[-1])
        for index, (title, image) in enumerate(zip(self.titles, self.images, strict=True)):
            shown = index < len(frames)
            title.setVisible(shown)
            image.setVisible(shown)
            if shown:
                image.setPixmap(to_pixmap(frames[index], zoom))

    def _toggle_play(self, playing: bool) -> None:
        self.play.setText("Pause" if playing else "Play")
        if playing:
            self.timer.start()
        else:
            self.timer.stop()

    def _next_frame(self) -> None:
        self.frame.setValue((self.frame.value() + 1) % (self.frame.maximum() + 1))

    def closeEvent(self, event) -> None:
        self.timer.stop()
        super().closeEvent(event)
