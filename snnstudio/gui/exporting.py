"""Export plots as SVG or PNG, each with a caption naming the run and its key settings, and
tables as CSV.

Both formats are drawn the same way: the caption, then the plot's scene rendered by Qt's own
painter into a QSvgGenerator or a QImage, with pyqtgraph's export mode on (vector scatter
symbols instead of cached pixmaps). pyqtgraph's SVGExporter is not used: with Qt 6.12 it fails
on every plot (pyqtgraph issue #3495), so it is also taken out of the right-click export menu.

Why SVG drew the axes out of line with the curves: pyqtgraph's axes paint a cached QPicture,
which Qt replays scaled by the ratio of the picture's resolution (the screen's 96 dpi) to the
painting device's. QSvgGenerator defaults to 72 dpi, so axes and tick labels came out at 3/4
size while the curves did not. The generator now uses the resolution the pictures were
recorded at.

Why SVG curves were huge filled bands in rsvg-convert and ImageMagick: see svg_strokes.py.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPaintDevice, QPainter, QPicture
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QTableWidget

from snnstudio.core import config as config_io
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.run_record import open_run
from snnstudio.gui.svg_strokes import flatten_scaled_paths

PLOT_FILTER = "SVG drawing (*.svg);;PNG image (*.png)"
TABLE_FILTER = "CSV table (*.csv)"
PNG_WIDTH = 1600
CAPTION_HEIGHT = 28
CAPTION_MARGIN = 10
CAPTION_POINT_SIZE = 10


def figure_caption(cfg: config_io.ExperimentConfig, run: str = "") -> str:
    """'run — dataset, rule, model, PR, target, T': what an exported figure shows."""
    return (
        f"{run or cfg.name} — dataset {cfg.data.name}, rule {cfg.rule.name}, "
        f"model {cfg.model.arch}, PR {cfg.poison.rate:g}, target {cfg.poison.target}, "
        f"T {cfg.sim.timesteps}"
    )


def run_dir_caption(run_dir: Path) -> str:
    """figure_caption of a run directory, from the config it was made with (its name alone
    when that cannot be read)."""
    try:
        return figure_caption(open_run(run_dir).config(), run_dir.name)
    except (SnnStudioError, OSError):
        return run_dir.name


def export_graphics(item: pg.GraphicsObject, path: str | Path, caption: str = "") -> Path:
    """Write a plot, or a whole layout of plots, to `path` (.svg or .png) under `caption`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise SnnStudioError(f"cannot export a plot as '{suffix or path.name}': use .svg or .png")
    if not path.parent.is_dir():
        raise SnnStudioError(f"cannot write {path}: folder {path.parent} does not exist")
    source = item.sceneBoundingRect()
    size = QSize(round(source.width()), round(source.height()) + (CAPTION_HEIGHT if caption else 0))
    if suffix == ".svg":
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setResolution(QPicture().logicalDpiX())  # see the module text
        generator.setSize(size)
        generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
        generator.setTitle(caption or "snnstudio plot")
        generator.setDescription(caption)
        _paint(item, generator, caption)
        flatten_scaled_paths(path)  # curves as lines in every viewer, not bands
    else:
        scale = PNG_WIDTH / max(1.0, size.width())
        image = QImage(
            round(size.width() * scale), round(size.height() * scale), QImage.Format.Format_RGB32
        )
        image.fill(QColor("white"))  # the last row, only partly painted, was left unset
        image.setDevicePixelRatio(scale)  # drawn as on a high-dpi screen: every item scales
        _paint(item, image, caption)
        if not image.save(str(path)):
            raise SnnStudioError(f"cannot write {path}")
    return path


def _paint(item: pg.GraphicsObject, device: QPaintDevice, caption: str) -> None:
    source = item.sceneBoundingRect()
    top = CAPTION_HEIGHT if caption else 0
    painter = QPainter()
    if not painter.begin(device):
        raise SnnStudioError("cannot start drawing the figure (is the file writable?)")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(QRectF(0, 0, source.width(), source.height() + top), QColor("white"))
        if caption:
            font = QFont(painter.font())
            font.setPointSize(CAPTION_POINT_SIZE)
            painter.setFont(font)
            painter.setPen(QColor("black"))
            where = QRectF(CAPTION_MARGIN, 0, source.width() - 2 * CAPTION_MARGIN, top)
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(where, int(flags), caption)
        with _export_mode(item, painter):
            item.scene().render(painter, QRectF(0, top, source.width(), source.height()), source)
    finally:
        painter.end()


@contextmanager
def _export_mode(item: pg.GraphicsObject, painter: QPainter) -> Iterator[None]:
    """pyqtgraph's export mode on every item painted (as its own exporters do)."""
    exporter = pg.exporters.ImageExporter(item)
    exporter.setExportMode(True, {"antialias": True, "background": "w", "painter": painter})
    try:
        yield
    finally:
        exporter.setExportMode(False)


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
