"""Turn sample arrays into QImages: grey, RGB, or two event polarity channels (0 red, 1 green)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def frame_of(sample: np.ndarray) -> np.ndarray:
    """One displayable (C, H, W) frame: event samples (T, C, H, W) are summed over time and
    scaled to [0, 1]; images are returned as they are."""
    if sample.ndim == 4:
        summed = sample.sum(axis=0)
        peak = float(summed.max())
        return summed / peak if peak > 0 else summed
    return sample


def to_rgb8(frame: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8. One channel is grey; two channels are event
    polarities (channel 0, OFF events, red; channel 1, ON events, green); three are RGB."""
    channels = frame.shape[0]
    if channels == 1:
        rgb = np.repeat(frame, 3, axis=0)
    elif channels == 2:
        rgb = np.concatenate([frame, np.zeros_like(frame[:1])], axis=0)
    else:
        rgb = frame[:3]
    return np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0))


def to_pixmap(frame: np.ndarray, zoom: int) -> QPixmap:
    """A (C, H, W) frame as a pixmap enlarged `zoom` times with square (unsmoothed) pixels."""
    rgb = to_rgb8(frame)
    height, width, _ = rgb.shape
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(
        width * zoom, height * zoom, Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )  # fmt: skip
