"""PNG figures of a sweep report, drawn on matplotlib `Figure` objects with the Agg canvas
(no pyplot, no global backend: the GUI's worker thread can draw them too)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from snnstudio.core.sweep.cells import Cell, Dimension

MAX_CURVES = 12  # more lines than this in one ACC/ASR-against-T plot are unreadable


def _canvas(width: float, height: float, columns: int) -> tuple[Figure, list[Any]]:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, columns, i + 1) for i in range(columns)]


def _saved(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path.name


def lines_figure(
    path: Path, dim: Dimension, others: list[Dimension], cells: list[Cell],
    metrics: list[tuple[str, str]],
) -> str:  # fmt: skip
    """Each metric (%) against `dim`, one line per combination of the other dimensions."""
    fig, axes = _canvas(4.2 * len(metrics), 3.6, len(metrics))
    x_numeric = dim.numeric
    xs = [v[0] for v in dim.values] if x_numeric else list(range(len(dim.values)))
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        label = ", ".join(o.label(tuple(cell.values[k] for k in o.keys)) for o in others)
        groups.setdefault(label, []).append(cell)
    for ax, (metric, title) in zip(axes, metrics, strict=True):
        for label, group in groups.items():
            ys = [_percent(c.mean(metric)) for c in group]
            ax.plot(xs, ys, marker="o", label=label or None)
        ax.set_xlabel(dim.name)
        ax.set_ylabel(title)
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
        if not x_numeric:
            ax.set_xticks(xs, [dim.label(v) for v in dim.values], rotation=30, ha="right")
        if any(groups):
            ax.legend(fontsize=7, title=" × ".join(o.name for o in others), title_fontsize=7)
    return _saved(fig, path)


def heatmap_figure(
    path: Path, dims: list[Dimension], cells: list[Cell], metrics: list[tuple[str, str]]
) -> str:
    """A heat map per metric over two categorical dimensions (rows: the first)."""
    rows, columns = dims
    fig, axes = _canvas(4.4 * len(metrics), 3.8, len(metrics))
    for ax, (metric, title) in zip(axes, metrics, strict=True):
        grid = np.array([_percent(c.mean(metric)) for c in cells], dtype=float)
        grid = grid.reshape(len(rows.values), len(columns.values))
        image = ax.imshow(grid, vmin=0, vmax=100, cmap="viridis", aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                colour = "white" if value < 60 else "black"
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", color=colour, fontsize=8)
        ax.set_xticks(range(len(columns.values)), [columns.label(v) for v in columns.values],
                      rotation=30, ha="right")  # fmt: skip
        ax.set_yticks(range(len(rows.values)), [rows.label(v) for v in rows.values])
        ax.set_xlabel(columns.name)
        ax.set_ylabel(rows.name)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.046)
    return _saved(fig, path)


def curves_figure(path: Path, rows: list[dict[str, str]], sweep_dir: Path) -> str | None:
    """ACC and ASR against T from each completed point's curve.csv (None when none has one)."""
    curves = []
    for row in rows:
        curve = sweep_dir / row.get("run_dir", "") / "curve.csv"
        if row.get("status") == "completed" and row.get("run_dir") and curve.is_file():
            curves.append((Path(row["run_dir"]).name, _read_curve(curve)))
    if not curves:
        return None
    fig, (acc_ax, asr_ax) = _canvas(13, 3.8, 2)
    for name, (t, acc, asr) in curves[:MAX_CURVES]:
        acc_ax.plot(t, 100 * acc, label=name)
        asr_ax.plot(t, 100 * asr, label=name)
    for ax, title in ((acc_ax, "ACC"), (asr_ax, "ASR")):
        ax.set_xlabel("timesteps T")
        ax.set_ylabel(f"{title} %")
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    asr_ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5))
    if len(curves) > MAX_CURVES:
        acc_ax.set_title(f"first {MAX_CURVES} of {len(curves)} points")
    return _saved(fig, path)


def _read_curve(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as file:
        rows = [(int(r["t"]), float(r["acc"]), float(r["asr"])) for r in csv.DictReader(file)]
    data = np.array(rows, dtype=float).reshape(-1, 3)
    return data[:, 0], data[:, 1], data[:, 2]


def _percent(value: float | None) -> float:
    return float("nan") if value is None else 100 * value
