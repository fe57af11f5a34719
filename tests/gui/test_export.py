"""Exported figures: SVG drawn like the screen (axes in line with the curves), and every
figure captioned with its run's name and key settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from helpers import click, set_small_demo
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QFileDialog

from snnstudio.core.errors import SnnStudioError
from snnstudio.gui.app import configure_pyqtgraph
from snnstudio.gui.exporting import export_graphics
from snnstudio.gui.live_curves import LiveCurves

ACC_BLUE = (0x1F, 0x77, 0xB4)
CAPTION = "demo-1 — dataset mnist, rule bptt, model mlp, PR 0.1, target 0, T 4"


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)


def svg_as_image(path, size: QSize) -> np.ndarray:
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    QSvgRenderer(str(path)).render(painter)
    painter.end()
    return pixels(image)


def landmarks(rgb: np.ndarray) -> tuple[float, ...]:
    """Where the ACC curve is (its blue pixels' box) and where the x axes of the left plots are
    (the first and last rows of the left half that are mostly dark), in pixels."""
    blue = np.abs(rgb - np.array(ACC_BLUE)).sum(axis=2) < 60
    rows, cols = np.nonzero(blue)
    half = rgb[:, : rgb.shape[1] // 2]
    dark = (half.sum(axis=2) < 450).sum(axis=1)
    axes = np.flatnonzero(dark > 0.6 * half.shape[1])
    assert len(axes), "no x axis found"
    return rows.min(), rows.max(), cols.min(), cols.max(), axes.min(), axes.max()


@pytest.fixture
def curves(qtbot) -> LiveCurves:
    configure_pyqtgraph()
    widget = LiveCurves()
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    qtbot.waitExposed(widget)
    for epoch in range(1, 6):
        widget.add_epoch_row("backdoored", epoch, 0.5 + epoch / 20, 0.9 - epoch / 50)
    widget.refresh()
    QApplication.processEvents()  # lay the plots out at the widget's size
    return widget


def test_svg_draws_axes_and_curves_where_the_png_does(curves, tmp_path):
    png = export_graphics(curves.graphics.ci, tmp_path / "curves.png", CAPTION)
    svg = export_graphics(curves.graphics.ci, tmp_path / "curves.svg", CAPTION)
    reference = QImage(str(png))
    drawn = svg_as_image(svg, reference.size())
    expected, found = landmarks(pixels(reference)), landmarks(drawn)
    tolerance = 0.01 * reference.width()  # a few pixels of antialiasing; the bug was ~25%
    assert np.allclose(found, expected, atol=tolerance), (found, expected)


def coloured_share(rgb: np.ndarray) -> float:
    """The share of pixels in colour (not white, grey or black): curves, symbols, legends."""
    return float(((rgb.max(axis=2) - rgb.min(axis=2)) > 80).mean())


def test_svg_curves_are_lines_in_every_viewer_and_the_png_has_no_stray_row(curves, tmp_path):
    """rsvg-convert and ImageMagick ignore vector-effect="non-scaling-stroke": they drew each
    2-pixel curve scaled by its data-to-page matrix, a band over the plot. And the PNG's last
    row, only partly painted, was left unset (a grey line)."""
    svg = export_graphics(curves.graphics.ci, tmp_path / "curves.svg", CAPTION)
    for group in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}g"):
        if any(child.tag.endswith(("}path", "}polyline")) for child in group):
            numbers = re.findall(r"[-\d.e]+", group.get("transform", "matrix(1,0,0,1,0,0)"))
            assert [float(v) for v in numbers[:4]] == [1, 0, 0, 1], group.attrib
    png = export_graphics(curves.graphics.ci, tmp_path / "curves.png", CAPTION)
    drawn = pixels(QImage(str(png)))
    assert (drawn[-1] >= 250).all()  # the bottom row is as white as the background
    assert coloured_share(svg_as_image(svg, QImage(str(png)).size())) < 0.05
    if shutil.which("rsvg-convert"):  # librsvg 2.54 here: the viewer that drew the bands
        rendered = tmp_path / "rsvg.png"
        subprocess.run(["rsvg-convert", str(svg), "-o", str(rendered)], check=True)
        assert coloured_share(pixels(QImage(str(rendered)))) < 0.05


def test_every_export_carries_the_caption(curves, tmp_path):
    svg = export_graphics(curves.graphics.ci, tmp_path / "curves.svg", CAPTION)
    text = svg.read_text()
    assert text.count(CAPTION) >= 2  # the SVG's title and the drawn caption
    plain = export_graphics(curves.graphics.ci, tmp_path / "plain.png")
    captioned = export_graphics(curves.graphics.ci, tmp_path / "captioned.png", CAPTION)
    a, b = QImage(str(plain)), QImage(str(captioned))
    assert a.width() == b.width() and b.height() > a.height()  # room for the caption line
    top = pixels(b)[: b.height() - a.height()]
    assert (top.sum(axis=2) < 200).sum() > 100  # the caption's text is drawn there


def test_export_refuses_what_it_cannot_write(curves, tmp_path):
    with pytest.raises(SnnStudioError, match=r"use \.svg or \.png"):
        export_graphics(curves.graphics.ci, tmp_path / "curves.gif")
    with pytest.raises(SnnStudioError, match="does not exist"):
        export_graphics(curves.graphics.ci, tmp_path / "missing" / "curves.svg")


def test_file_export_names_the_run_on_screen(window, qtbot, tmp_path, monkeypatch):
    set_small_demo(window, epochs=1, train=128, test=32)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=60_000)
    target = tmp_path / "run.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.export_plots_dialog()
    text = target.read_text()
    run = window.last_run_dir.name
    cfg = window.config()
    for part in (run, f"dataset {cfg.data.name}", "rule bptt", "PR 0.1", "target 0", "T 4"):
        assert part in text, part
