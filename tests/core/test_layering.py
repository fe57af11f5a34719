"""The package's layering (README, "Layout"): the core is Qt-free, config.py is a leaf (with
the schema), and no two modules of snnstudio import each other in a cycle (imports inside
functions count)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[2] / "snnstudio"
CORE = PACKAGE / "core"
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


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> nx.DiGraph:
    """Module -> the package's modules it imports anywhere in its file (function bodies too).

    `from a.b import c` counts as importing a.b.c when that is a module, else a.b; imports of
    a package's __init__ are left out (they re-export nothing here).
    """
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join([*here, base] if base else here)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and modules[target].name != "__init__.py":
                    graph.add_edge(name, target)
    return graph


def import_cycles(package: Path) -> list[list[str]]:
    """Each set of modules that import each other (directly or round a loop), sorted."""
    components = nx.strongly_connected_components(import_graph(package))
    return sorted(sorted(c) for c in components if len(c) > 1)


def test_no_import_cycle_in_the_package() -> None:
    assert len(import_graph(PACKAGE)) > 50
    assert import_cycles(PACKAGE) == []


def test_the_cycle_check_finds_a_cycle_through_a_function_body(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from pkg import a\n")
    assert import_cycles(package) == [["pkg.a", "pkg.c", "pkg.sub.b"]]


def test_config_imports_nothing_of_ours_but_the_errors_and_the_schema() -> None:
    graph = import_graph(PACKAGE)
    assert set(graph.successors("snnstudio.core.schema")) == {"snnstudio.core.errors"}
    assert set(graph.successors("snnstudio.core.config")) == {
        "snnstudio.core.errors",
        "snnstudio.core.schema",
    }
