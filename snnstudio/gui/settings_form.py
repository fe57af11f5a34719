"""A form generated from a settings dataclass (`core.defense.options`): one row per field,
with the field's default, choices and help, as the CLI's options are generated from the
same dataclass; `settings()` builds the dataclass back. Optional fields (None = "the
method's default") show that as their lowest value."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QWidget

from snnstudio.core.defense.options import Option, options
from snnstudio.gui.form_fields import combo, float_spin, int_spin

DEFAULT = "method default"
INT_RANGE = (0, 1_000_000)
FLOAT_RANGE = (0.0, 1e6)
FLOAT_DECIMALS = 4


def _widget(opt: Option) -> QWidget:
    if opt.choices:
        box = combo(([DEFAULT] if opt.optional else []) + list(opt.choices))
        box.setCurrentText(DEFAULT if opt.default is None else str(opt.default))
        return box
    if opt.kind is bool:
        check = QCheckBox()
        check.setChecked(bool(opt.default))
        return check
    if opt.kind is int:
        spin = int_spin(INT_RANGE[0] - (1 if opt.optional else 0), INT_RANGE[1])
    elif opt.kind is float:
        low = FLOAT_RANGE[0] - (1.0 if opt.optional else 0.0)
        spin = float_spin(low, FLOAT_RANGE[1], 0.01, FLOAT_DECIMALS)
    else:
        edit = QLineEdit(str(opt.default))
        return edit
    if opt.optional:
        spin.setSpecialValueText(DEFAULT)
    spin.setValue(spin.minimum() if opt.default is None else opt.default)
    return spin


def _read(opt: Option, widget: QWidget) -> Any:
    if isinstance(widget, QComboBox):
        text = widget.currentText()
        return None if text == DEFAULT else text
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QLineEdit):
        return widget.text().strip()
    value = widget.value()  # type: ignore[attr-defined]
    if opt.optional and value == widget.minimum():  # type: ignore[attr-defined]
        return None
    return value


class SettingsForm:
    """Rows for the fields of `cls` (nested settings dataclasses flattened) in a form."""

    def __init__(self, cls: type, form: QFormLayout, skip: tuple[str, ...] = ()) -> None:
        self.cls = cls
        self.form = form
        self.fields: dict[str, QWidget] = {}  # by dotted name, e.g. "max_margin.steps"
        self._add(cls, "", skip)

    def _add(self, cls: type, prefix: str, skip: tuple[str, ...]) -> None:
        for opt in options(cls):
            name = f"{prefix}{opt.name}"
            if name in skip:
                continue
            if dataclasses.is_dataclass(opt.kind):
                self._add(opt.kind, f"{name}.", skip)
                continue
            widget = _widget(opt)
            widget.setToolTip(opt.help)
            self.fields[name] = widget
            self.form.addRow(name.replace(".", " ").replace("_", " "), widget)

    def show_only(self, visible: set[str]) -> None:
        for name, widget in self.fields.items():
            self.form.setRowVisible(widget, name in visible)

    def settings(self, **fixed: Any) -> Any:
        """The dataclass from the widgets; `fixed` fields are taken as given."""
        return self._build(self.cls, "", fixed)

    def _build(self, cls: type, prefix: str, fixed: dict[str, Any]) -> Any:
        values = {}
        for opt in options(cls):
            name = f"{prefix}{opt.name}"
            if name in fixed:
                values[opt.name] = fixed[name]
            elif dataclasses.is_dataclass(opt.kind):
                values[opt.name] = self._build(opt.kind, f"{name}.", fixed)
            elif name in self.fields:
                values[opt.name] = _read(opt, self.fields[name])
            else:
                values[opt.name] = opt.default
        return cls(**values)
