"""results.csv: one row per point (axes, seed, status, metrics.json's scalars, run_dir, error)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from snnstudio.core.atomic_files import write_text_atomic
from snnstudio.core.errors import ConfigError
from snnstudio.core.sweep.spec import SweepPoint

RESULTS_FILE = "results.csv"
SPEC_FILE = "sweep.toml"
RUNS_FOLDER = "runs"
ANN_TWINS_FOLDER = "ann-twins"  # the ANN twins the points share (core/rules/ann_cache.py)
STATUSES = ("completed", "failed", "cancelled")
# metrics first in this order (the paper's), then any other scalar in name order
LEADING_METRICS = (
    "acc", "asr", "clean_acc", "clean_asr", "ann_acc", "ann_asr", "mr",
    "delta_acc", "delta_ann_acc", "delta_asr", "asr_gain", "mse", "ssim",
)  # fmt: skip


def metric_scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    """Every scalar of metrics.json; nested tables flattened with dots (`seconds.total`)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if key == "status":
            continue  # the row has its own status
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in metric_scalars(value).items()})
        elif value is None or isinstance(value, int | float | str | bool):
            out[key] = value
    return out


def point_row(
    point: SweepPoint, status: str, metrics: dict[str, Any], run_dir: str, error: str = ""
) -> dict[str, Any]:
    return {
        **point.values, "seed": point.seed, "status": status, **metric_scalars(metrics),
        "run_dir": run_dir, "error": error,
    }  # fmt: skip


def columns(axes: list[str], rows: list[dict[str, Any]]) -> list[str]:
    """Axes, seed, status, the metrics (paper's first), run_dir, error."""
    fixed = [*axes, "seed", "status"]
    seen = {key for row in rows for key in row} - {*fixed, "run_dir", "error"}
    metrics = [m for m in LEADING_METRICS if m in seen]
    metrics += sorted(seen - set(metrics))
    return [*fixed, *metrics, "run_dir", "error"]


def write_results(path: Path, axes: list[str], rows: list[dict[str, Any]]) -> None:
    """Write results.csv whole, atomically (a reader never sees half a file)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(axes, rows), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    write_text_atomic(path, buffer.getvalue())


def read_results(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: is this a sweep directory?") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def sweep_status(sweep_dir: Path) -> str:
    """`3 of 4 points completed`: a sweep's state for a list of runs."""
    try:
        statuses = [row.get("status", "") for row in read_results(sweep_dir / RESULTS_FILE)]
    except ConfigError:
        return "no points finished yet"
    return f"{statuses.count('completed')} of {len(statuses)} points completed"
