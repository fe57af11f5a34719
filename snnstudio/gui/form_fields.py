"""Bind Qt input widgets to dotted config keys (`train.lr`), reading and writing dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)


def get_dotted(cfg: Any, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        node = getattr(node, part)
    return node


def set_dotted(cfg: Any, key: str, value: Any) -> None:
    *path, last = key.split(".")
    node = cfg
    for part in path:
        node = getattr(node, part)
    setattr(node, last, value)


@dataclass
class BoundField:
    """One config key and the widget that edits it."""

    key: str
    widget: QWidget
    read: Callable[[], Any]
    write: Callable[[Any], None]


def combo(choices: list[str] | tuple[str, ...]) -> QComboBox:
    box = QComboBox()
    box.addItems(list(choices))
    return box


def set_combo_text(box: QComboBox, text: str) -> None:
    """Select `text`, adding it first when the list lacks it (a config from a newer version)."""
    if box.findText(text) < 0:
        box.addItem(text)
    box.setCurrentText(text)


def int_spin(low: int, high: int, step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    return spin


def float_spin(low: float, high: float, step: float, decimals: int) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(low, high)
    spin.setSingleStep(step)
    return spin


def bind(key: str, widget: QWidget) -> BoundField:
    """A BoundField for the usual widget kinds."""
    if isinstance(widget, QComboBox):
        return BoundField(
            key, widget, widget.currentText, lambda v, w=widget: set_combo_text(w, str(v))
        )
    if isinstance(widget, QCheckBox):
        return BoundField(key, widget, widget.isChecked, lambda v, w=widget: w.setChecked(bool(v)))
    if isinstance(widget, QSpinBox | QDoubleSpinBox):
        return BoundField(key, widget, widget.value, widget.setValue)
    if isinstance(widget, QLineEdit):
        return BoundField(key, widget, widget.text, lambda v, w=widget: w.setText(str(v)))
    raise TypeError(f"no binding for {type(widget).__name__}")


def changed_signal(widget: QWidget) -> Any:
    """The signal a widget emits when the user edits its value."""
    if isinstance(widget, QComboBox):
        return widget.currentTextChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QSpinBox | QDoubleSpinBox):
        return widget.valueChanged
    if isinstance(widget, QLineEdit):
        return widget.textChanged
    raise TypeError(f"no change signal for {type(widget).__name__}")
