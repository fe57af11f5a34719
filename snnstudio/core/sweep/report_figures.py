"""PNG figures of a sweep report, drawn on matplotlib `Figure` objects with the Agg canvas
(no pyplot, no global backend: the GUI's worker thread can draw them too).

A numeric axis (PR, T) gives lines with error bars (std over seeds); a categorical one (rule,
trigger position, target class) gives grouped bars with error bars, and beside each backdoored
bar its clean twin's where the points trained one. Legends sit outside the plots and the
figure is saved to fit them; more than 10 lines take their colours from a 20-colour map and
vary their markers, so no two lines look alike.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from snnstudio.core.sweep.cells import Cell, Dimension

MAX_CURVES = 20  # more lines than this in one ACC/ASR-against-T plot are unreadable
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
CLEAN_OF = {"acc": "clean_acc", "asr": "clean_asr", "ann_acc": "clean_ann_acc"}  # clean twins
PAPER_LABEL = "× the paper's number"


@dataclass
class FigureData:
    """One axis to draw against, the others (one line or bar group per combination), the
    cells, how the report labels a cell's value on an axis, and the metrics."""

    dim: Dimension
    others: list[Dimension]
    cells: list[Cell]
    label: Callable[[Dimension, Cell], str]
    dim_name: Callable[[Dimension], str]
    metrics: list[tuple[str, str]]
    published: Callable[[Cell, str], float | None] = lambda cell, metric: None

    def paper_values(self, cells: list[Cell], metric: str) -> np.ndarray:
        """The paper's number (%) per cell, NaN where it gives none."""
        found = [self.published(c, metric) for c in cells]
        return np.array([np.nan if v is None else v for v in found], dtype=float)

    def groups(self) -> dict[str, list[Cell]]:
        out: dict[str, list[Cell]] = {}
        for cell in self.cells:
            out.setdefault(", ".join(self.label(o, cell) for o in self.others), []).append(cell)
        return out

    def legend_title(self) -> str:
        return " × ".join(self.dim_name(o) for o in self.others)


def style(index: int, count: int) -> dict[str, Any]:
    """Colour and marker of line `index` of `count`: distinct up to 20 lines."""
    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return {"color": cmap(index % cmap.N), "marker": MARKERS[(index // 10) % len(MARKERS)]}


def _canvas(width: float, height: float, columns: int) -> tuple[Figure, list[Any]]:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, columns, i + 1) for i in range(columns)]


def _saved(fig: Figure, path: Path, legend_title: str = "") -> str:
    """Save with one legend for the figure, right of the plots, never cut."""
    entries: dict[str, Any] = {}  # label -> handle, each label once, the paper's last
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    labels = sorted(entries, key=lambda label: label == PAPER_LABEL)
    handles = [entries[label] for label in labels]
    fig.tight_layout()
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7,
                   title=legend_title or None, title_fontsize=7, frameon=False)  # fmt: skip
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path.name


def _percent_axis(ax: Any, metric: str, title: str) -> None:
    ax.set_ylabel(title)
    if not metric.startswith("seconds."):
        ax.set_ylim(-3, 110 if metric == "mr" else 103)
    else:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)


def _values(cells: list[Cell], metric: str) -> tuple[np.ndarray, np.ndarray]:
    scale = 1.0 if metric.startswith("seconds.") else 100.0
    means = [c.mean(metric) for c in cells]
    stds = [c.std(metric) for c in cells]
    return (np.array([np.nan if m is None else scale * m for m in means]),
            np.array([np.nan if s is None else scale * s for s in stds]))  # fmt: skip


def lines_figure(path: Path, data: FigureData) -> str:
    """Each metric against the numeric axis, one line (mean ± std) per other combination."""
    fig, axes = _canvas(4.0 * len(data.metrics), 3.4, len(data.metrics))
    xs = [v[0] for v in data.dim.values]
    groups = data.groups()
    for ax, (metric, title) in zip(axes, data.metrics, strict=True):
        for i, (label, group) in enumerate(groups.items()):
            ys, errors = _values(group, metric)
            look = style(i, len(groups))
            ax.errorbar(xs, ys, yerr=errors, capsize=3, label=label or None, markersize=4,
                        **look)  # fmt: skip
            _paper_marks(ax, xs, data.paper_values(group, metric), look["color"])
        ax.set_xlabel(data.dim_name(data.dim))
        _percent_axis(ax, metric, title)
    return _saved(fig, path, data.legend_title())


def bars_figure(path: Path, data: FigureData) -> str:
    """Each metric over the categorical axis: a bar (mean, std as error bar) per other
    combination, and a hatched bar for its clean twin where one was trained."""
    fig, axes = _canvas(max(4.0, 1.2 * len(data.dim.values)) * len(data.metrics) / 1.4 + 1,
                        3.6, len(data.metrics))  # fmt: skip
    groups = data.groups()
    first = next(iter(groups.values()))
    ticks = [data.label(data.dim, c) for c in first]
    xs = np.arange(len(ticks))
    for ax, (metric, title) in zip(axes, data.metrics, strict=True):
        clean = CLEAN_OF.get(metric)
        has_clean = clean is not None and any(c.mean(clean) is not None for c in data.cells)
        bars = [(label, group, metric) for label, group in groups.items()]
        if has_clean:
            bars += [(f"{label}, clean twin".lstrip(", "), group, clean)
                     for label, group in groups.items()]  # fmt: skip
        width = 0.8 / len(bars)
        for i, (label, group, column) in enumerate(bars):
            ys, errors = _values(group, column)
            colour = style(i % len(groups), len(groups))["color"]
            twin = column != metric
            at = xs - 0.4 + width * (i + 0.5)
            ax.bar(at, ys, width, yerr=errors, capsize=2,
                   color=colour, alpha=0.45 if twin else 1.0, hatch="//" if twin else None,
                   label=label or "backdoored")  # fmt: skip
            _paper_marks(ax, at, data.paper_values(group, column), "black")
        ax.set_xticks(xs, ticks, rotation=25, ha="right", fontsize=8)
        ax.set_xlabel(data.dim_name(data.dim))
        _percent_axis(ax, metric, title)
    return _saved(fig, path, data.legend_title())


def _paper_marks(ax: Any, xs: Any, values: np.ndarray, colour: Any) -> None:
    """The paper's numbers as crosses over our points or bars (one legend entry)."""
    if np.isfinite(values).any():
        ax.plot(xs, values, linestyle="none", marker="x", markersize=7, markeredgewidth=2,
                color=colour, label=PAPER_LABEL)  # fmt: skip


def curves_figure(
    path: Path, rows: list[dict[str, str]], sweep_dir: Path, names: dict[str, str]
) -> str | None:
    """ACC and ASR against T from each completed point's curve.csv (None when none has one);
    `names` labels a point by its run_dir."""
    curves = []
    for row in rows:
        curve = sweep_dir / row.get("run_dir", "") / "curve.csv"
        if row.get("status") == "completed" and row.get("run_dir") and curve.is_file():
            curves.append((names.get(row["run_dir"], row["run_dir"]), _read_curve(curve)))
    if not curves:
        return None
    fig, (acc_ax, asr_ax) = _canvas(10, 3.6, 2)
    shown = curves[:MAX_CURVES]
    for i, (name, (t, acc, asr)) in enumerate(shown):
        look = {**style(i, len(shown)), "markersize": 2, "markevery": max(1, len(t) // 8)}
        acc_ax.plot(t, 100 * acc, label=name, **look)
        asr_ax.plot(t, 100 * asr, label=name, **look)
    for ax, title in ((acc_ax, "ACC"), (asr_ax, "ASR")):
        ax.set_xlabel("timesteps T (read out after t steps)")
        _percent_axis(ax, "acc", f"{title} %")
    if len(curves) > MAX_CURVES:
        acc_ax.set_title(f"first {MAX_CURVES} of {len(curves)} points")
    return _saved(fig, path)


def _read_curve(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as file:
        rows = [(int(r["t"]), float(r["acc"]), float(r["asr"])) for r in csv.DictReader(file)]
    data = np.array(rows, dtype=float).reshape(-1, 3)
    return data[:, 0], data[:, 1], data[:, 2]
