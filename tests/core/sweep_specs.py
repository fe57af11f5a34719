"""Tiny sweep specs, fake sweep folders and the claims-table reader the sweep tests share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from snnstudio.core.sweep.claims import write_claims
from snnstudio.core.sweep.engine import point_run_dir
from snnstudio.core.sweep.results import SPEC_FILE, point_row, write_results
from snnstudio.core.sweep.spec import SweepPoint, SweepSpec, load_sweep_preset

TINY_SET = """
[set]
"data.train_limit" = 300
"data.test_limit" = 60
"train.epochs" = 2
"train.batch_size" = 16
"train.lr" = 0.01
"sim.timesteps" = 4
"train.clean_twin" = false
"""


def tiny_spec(axes: str, name: str = "tiny", top: str = "") -> str:
    """The demo on a sliver of digits with the given axis tables appended (`top`: top-level
    keys such as repeats)."""
    return f'base = "demo"\nname = "{name}"\n{top}\n{TINY_SET}\n{axes}\n'


def fake_sweep_dir(
    out: Path, spec: SweepSpec, metrics_of: Callable[[SweepPoint], dict],
    failed: int | None = None, curve: str = "",
) -> None:  # fmt: skip
    """A sweep directory as `snnstudio sweep` leaves it: each point's run folder, `curve`
    as its curve.csv when given, and results.csv with `metrics_of(point)` (point `failed`
    recorded as failed)."""
    out.mkdir()
    (out / SPEC_FILE).write_text(spec.dumps())
    rows = []
    for point in spec.points():
        run = point_run_dir(out, point)
        run.mkdir(parents=True)
        if point.index == failed:
            rows.append(point_row(point, "failed", {}, f"runs/{run.name}", "DatasetError: gone"))
            continue
        rows.append(point_row(point, "completed", metrics_of(point), f"runs/{run.name}"))
        if curve:
            (run / "curve.csv").write_text(curve)
    write_results(out / "results.csv", spec.axes, rows)


def fig12_metrics(point: SweepPoint) -> dict:
    """Made-up paper-fig12 metrics: ASR before 90 + index %, after 50 % (VGG11) or 80 %
    (ResNet18); ACC 80 % before, 85 % after."""
    before = 0.9 + 0.01 * point.index
    after = 0.5 if point.config.model.arch == "vgg11" else 0.8
    return {"acc": 0.8, "asr": before, "acc_before": 0.8, "asr_before": before,
            "acc_after": 0.85, "asr_after": after, "asr_drop": before - after,
            "acc_gain": 0.05, "seconds": {"total": 3.0}}  # fmt: skip


def fake_fig12_sweep(out: Path) -> SweepSpec:
    """The paper-fig12 preset's sweep directory with `fig12_metrics`."""
    spec = load_sweep_preset("paper-fig12")
    fake_sweep_dir(out, spec, fig12_metrics)
    return spec


def claim_rows_of(text: str) -> dict[str, str]:
    """Each claim's first row in a claims table's Markdown, by its id."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("| "):
            rows.setdefault(line.split(" | ")[0][2:], line)
    return rows


def claim_rows(folders: list[Path], tmp_path: Path) -> dict[str, str]:
    """Each claim's first row of `report --claims` over the sweep folders, by its id."""
    return claim_rows_of(write_claims(folders, tmp_path / "claims.md").read_text())
