"""A sweep read back for its report and its claims: the spec, the rows of results.csv (with the
paper's Table 1 differences and the T each point was scored at), its dimensions and cells,
and the paper's names for the values on its axes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.errors import ConfigError
from snnstudio.core.sweep.cells import Cell, Dimension, cells_of, dimensions, norm
from snnstudio.core.sweep.describe import (
    NORM_NAMES,
    RULE_NAMES,
    flat,
    rule_label,
    scale_text,
    scored_timesteps,
)
from snnstudio.core.sweep.paper_values import PaperValues
from snnstudio.core.sweep.results import RESULTS_FILE, SPEC_FILE, read_results
from snnstudio.core.sweep.spec import SweepSpec, load_written_spec

DERIVED = {  # the paper's Table 1 differences, recomputed from each row's own columns
    "delta_acc": ("acc", "clean_acc"), "delta_ann_acc": ("ann_acc", "clean_ann_acc"),
    "delta_asr": ("asr", "ann_asr"),
}  # fmt: skip


@dataclass
class SweepView:
    """A sweep read back: its spec, rows, dimensions and cells (each with its full config)."""

    spec: SweepSpec
    rows: list[dict[str, Any]]
    dims: list[Dimension]
    cells: list[Cell]
    known: list[dict[str, Any]]  # per cell: every config key of its points (dotted)
    paper: PaperValues | None

    def label(self, dim: Dimension, cell: Cell) -> str:
        """A dimension's value in a cell, in the paper's words: a rule axis (the rule, or its
        norm with its scale) by the rule's name (LR_C Spike-Norm 1/2), a norm or scale alone by
        its name or fraction; with the rule, sim.timesteps (a training T) is left to the
        table's 'scored at T' line."""
        values = [cell.values[k] for k in dim.keys]
        if not _is_rule_axis(dim):
            return " / ".join(value_text(k, v) for k, v in zip(dim.keys, values, strict=True))
        known = self.known[self.cells.index(cell)]
        others = [norm(v) for k, v in zip(dim.keys, values, strict=True) if _beside_rule(k)]
        return " / ".join([rule_label(known), *others])

    def dim_name(self, dim: Dimension) -> str:
        if not _is_rule_axis(dim):
            return dim.name
        return " / ".join(["rule", *(k for k in dim.keys if _beside_rule(k))])


# With the rule, the header states each rule's epochs ('epochs: LR_B 5; LR_C MaxNorm ANN 3')
# and the table the T it was scored at: a desk or paper scale zips these per rule, and as
# labels they misread ('LR_C MaxNorm / 5' for an LR_C point that trains no SNN epoch).
STATED_PER_RULE = ("sim.timesteps", "sim.eval_timesteps", "train.epochs")


def _beside_rule(key: str) -> bool:
    """Whether a key zipped with the rule is shown beside the rule's name in its label."""
    return not key.startswith("rule.") and key not in STATED_PER_RULE


def _is_rule_axis(dim: Dimension) -> bool:
    """An axis that says which rule (or which conversion) a cell ran."""
    return "rule.name" in dim.keys or {"rule.norm", "rule.scale"} <= set(dim.keys)


def value_text(key: str, value: Any) -> str:
    """An axis value as the paper names it (MaxNorm, 1/2, Com3), else as results.csv has it."""
    if key == "rule.norm":
        return NORM_NAMES.get(str(value), str(value))
    if key == "rule.scale":
        return scale_text(float(value))
    if key == "rule.combo":
        return str(value).capitalize()
    if key == "rule.name":
        return RULE_NAMES.get(str(value), str(value))
    return norm(value)


def read_sweep(sweep_dir: str | Path) -> SweepView:
    """Read DIR/sweep.toml and DIR/results.csv; the completed rows gain the paper's deltas
    and the T they were scored at (`scored_t`)."""
    out = Path(sweep_dir)
    spec_file = out / SPEC_FILE
    if not spec_file.is_file():
        raise ConfigError(f"{out} holds no sweep ({SPEC_FILE} missing)")
    spec = load_written_spec(spec_file)
    rows = read_results(out / RESULTS_FILE)
    dims = dimensions(spec)
    base = config_io.with_values(spec.base, spec.fixed)
    completed = [r for r in rows if r.get("status") == "completed"]
    for row in completed:
        known = flat(config_io.with_values(base, {k: row_value(row, k, base) for k in spec.axes}))
        row["scored_t"] = scored_timesteps(row, known)
        for name, (first, second) in DERIVED.items():
            a, b = row.get(first), row.get(second)
            row[name] = float(a) - float(b) if a not in (None, "") and b not in (None, "") else ""
    cells = cells_of(dims, completed)
    known = [flat(config_io.with_values(base, cell.values)) for cell in cells]
    return SweepView(spec, rows, dims, cells, known, PaperValues.load(spec.paper))


def row_value(row: dict[str, Any], key: str, base: config_io.ExperimentConfig) -> Any:
    """A results.csv text value typed like the config field it is."""
    text = row.get(key, "")
    kind = type(flat(base)[key])
    if kind is bool:
        return text.lower() == "true"
    return kind(float(text)) if kind in (int, float) else text
