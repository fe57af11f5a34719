"""PNG figures of a detection report, drawn with matplotlib's Agg canvas (no display).

`matplotlib.figure.Figure` objects are used directly, not pyplot: no global backend is
switched and nothing is shared between threads, so the GUI's worker thread can draw them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from snnstudio.core.atomic_files import atomic_path
from snnstudio.core.defense.max_margin import MaxMarginResult
from snnstudio.core.defense.model_comparison import LayerComparison


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, list]:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, columns, i + 1) for i in range(columns)]
    return fig, axes


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110)
    return path.name


def sample_scores_figure(summary: dict[str, Any], title: str, path: Path) -> str:
    """Score histograms of clean and triggered inputs (each as a density) and the ROC curve,
    drawn from the sample-level summary's points: the ones the GUI draws and report.json
    holds (`detection._roc_and_histogram`), not computed a second time."""
    fig, (hist, roc) = _figure(9, 3.6, 2)
    edges = np.asarray(summary["histogram_edges"], dtype=float)
    for key, label in (("histogram_clean", "clean"), ("histogram_triggered", "triggered")):
        counts = np.asarray(summary[key], dtype=float)
        if counts.sum() > 0:
            density = counts / (counts.sum() * np.diff(edges))
            hist.stairs(density, edges, fill=True, alpha=0.6, label=label)
    hist.set_xlabel("score")
    hist.set_ylabel("density")
    hist.legend()
    hist.set_title(title)
    if summary["clean_inputs"] and summary["triggered_inputs"]:
        roc.plot(summary["roc_fpr"], summary["roc_tpr"])
    roc.plot([0, 1], [0, 1], "k--", linewidth=0.8)
    roc.set_xlabel("false positive rate")
    roc.set_ylabel("true positive rate")
    roc.set_title("ROC")
    return _save(fig, path)


def max_margin_figure(result: MaxMarginResult, title: str, path: Path) -> str:
    """Bar chart of the per-class maximum margins, the suspect class highlighted."""
    fig, (ax,) = _figure(6, 3.4)
    colours = ["tab:gray"] * len(result.margins)
    colours[result.suspect_class] = "tab:red" if result.flagged else "tab:orange"
    ax.bar(np.arange(len(result.margins)), result.margins, color=colours)
    ax.set_xticks(np.arange(len(result.margins)))
    ax.set_xlabel("class")
    ax.set_ylabel("max margin of output voltage")
    verdict = "flagged" if result.flagged else "not flagged"
    ax.set_title(f"{title}: {verdict} (p = {result.p_value:.2g})")
    return _save(fig, path)


def model_comparison_figure(comparisons: list[LayerComparison], path: Path) -> str:
    """Trigger effect per layer for both models, and the last layer's per-neuron rate shift."""
    fig, (effects, neurons) = _figure(10, 3.6, 2)
    x = np.arange(len(comparisons))
    width = 0.2
    for i, (model, feature) in enumerate(
        [("suspect", "spikes"), ("reference", "spikes"), ("suspect", "voltage"),
         ("reference", "voltage")]
    ):  # fmt: skip
        values = [
            (c.effect_suspect if model == "suspect" else c.effect_reference)[feature]
            for c in comparisons
        ]
        effects.bar(x + (i - 1.5) * width, values, width, label=f"{model} {feature}")
    effects.set_xticks(x, [c.layer for c in comparisons], rotation=30)
    effects.set_ylabel("trigger effect (RMS Cohen's d)")
    effects.legend(fontsize=7)
    last = comparisons[-1]
    order = np.argsort(last.rate_diff_triggered)
    neurons.plot(last.rate_diff_triggered[order], label="triggered inputs")
    neurons.plot(last.rate_diff_clean[order], label="clean inputs", alpha=0.7)
    neurons.axhline(0.0, color="k", linewidth=0.6)
    neurons.set_xlabel(f"neuron of {last.layer} (sorted)")
    neurons.set_ylabel("firing rate suspect - reference")
    neurons.legend(fontsize=7)
    return _save(fig, path)
