"""The core is Qt-free (DESIGN.md): no module under snnstudio/core imports a Qt library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "snnstudio" / "core"
QT_MODULES = {"PySide6", "pyqtgraph", "qasync", "superqt", "qtpy", "PyQt5", "PyQt6"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_module_imports_qt() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 10
    offenders = {str(f.relative_to(CORE)): imported_roots(f) & QT_MODULES for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_runner_and_cli_loads_no_qt() -> None:
    code = (
        "import sys, snnstudio.core.runner, snnstudio.cli;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(QT_MODULES)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
