"""Export plots as PNG/SVG (pyqtgraph's exporters) and tables as CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtWidgets import QTableWidget

from snnstudio.core.errors import SnnStudioError

PLOT_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
TABLE_FILTER = "CSV table (*.csv)"
PNG_WIDTH = 1600


def export_graphics(item: pg.GraphicsObject | pg.GraphicsScene, path: str | Path) -> Path:
    """Write a plot, or a whole layout of plots, to `path` (.png or .svg)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        exporter = pg.exporters.SVGExporter(item)
    elif suffix == ".png":
        exporter = pg.exporters.ImageExporter(item)
        exporter.parameters()["width"] = PNG_WIDTH
    else:
        raise SnnStudioError(f"cannot export a plot as '{suffix or path.name}': use .png or .svg")
    try:
        exporter.export(str(path))
    except OSError as exc:
        raise SnnStudioError(f"cannot write {path}: {exc}") from None
    return path


def table_rows(table: QTableWidget) -> list[list[str]]:
    """The header and every row of a table widget, as shown."""
    header = [
        table.horizontalHeaderItem(col).text() if table.horizontalHeaderItem(col) else str(col)
        for col in range(table.columnCount())
    ]
    rows = [header]
    for row in range(table.rowCount()):
        rows.append([
            table.item(row, col).text() if table.item(row, col) is not None else ""
            for col in range(table.columnCount())
        ])  # fmt: skip
    return rows


def export_table_csv(table: QTableWidget, path: str | Path) -> Path:
    path = Path(path)
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(table_rows(table))
    except OSError as exc:
        raise SnnStudioError(f"cannot write {path}: {exc}") from None
    return path
