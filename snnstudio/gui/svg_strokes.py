"""Make Qt's SVG strokes render alike in every viewer.

QSvgGenerator writes a curve as its data coordinates inside a group that scales them to the
page (`transform="matrix(215,0,0,-253,...)"`) and marks the path
`vector-effect="non-scaling-stroke"` so that its 2-pixel pen stays 2 pixels. Browsers honour
that; librsvg before 2.57 (rsvg-convert, ImageMagick, GNOME) ignores it and scales the pen
too: a 2-pixel line became a band hundreds of pixels wide, painted over the plot.
`flatten_scaled_paths` moves each such group's scaling into the coordinates of its paths
and polylines, so the group's transform is the identity and no viewer has a stroke to scale.
(pyqtgraph's own SVGExporter did the same, in its `correctCoordinates`; it no longer works
with Qt 6.12, see exporting.py.)
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
IDENTITY = "matrix(1,0,0,1,0,0)"
_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_PATH_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ABSOLUTE = set("MLCZ")  # what QSvgGenerator writes; anything else is left alone

Matrix = tuple[float, float, float, float, float, float]


def flatten_scaled_paths(path: str | Path) -> None:
    """Rewrite the SVG file at `path` with every scaled group of paths flattened."""
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", XLINK)
    tree = ET.parse(path)
    changed = False
    for group in tree.iter(f"{{{SVG}}}g"):
        matrix = _scaling_matrix(group.get("transform", ""))
        children = list(group)
        if matrix is None or not children:
            continue
        moved = [_moved(child, matrix) for child in children]
        if any(m is None for m in moved):
            continue  # text, images or path commands we do not rewrite: keep the group
        for child, (name, value) in zip(children, moved, strict=True):  # type: ignore[misc]
            child.set(name, value)
        group.set("transform", IDENTITY)
        changed = True
    if changed:
        tree.write(path, encoding="UTF-8", xml_declaration=True)


def _scaling_matrix(transform: str) -> Matrix | None:
    """The group's matrix when it scales, shears or flips (None for a plain translation)."""
    found = _MATRIX.match(transform)
    if not found:
        return None
    try:
        a, b, c, d, e, f = (float(v) for v in found.group(1).replace(",", " ").split())
    except ValueError:
        return None
    return None if (a, b, c, d) == (1.0, 0.0, 0.0, 1.0) else (a, b, c, d, e, f)


def _points(numbers: list[float], m: Matrix) -> list[str] | None:
    """Pairs of numbers (x, y) mapped by `m`, as 'x,y' texts; None for an odd count."""
    if len(numbers) % 2:
        return None
    a, b, c, d, e, f = m
    pairs = zip(numbers[::2], numbers[1::2], strict=True)
    return [f"{a * x + c * y + e:.6g},{b * x + d * y + f:.6g}" for x, y in pairs]


def _moved(element: ET.Element, m: Matrix) -> tuple[str, str] | None:
    """(attribute, value) of `element` with its coordinates mapped by `m`, or None."""
    if element.tag == f"{{{SVG}}}polyline":
        points = _points([float(v) for v in element.get("points", "").replace(",", " ").split()], m)
        return None if points is None else ("points", " ".join(points))
    if element.tag != f"{{{SVG}}}path":
        return None
    out: list[str] = []
    numbers: list[float] = []
    for token in [*_PATH_TOKEN.findall(element.get("d", "")), "Z"]:  # Z: flush the last pairs
        if not token.isalpha():
            numbers.append(float(token))
            continue
        points = _points(numbers, m)
        if token not in _ABSOLUTE or points is None:
            return None
        out += [*points, token]
        numbers = []
    return "d", " ".join(out[:-1])  # without the sentinel Z
