"""`snnstudio report`: tables pivoted on the axes, the paper beside ours, CSVs and PNGs."""

from __future__ import annotations

import csv
from pathlib import Path

from snnstudio.cli import main
from snnstudio.core.sweep.engine import point_run_dir
from snnstudio.core.sweep.report import write_report
from snnstudio.core.sweep.results import SPEC_FILE, point_row, write_results
from snnstudio.core.sweep.spec import load_sweep_preset, loads_spec
from tests.core.sweep_specs import tiny_spec


def fake_sweep(out: Path, spec, failed: int | None = None) -> None:
    """A sweep directory as `snnstudio sweep` leaves it, with made-up metrics per point."""
    out.mkdir()
    (out / SPEC_FILE).write_text(spec.dumps())
    rows = []
    for point in spec.points():
        run = point_run_dir(out, point)
        run.mkdir(parents=True)
        if point.index == failed:
            rows.append(point_row(point, "failed", {}, f"runs/{run.name}", "DatasetError: gone"))
            continue
        asr = 0.5 + 0.02 * point.index
        metrics = {"acc": 0.9 - 0.01 * point.index, "asr": asr, "ann_asr": 1.0, "mr": asr}
        metrics["seconds"] = {"total": 12.0}
        rows.append(point_row(point, "completed", metrics, f"runs/{run.name}"))
        (run / "curve.csv").write_text("t,acc,asr\n1,0.1,0.2\n2,0.5,0.6\n3,0.8,0.9\n")
    write_results(out / "results.csv", spec.axes, rows)


def test_report_of_a_paper_preset_shows_the_paper_beside_ours(tmp_path: Path) -> None:
    spec = load_sweep_preset("paper-table3")
    fake_sweep(tmp_path / "sweep", spec, failed=4)
    assert main(["report", str(tmp_path / "sweep")]) == 0
    report = tmp_path / "sweep" / "report"
    text = (report / "report.md").read_text()
    assert "## ASR % (columns: rule.name / sim.timesteps)" in text
    assert "| trigger.position | bptt / 4 | conversion / 8 | hybrid / 8 |" in text
    # point 0 = top-left with bptt: ASR 50.0, the paper's "≈ 100" beside it
    assert "| top-left | 50.0 (paper ≈ 100) | 52.0 | 54.0 (paper > 85) |" in text
    assert "| top-right | 56.0 (paper ≈ 100) | – |" in text  # point 4 failed
    assert "DatasetError: gone" in text
    with (report / "asr.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    columns = ["bptt / 4", "conversion / 8", "hybrid / 8"]
    assert rows[0] == ["trigger.position", *columns, *(f"{c} (paper)" for c in columns)]
    assert rows[1] == ["top-left", "50.0", "52.0", "54.0", "≈ 100", "", "> 85"]
    for png in ("heatmap.png", "against-T.png"):
        assert (report / png).read_bytes()[:4] == b"\x89PNG", png
        assert f"]({png})" in text


def test_report_of_one_numeric_axis_has_metric_columns_and_a_line_plot(tmp_path: Path) -> None:
    spec = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.05, 0.1]', top="repeats = 2"))
    fake_sweep(tmp_path / "sweep", spec)
    text = write_report(tmp_path / "sweep").read_text()
    assert "| poison.rate | n | ACC % | ASR % | MR % | ANN ASR % | time s |" in text
    assert "| 0.05 | 2 | 89.5 | 51.0 | 51.0 | 100.0 | 12.0 |" in text  # mean of 2 seeds
    assert "mean over 2 seed(s)" in text
    png = tmp_path / "sweep" / "report" / "against-poison.rate.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    header = (tmp_path / "sweep" / "report" / "table.csv").read_text().splitlines()[0]
    assert header == "poison.rate,n,ACC %,ASR %,MR %,ANN ASR %,time s"  # no paper columns


def test_the_neuromorphic_preset_reports_stealth_beside_asr(tmp_path: Path) -> None:
    spec = load_sweep_preset("neuromorphic-triggers")
    points = spec.points()
    assert len(points) == 7 * 3 * 2  # every kind x PR 0.01 / 0.05 / 0.1 x 2 seeds
    assert {p.config.trigger.kind for p in points} >= {"moving", "smart", "dynamic", "flashy"}
    out = tmp_path / "sweep"
    out.mkdir()
    (out / SPEC_FILE).write_text(spec.dumps())
    rows = [point_row(p, "completed", {"acc": 0.9, "asr": 1.0, "mse": 0.00173, "ssim": 0.99821,
                                       "seconds": {"total": 1.0}}, f"runs/{p.name}")
            for p in points]  # fmt: skip
    write_results(out / "results.csv", spec.axes, rows)
    text = write_report(out).read_text()
    assert "## SSIM (columns: poison.rate)" in text
    assert "| moving | 0.9982 | 0.9982 | 0.9982 |" in text  # shown as they are, not in %
    assert "| dynamic | 0.0017 | 0.0017 | 0.0017 |" in text
