"""`snnstudio report DIR`: DIR/report/ with report.md, a CSV per table and PNG figures.

Tables pivot the sweep's dimensions (each [grid] axis is one, the [zip] axes together are
one): one dimension gives a row per value with a column per metric; more give one table per
metric, rows over all dimensions but the last, columns over the last. Values are in %, the
mean ± std over seeds. Rules carry the paper's names (LR_B, LR_C MaxNorm, LR_H Com4), and
each table says the T its numbers were scored at. When the spec names a paper report, the
paper's published number stands beside ours in each cell it gives one for (read from the
transcription), and a claims section gives the verdict on each of the paper's findings the
sweep measures (`claims.py`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnstudio.core.atomic_files import write_text_atomic
from snnstudio.core.metrics import MIGRATION_KEYS
from snnstudio.core.sweep.cells import Cell, norm
from snnstudio.core.sweep.claims import claims_markdown, claims_of
from snnstudio.core.sweep.describe import markdown_table, rule_label, setting_lines
from snnstudio.core.sweep.report_figures import (
    FigureData,
    bars_figure,
    curves_figure,
    lines_figure,
)
from snnstudio.core.sweep.results import STATUSES
from snnstudio.core.sweep.view import SweepView, read_sweep

REPORT_FOLDER = "report"
METRICS = (  # (column of results.csv, title with its unit); shown when any point has it
    ("acc", "ACC %"),
    ("asr", "ASR %"),
    ("mr", "MR %"),
    ("converted_mr", "MR right after conversion %"),
    ("ann_acc", "ANN ACC %"),
    ("ann_asr", "ANN ASR %"),
    ("clean_acc", "clean ACC %"),
    ("clean_asr", "clean ASR %"),
    ("clean_ann_acc", "clean ANN ACC %"),
    ("delta_acc", "ΔACC % (backdoored − clean)"),
    ("delta_ann_acc", "ANN ΔACC % (backdoored − clean)"),
    ("delta_asr", "ΔASR % (SNN − ANN)"),
    ("acc_before", "ACC before elimination %"),
    ("asr_before", "ASR before elimination %"),
    ("acc_after", "ACC after elimination %"),
    ("asr_after", "ASR after elimination %"),
    ("asr_drop", "ASR drop %"),
    ("acc_gain", "ACC gain %"),
    ("mse", "MSE"),
    ("ssim", "SSIM"),
    ("seconds.total", "time s"),
)
FIGURE_METRICS = ("acc", "asr", "mr", "acc_after", "asr_after")  # drawn against each axis
TIME_METRIC = ("seconds.total", "time of the whole run s")
MR_NOTE = (
    "† MR above 100%: the SNN's ASR exceeds its ANN's. MR = SNN ASR / ANN ASR (Eq. 15) is "
    "not capped: the converted net sends to the target class some triggered samples its ANN "
    "got wrong, so a backdoor that migrates whole reads above 100% by sampling noise."
)


@dataclass
class Table:
    title: str
    slug: str
    header: list[str]
    text: list[list[str]]  # markdown cells
    csv_header: list[str]
    numbers: list[list[Any]]  # the CSV: ours (mean, std), and the paper's in its own columns


def write_report(sweep_dir: str | Path) -> Path:
    """Write DIR/report/ from DIR/sweep.toml and DIR/results.csv; return report.md's path."""
    out = Path(sweep_dir)
    view = read_sweep(out)
    folder = out / REPORT_FOLDER
    folder.mkdir(exist_ok=True)
    metrics = [(m, t) for m, t in METRICS if any(c.mean(m) is not None for c in view.cells)]
    tables = _tables(view, metrics) + _mean_tables(view, metrics)
    for table in tables:
        _write_csv(folder / f"{table.slug}.csv", table, with_paper=view.paper is not None)
    figures = _figures(folder, view, metrics, out)
    for drawn_before in [*folder.glob("against-*.png"), *folder.glob("by-*.png")]:
        if drawn_before.name not in figures:  # an earlier report's, that this one does not draw
            drawn_before.unlink()
    lines = _markdown(view, tables, figures)
    if view.paper is not None and view.paper.is_reproduced_paper:  # its claims, not another's
        lines += ["", "## Claims", "", *claims_markdown(claims_of([(out, view)]))]
    write_text_atomic(folder / "report.md", "\n".join(lines) + "\n")
    return folder / "report.md"


# ---------------------------------------------------------------- tables


UNITLESS = ("mse", "ssim")  # the trigger's stealth (attack/stealth.py), shown as they are


def _scale(metric: str) -> float:
    """Fractions are shown in %, times in seconds, the stealth measures as they are."""
    return 1.0 if metric.startswith("seconds.") or metric in UNITLESS else 100.0


def shown(cell: Cell, metric: str) -> str:
    """mean ± std (over seeds): fractions in %, the stealth measures as they are; '–' when no
    point has the metric; † marks MR > 100%."""
    mean, std = cell.mean(metric), cell.std(metric)
    if mean is None or math.isnan(mean):
        return "–"
    scale, digits = _scale(metric), 4 if metric in UNITLESS else 1
    text = f"{scale * mean:.{digits}f}"
    if std is not None:
        text += f" ± {scale * std:.{digits}f}"
    return text + (" †" if metric in MIGRATION_KEYS and mean > 1.0 else "")


def _cell_text(view: SweepView, cell: Cell, metric: str) -> tuple[str, str]:
    ours = shown(cell, metric)
    published = view.paper.value(view.known[view.cells.index(cell)], metric) if view.paper else None
    if published is None:
        return ours, ""
    return f"{ours} ({published.text()})", str(published.value)


def _scored_at(view: SweepView, cells: list[Cell]) -> str:
    """'scored at T: LR_B 4, LR_C MaxNorm 32' over these cells' points."""
    found: dict[str, set[int]] = {}
    for cell in cells:
        label = rule_label(view.known[view.cells.index(cell)])
        found.setdefault(label, set()).update(int(r["scored_t"]) for r in cell.rows)
    parts = [f"{k} {', '.join(map(str, sorted(v)))}" for k, v in found.items() if v]
    if len({frozenset(v) for v in found.values() if v}) == 1:  # one T for every rule
        return "scored at T " + ", ".join(map(str, sorted(next(iter(found.values())))))
    return "scored at T: " + "; ".join(parts) if parts else ""


def _tables(view: SweepView, metrics: list[tuple[str, str]]) -> list[Table]:
    if len(view.dims) <= 1 or not view.dims[-1].varies:
        return [_metric_columns_table(view, metrics)]
    return [_pivot_table(view, metric, title) for metric, title in metrics]


def _metric_columns_table(view: SweepView, metrics: list[tuple[str, str]]) -> Table:
    first = " × ".join(view.dim_name(d) for d in view.dims) or "points"
    header = [first, "n", "T", *(t for _, t in metrics)]
    csv_header = [first, "n", "T"]
    for _, title in metrics:
        csv_header += [title, f"{title} std", f"{title} (paper)"]
    text, numbers = [], []
    for cell in view.cells:
        label = ", ".join(view.label(d, cell) for d in view.dims) or "all"
        t = ", ".join(str(v) for v in sorted({int(r["scored_t"]) for r in cell.rows}))
        row_text, row_numbers = [label, str(len(cell.rows)), t], [label, len(cell.rows), t]
        for metric, _ in metrics:
            cell_text, published = _cell_text(view, cell, metric)
            row_text.append(cell_text)
            row_numbers += [*_numbers(cell, metric), published]
        text.append(row_text)
        numbers.append(row_numbers)
    return Table(f"Results ({_scored_at(view, view.cells)})", "table", header, text, csv_header,
                 numbers)  # fmt: skip


def _pivot_table(view: SweepView, metric: str, title: str) -> Table:
    rows_dims, column_dim = view.dims[:-1], view.dims[-1]
    per_row = len(column_dim.values)
    column_labels = [view.label(column_dim, c) for c in view.cells[:per_row]]
    row_name = " × ".join(view.dim_name(d) for d in rows_dims)
    header = [row_name, *column_labels]
    csv_header = [row_name, *column_labels, *(f"{c} std" for c in column_labels),
                  *(f"{c} (paper)" for c in column_labels)]  # fmt: skip
    text, numbers = [], []
    for start in range(0, len(view.cells), per_row):
        group = view.cells[start : start + per_row]
        label = ", ".join(view.label(d, group[0]) for d in rows_dims)
        cells = [_cell_text(view, c, metric) for c in group]
        text.append([label, *(s for s, _ in cells)])
        means_stds = [_numbers(c, metric) for c in group]
        numbers.append([label, *(m for m, _ in means_stds), *(s for _, s in means_stds),
                        *(p for _, p in cells)])  # fmt: skip
    scored = _scored_at(view, view.cells)
    name = f"{title} (columns: {view.dim_name(column_dim)}; {scored})"
    return Table(name, metric, header, text, csv_header, numbers)


def _mean_tables(view: SweepView, metrics: list[tuple[str, str]]) -> list[Table]:
    """Per axis the paper states averages over (Fig. 12's mean ASR drop over PR): every
    metric's mean over that axis's cells, one row per value of the other dimensions."""
    if view.paper is None:
        return []
    tables = []
    for axis in view.paper.averaged_axes():
        over = next((d for d in view.dims if d.keys == (axis,)), None)
        if over is None:
            continue
        others = [d for d in view.dims if d is not over]
        groups: dict[str, list[Cell]] = {}
        for cell in view.cells:
            label = ", ".join(view.label(d, cell) for d in others)
            groups.setdefault(label or "all", []).append(cell)
        first = " × ".join(view.dim_name(d) for d in others) or "points"
        header, csv_header = [first, *(t for _, t in metrics)], [first]
        for _, title in metrics:
            csv_header += [title, f"{title} (paper)"]
        text, numbers = [], []
        for label, group in groups.items():
            row_text, row_numbers = [label], [label]
            known = view.known[view.cells.index(group[0])]
            for metric, _ in metrics:
                means = [m for m in (c.mean(metric) for c in group) if m is not None]
                ours = sum(means) / len(means) if len(means) == len(group) else None
                published = view.paper.value(known, metric, mean_over=axis)
                ours_text = "–" if ours is None else f"{_scale(metric) * ours:.1f}"
                row_text.append(f"{ours_text} ({published.text()})" if published else ours_text)
                row_numbers += [_number(ours, metric), published.value if published else ""]
            text.append(row_text)
            numbers.append(row_numbers)
        title = f"Mean over {axis} (the paper's averages)"
        tables.append(Table(title, f"mean-over-{axis}", header, text, csv_header, numbers))
    return tables


def _number(value: float | None, metric: str) -> Any:
    if value is None:
        return ""
    return round(value, 6) if metric in UNITLESS else round(_scale(metric) * value, 2)


def _numbers(cell: Cell, metric: str) -> tuple[Any, Any]:
    return _number(cell.mean(metric), metric), _number(cell.std(metric), metric)


def _write_csv(path: Path, table: Table, with_paper: bool) -> None:
    """Our numbers, and the paper's in the "(paper)" columns when the sweep has them."""
    keep = [i for i, name in enumerate(table.csv_header) if with_paper or "(paper)" not in name]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        for row in [table.csv_header, *table.numbers]:
            writer.writerow([row[i] for i in keep])


# ---------------------------------------------------------------- figures and report.md


def _figures(folder: Path, view: SweepView, metrics: list[tuple[str, str]], out: Path) -> list[str]:
    shown_metrics = [(m, t) for m, t in metrics if m in FIGURE_METRICS]
    if view.spec.paper == "fig10":
        shown_metrics = [*shown_metrics, TIME_METRIC]
    if view.spec.paper == "table1":  # ANN beside SNN, each beside its clean twin
        shown_metrics = [(m, t) for m, t in metrics if m in ("acc", "ann_acc", "asr", "ann_asr")]
    figures = []
    for i, dim in enumerate(view.dims):
        if not dim.varies:
            continue
        others = view.dims[:i] + view.dims[i + 1 :]
        data = FigureData(dim, others, view.cells, view.label, view.dim_name, shown_metrics,
                          lambda cell, metric: _published(view, cell, metric))  # fmt: skip
        if dim.numeric:
            figures.append(lines_figure(folder / f"against-{dim.keys[0]}.png", data))
        elif all(d.numeric or not d.varies for d in view.dims[:i]):
            name = "by-rule" if "rule.name" in dim.keys else f"by-{dim.keys[0]}"
            figures.append(bars_figure(folder / f"{name}.png", data))
    names = {r["run_dir"]: _point_label(view, r) for r in view.rows if r.get("run_dir")}
    curve = curves_figure(folder / "against-T.png", view.rows, out, names)
    if curve:
        figures.append(curve)
    return figures


def _published(view: SweepView, cell: Cell, metric: str) -> float | None:
    """The paper's number for a cell as a float in % (None where it gives none)."""
    if view.paper is None:
        return None
    found = view.paper.value(view.known[view.cells.index(cell)], metric)
    return float(found.value) if found is not None else None


def _point_label(view: SweepView, row: dict[str, Any]) -> str:
    cell = next((c for c in view.cells if row in c.rows), None)
    if cell is None:
        return Path(row.get("run_dir", "")).name
    parts = [view.label(d, cell) for d in view.dims]
    return ", ".join([*parts, f"seed {row.get('seed', '')}"])


def _markdown(view: SweepView, tables: list[Table], figures: list[str]) -> list[str]:
    spec, rows = view.spec, view.rows
    counts = {s: sum(r.get("status") == s for r in rows) for s in STATUSES}
    lines = [f"# Sweep {spec.name}", ""]
    lines.append(f"{len(rows)} points: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".")
    lines += ["", *setting_lines(spec)]
    if spec.job != "experiment":
        settings = ", ".join(f"{k}={norm(v)}" for k, v in spec.job_settings.items())
        lines.append(f"Job: {spec.job}" + (f" ({settings})." if settings else "."))
    lines.append(
        f"Values in %, mean ± std over {spec.repeats} seed(s) per cell (no ± with one seed); "
        "'–' = no completed point. ΔACC = backdoored − clean ACC and ΔASR = SNN ASR − ANN ASR "
        "(the paper's Table 1); MR = SNN ASR / ANN ASR (its Eq. 15); LR_H's MR is its final "
        "SNN's, 'MR right after conversion' the converted net's before STDB."
    )
    if view.paper:
        lines += ["", f"Paper: {view.paper.title}. {view.paper.setting}",
                  "'(paper X, Table N)' is the paper's number for that cell as printed; "
                  "'(paper X, Cnn)' a number its text states (claim Cnn; '~X': 'around X')."
                  ]  # fmt: skip
    if any("†" in cell for table in tables for row in table.text for cell in row):
        lines += ["", MR_NOTE]
    for table in tables:
        lines += ["", f"## {table.title}", "", *markdown_table(table.header, table.text)]
    failed = [r for r in rows if r.get("status") == "failed"]
    if failed:
        lines += ["", "## Failed points", ""]
        lines += [f"- {r.get('run_dir') or '(no run dir)'}: {r.get('error', '')}" for r in failed]
    if figures:
        lines += ["", "## Figures", ""] + [f"![{name}]({name})" for name in figures]
    return lines
