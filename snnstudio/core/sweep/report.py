"""`snnstudio report DIR`: DIR/report/ with report.md, a CSV per table and PNG figures.

Tables pivot the sweep's dimensions (each [grid] axis is one, the [zip] axes together are
one): one dimension gives a row per value with ACC/ASR/MR columns; more give one table per
metric, rows over all dimensions but the last, columns over the last. Values are in %, the
mean over seeds. When the spec names a paper table, the published value stands beside ours.
"""

from __future__ import annotations

import csv
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.errors import ConfigError
from snnstudio.core.rundir import write_text_atomic
from snnstudio.core.sweep.cells import Cell, Dimension, cells_of, dimensions, norm
from snnstudio.core.sweep.report_figures import curves_figure, heatmap_figure, lines_figure
from snnstudio.core.sweep.results import (
    RESULTS_FILE,
    SPEC_FILE,
    STATUSES,
    read_results,
)
from snnstudio.core.sweep.spec import SweepSpec, loads_spec

REPORT_FOLDER = "report"
PAPER_RESULTS = config_io.PRESET_DATA_FILES[0]
METRICS = (  # (column of results.csv, title with its unit); shown when any point has it
    ("acc", "ACC %"),
    ("asr", "ASR %"),
    ("mr", "MR %"),
    ("converted_mr", "MR at conversion %"),
    ("ann_acc", "ANN ACC %"),
    ("ann_asr", "ANN ASR %"),
    ("clean_acc", "clean ACC %"),
    ("clean_asr", "clean ASR %"),
    ("delta_acc", "ΔACC %"),
    ("delta_asr", "ΔASR %"),
    ("delta_ann_acc", "ANN ΔACC %"),
    ("delta_ann_asr", "ANN ΔASR %"),
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


@dataclass
class Table:
    title: str
    slug: str
    header: list[str]
    text: list[list[str]]  # markdown cells
    csv_header: list[str]
    numbers: list[list[Any]]  # the CSV: ours, and the paper's in its own columns


def write_report(sweep_dir: str | Path) -> Path:
    """Write DIR/report/ from DIR/sweep.toml and DIR/results.csv; return report.md's path."""
    out = Path(sweep_dir)
    spec_file = out / SPEC_FILE
    if not spec_file.is_file():
        raise ConfigError(f"{out} holds no sweep ({SPEC_FILE} missing)")
    spec = loads_spec(spec_file.read_text(encoding="utf-8"), out)
    rows = read_results(out / RESULTS_FILE)
    folder = out / REPORT_FOLDER
    folder.mkdir(exist_ok=True)
    dims = dimensions(spec)
    cells = cells_of(dims, [r for r in rows if r.get("status") == "completed"])
    metrics = [(m, t) for m, t in METRICS if any(c.mean(m) is not None for c in cells)]
    paper = PaperTable.load(spec)
    tables = _tables(dims, cells, metrics, paper)
    tables += _mean_tables(dims, cells, metrics, paper)
    for table in tables:
        _write_csv(folder / f"{table.slug}.csv", table, with_paper=paper is not None)
    figures = _figures(folder, dims, cells, metrics, rows, out)
    text = _markdown(spec, rows, tables, figures, paper)
    write_text_atomic(folder / "report.md", text)
    return folder / "report.md"


# ---------------------------------------------------------------- the paper's values


@dataclass
class PaperTable:
    """The published numbers of one paper table (paper_results.toml), matched to our cells."""

    title: str
    source: str
    note: str
    entries: list[dict[str, Any]]
    fixed: dict[str, Any]  # the sweep's config values outside its dimensions

    @classmethod
    def load(cls, spec: SweepSpec) -> PaperTable | None:
        if not spec.paper:
            return None
        text = resources.files("snnstudio.core.presets").joinpath(PAPER_RESULTS).read_text("utf-8")
        data = tomllib.loads(text).get(spec.paper)
        if data is None:
            raise ConfigError(f"paper = '{spec.paper}' is not a table of {PAPER_RESULTS}")
        fixed = _flatten(config_io.to_dict(config_io.with_values(spec.base, spec.fixed)))
        return cls(data.get("title", spec.paper), data.get("source", ""), data.get("note", ""),
                   list(data.get("values", [])), fixed)  # fmt: skip

    def value(self, cell_values: dict[str, Any], metric: str, mean_over: str = "") -> str | None:
        """The published value for this metric at these settings, as the paper states it;
        with `mean_over`, its value averaged over that axis (an entry's `mean_over`)."""
        known = {**{k: norm(v) for k, v in self.fixed.items()},
                 **{k: norm(v) for k, v in cell_values.items()}}  # fmt: skip
        for entry in self.entries:
            if entry.get("metric") != metric or entry.get("mean_over", "") != mean_over:
                continue
            match = entry.get("match", {})
            if all(known.get(k) == norm(v) for k, v in match.items()):
                return str(entry["value"])
        return None

    def averaged_axes(self) -> list[str]:
        """The axes the paper states averages over (its entries' `mean_over`), in order."""
        found = [str(e["mean_over"]) for e in self.entries if e.get("mean_over")]
        return list(dict.fromkeys(found))


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# ---------------------------------------------------------------- tables


UNITLESS = ("mse", "ssim")  # the trigger's stealth (attack/stealth.py), shown as they are


def _scale(metric: str) -> float:
    """Fractions are shown in %, times in seconds, the stealth measures as they are."""
    return 1.0 if metric.startswith("seconds.") or metric in UNITLESS else 100.0


def _shown(value: float | None, metric: str) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.4f}" if metric in UNITLESS else f"{_scale(metric) * value:.1f}"


def _cell_text(cell: Cell, metric: str, paper: PaperTable | None) -> tuple[str, str | None]:
    ours = _shown(cell.mean(metric), metric)
    published = paper.value(cell.values, metric) if paper else None
    return (f"{ours} (paper {published})" if published else ours), published


def _tables(
    dims: list[Dimension], cells: list[Cell], metrics: list[tuple[str, str]],
    paper: PaperTable | None,
) -> list[Table]:  # fmt: skip
    if len(dims) <= 1:
        return [_metric_columns_table(dims, cells, metrics, paper)]
    return [_pivot_table(dims, cells, metric, title, paper) for metric, title in metrics]


def _metric_columns_table(
    dims: list[Dimension], cells: list[Cell], metrics: list[tuple[str, str]],
    paper: PaperTable | None,
) -> Table:  # fmt: skip
    first = dims[0].name if dims else "points"
    header = [first, "n", *(t for _, t in metrics)]
    csv_header = [first, "n"]
    for _, title in metrics:
        csv_header += [title, f"{title} (paper)"]
    text, numbers = [], []
    for cell in cells:
        label = dims[0].label(tuple(cell.values.values())) if dims else "all"
        row_text, row_numbers = [label, str(len(cell.rows))], [label, len(cell.rows)]
        for metric, _ in metrics:
            shown, published = _cell_text(cell, metric, paper)
            row_text.append(shown)
            row_numbers += [_number(cell.mean(metric), metric), published or ""]
        text.append(row_text)
        numbers.append(row_numbers)
    return Table("Results", "table", header, text, csv_header, numbers)


def _pivot_table(
    dims: list[Dimension], cells: list[Cell], metric: str, title: str, paper: PaperTable | None
) -> Table:
    rows_dims, column_dim = dims[:-1], dims[-1]
    column_labels = [column_dim.label(v) for v in column_dim.values]
    row_name = " × ".join(d.name for d in rows_dims)
    header = [row_name, *column_labels]
    csv_header = [row_name, *column_labels, *(f"{c} (paper)" for c in column_labels)]
    text, numbers = [], []
    per_row = len(column_dim.values)
    for start in range(0, len(cells), per_row):
        group = cells[start : start + per_row]
        label = ", ".join(d.label(tuple(group[0].values[k] for k in d.keys)) for d in rows_dims)
        shown = [_cell_text(c, metric, paper) for c in group]
        text.append([label, *(s for s, _ in shown)])
        numbers.append([label, *(_number(c.mean(metric), metric) for c in group),
                        *(p or "" for _, p in shown)])  # fmt: skip
    return Table(f"{title} (columns: {column_dim.name})", metric, header, text, csv_header, numbers)


def _mean_tables(
    dims: list[Dimension], cells: list[Cell], metrics: list[tuple[str, str]],
    paper: PaperTable | None,
) -> list[Table]:  # fmt: skip
    """Per axis the paper states averages over (Fig. 12's mean ASR drop over PR): every
    metric's mean over that axis's cells, one row per value of the other dimensions."""
    if paper is None:
        return []
    tables = []
    for axis in paper.averaged_axes():
        over = next((d for d in dims if d.keys == (axis,)), None)
        if over is None:
            continue
        others = [d for d in dims if d is not over]
        groups: dict[str, list[Cell]] = {}
        for cell in cells:
            label = ", ".join(d.label(tuple(cell.values[k] for k in d.keys)) for d in others)
            groups.setdefault(label or "all", []).append(cell)
        first = " × ".join(d.name for d in others) or "points"
        header, csv_header = [first, *(t for _, t in metrics)], [first]
        for _, title in metrics:
            csv_header += [title, f"{title} (paper)"]
        text, numbers = [], []
        for label, group in groups.items():
            row_text, row_numbers = [label], [label]
            known = {k: v for k, v in group[0].values.items() if k != axis}
            for metric, _ in metrics:
                means = [m for m in (c.mean(metric) for c in group) if m is not None]
                ours = sum(means) / len(means) if len(means) == len(group) else None
                published = paper.value(known, metric, mean_over=axis)
                shown = _shown(ours, metric)
                row_text.append(f"{shown} (paper {published})" if published else shown)
                row_numbers += [_number(ours, metric), published or ""]
            text.append(row_text)
            numbers.append(row_numbers)
        title = f"Mean over {axis} (the paper's averages)"
        tables.append(Table(title, f"mean-over-{axis}", header, text, csv_header, numbers))
    return tables


def _number(value: float | None, metric: str) -> Any:
    if value is None:
        return ""
    return round(value, 6) if metric in UNITLESS else round(_scale(metric) * value, 2)


def _write_csv(path: Path, table: Table, with_paper: bool) -> None:
    """Our numbers, and the paper's in the "(paper)" columns when the sweep has them."""
    keep = [i for i, name in enumerate(table.csv_header) if with_paper or "(paper)" not in name]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        for row in [table.csv_header, *table.numbers]:
            writer.writerow([row[i] for i in keep])


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------- figures and report.md


def _figures(
    folder: Path, dims: list[Dimension], cells: list[Cell], metrics: list[tuple[str, str]],
    rows: list[dict[str, str]], out: Path,
) -> list[str]:  # fmt: skip
    shown = [(m, t) for m, t in metrics if m in FIGURE_METRICS]
    figures = []
    for i, dim in enumerate(dims):
        if dim.numeric:
            others = dims[:i] + dims[i + 1 :]
            figures.append(
                lines_figure(folder / f"against-{dim.keys[0]}.png", dim, others, cells, shown)
            )
    categorical = [d for d in dims if not d.numeric]
    if len(categorical) == 2 and len(dims) == 2:
        figures.append(heatmap_figure(folder / "heatmap.png", categorical, cells, shown))
    elif len(dims) == 1 and not dims[0].numeric:
        figures.append(lines_figure(folder / "by-value.png", dims[0], [], cells, shown))
    curve = curves_figure(folder / "against-T.png", rows, out)
    if curve:
        figures.append(curve)
    return figures


def _markdown(
    spec: SweepSpec, rows: list[dict[str, str]], tables: list[Table], figures: list[str],
    paper: PaperTable | None,
) -> str:  # fmt: skip
    counts = {s: sum(r.get("status") == s for r in rows) for s in STATUSES}
    lines = [f"# Sweep {spec.name}", ""]
    lines.append(f"{len(rows)} points: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".")
    base = spec.base
    fixed = ", ".join(f"{k}={norm(v)}" for k, v in spec.fixed.items()) or "none"
    lines.append(f"Base: {base.data.name}, {base.model.arch}, {base.rule.name}; fixed: {fixed}.")
    if spec.job != "experiment":
        settings = ", ".join(f"{k}={norm(v)}" for k, v in spec.job_settings.items())
        lines.append(f"Job: {spec.job}" + (f" ({settings})." if settings else "."))
    lines.append(
        f"Values in %, mean over {spec.repeats} seed(s) per cell; '–' = no completed point."
    )
    if paper:
        lines += ["", f"Paper: {paper.title}. {paper.source}", ""]
        if paper.note:
            lines += [paper.note, ""]
    for table in tables:
        lines += ["", f"## {table.title}", "", *_markdown_table(table.header, table.text)]
    failed = [r for r in rows if r.get("status") == "failed"]
    if failed:
        lines += ["", "## Failed points", ""]
        lines += [f"- {r.get('run_dir') or '(no run dir)'}: {r.get('error', '')}" for r in failed]
    if figures:
        lines += ["", "## Figures", ""] + [f"![{name}]({name})" for name in figures]
    return "\n".join(lines) + "\n"
