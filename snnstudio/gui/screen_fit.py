"""Keeping the window on a laptop screen (1366x768): tall panels scroll, and the window's
first size comes from the screen it opens on rather than a fixed 1280x860."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

PREFERRED_SIZE = QSize(1280, 860)
FRAME_ALLOWANCE = QSize(16, 48)  # the window manager's title bar and borders, about


def scrolled(widget: QWidget, horizontal: bool = True) -> QScrollArea:
    """`widget` in a scroll area that gives it the whole width (scrolling sideways only
    when `horizontal`) and scrolls when the window is shorter than the widget."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    if not horizontal:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = area.verticalScrollBar().sizeHint().width()
        area.setMinimumWidth(widget.minimumSizeHint().width() + bar)
    return area


def fitted_size(screen: QScreen | None, preferred: QSize = PREFERRED_SIZE) -> QSize:
    """`preferred`, shrunk to the screen's available area less the window frame."""
    if screen is None:
        return preferred
    area = screen.availableGeometry().size() - FRAME_ALLOWANCE
    return preferred.boundedTo(area)
