"""Export plots as PNG (pyqtgraph's ImageExporter) or SVG (Qt's QSvgGenerator) and tables as CSV.

pyqtgraph 0.14.0's SVGExporter fails on every plot with Qt 6.12, whose SVG paths end in "Z"
(pyqtgraph issue #3495, no fixed release yet), so SVG is rendered by Qt itself and the broken
exporter is taken out of pyqtgraph's right-click export menu.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QTableWidget

from snnstudio.core.errors import SnnStudioError

PLOT_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
TABLE_FILTER = "CSV table (*.csv)"
PNG_WIDTH = 1600


def export_graphics(item: pg.GraphicsObject, path: str | Path) -> Path:
    """Write a plot, or a whole layout of plots, to `path` (.png or .svg)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return export_svg(item, path)
    if suffix != ".png":
        raise SnnStudioError(f"cannot export a plot as '{suffix or path.name}': use .png or .svg")
    exporter = pg.exporters.ImageExporter(item)
    exporter.parameters()["width"] = PNG_WIDTH
    try:
        exporter.export(str(path))
    except OSError as exc:
        raise SnnStudioError(f"cannot write {path}: {exc}") from None
    return path


def export_svg(item: pg.GraphicsObject, path: Path) -> Path:
    """Render a plot (or a layout of plots) with Qt's SVG painter."""
    source = item.sceneBoundingRect()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(source.size().toSize())
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle("snnstudio plot")
    painter = QPainter()
    if not painter.begin(generator):
        raise SnnStudioError(f"cannot write {path}")
    item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    painter.end()
    return path


def drop_broken_svg_exporter() -> None:
    """Remove pyqtgraph's SVGExporter from its context-menu export dialog (see module text)."""
    exporters = pg.exporters.Exporter.Exporters
    if pg.exporters.SVGExporter in exporters:
        exporters.remove(pg.exporters.SVGExporter)


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
