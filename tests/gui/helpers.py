"""Set up a small, fast demo in the window's form, the way a user would."""

from __future__ import annotations

from PySide6.QtCore import Qt

from snnstudio.gui.form_fields import BoundField


def field_widget(window, key: str):
    found: list[BoundField] = [f for f in window.setup._fields if f.key == key]
    assert found, f"the form has no field {key}"
    return found[0].widget


def set_small_demo(window, epochs: int = 2, train: int = 256, test: int = 64) -> None:
    field_widget(window, "data.train_limit").setValue(train)
    field_widget(window, "data.test_limit").setValue(test)
    field_widget(window, "train.epochs").setValue(epochs)
    window.setup.clean_twin.setChecked(False)


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def press_cell(qtbot, grid, row: int, col: int, button=Qt.MouseButton.LeftButton) -> None:
    """Click one cell of the trigger editor's pixel grid."""
    qtbot.mousePress(grid, button, pos=grid.cell_rect(row, col).center())
    qtbot.mouseRelease(grid, button, pos=grid.cell_rect(row, col).center())
