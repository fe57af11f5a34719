"""`snnstudio report`: tables pivoted on the axes, the paper beside ours, CSVs and PNGs."""

from __future__ import annotations

import csv
from pathlib import Path

from snnstudio.cli import main
from snnstudio.core.sweep.report import write_report
from snnstudio.core.sweep.results import SPEC_FILE, point_row, write_results
from snnstudio.core.sweep.spec import load_sweep_preset, loads_spec
from tests.core.sweep_specs import fake_sweep_dir, tiny_spec


def made_up(point) -> dict:  # type: ignore[no-untyped-def]
    asr = 0.5 + 0.02 * point.index
    return {"acc": 0.9 - 0.01 * point.index, "asr": asr, "ann_asr": 1.0, "mr": asr,
            "seconds": {"total": 12.0}}  # fmt: skip


def fake_sweep(out: Path, spec, failed: int | None = None) -> None:
    """A sweep directory as `snnstudio sweep` leaves it, with made-up metrics per point."""
    curve = "t,acc,asr\n1,0.1,0.2\n2,0.5,0.6\n3,0.8,0.9\n"
    fake_sweep_dir(out, spec, made_up, failed, curve)


def test_report_of_a_paper_preset_shows_the_paper_beside_ours(tmp_path: Path) -> None:
    spec = load_sweep_preset("paper-table3")
    fake_sweep(tmp_path / "sweep", spec, failed=4)
    assert main(["report", str(tmp_path / "sweep")]) == 0
    report = tmp_path / "sweep" / "report"
    text = (report / "report.md").read_text()
    # the paper's rule names, and the T each was scored at (the zipped sim.timesteps is LR_C's
    # training T only: it reads its curve at eval T 32)
    assert "## ASR % (columns: rule; scored at T: LR_B 4; LR_C MaxNorm 8; LR_H Com4 8)" in text
    assert "| trigger.position | LR_B | LR_C MaxNorm | LR_H Com4 |" in text
    # per cell, Table 3's own numbers: LR_H top-right is 83.37 (not "> 85")
    assert "| top-left | 50.0 (paper 97.43, Table 3) | 52.0 (paper 91.76, Table 3) |" in text
    top_right = "| top-right | 56.0 (paper 95.8, Table 3) | – (paper 91.05, Table 3) |"
    assert f"{top_right} 60.0 (paper 83.37, Table 3) |" in text  # point 4 failed
    assert "DatasetError: gone" in text
    assert "Scale: laptop. Data: digits (600 train / 200 test samples); model: csnn" in text
    with (report / "asr.csv").open(newline="") as file:
        rows = list(csv.reader(file))
    columns = ["LR_B", "LR_C MaxNorm", "LR_H Com4"]
    assert rows[0] == ["trigger.position", *columns, *(f"{c} std" for c in columns),
                       *(f"{c} (paper)" for c in columns)]  # fmt: skip
    assert rows[1] == ["top-left", "50.0", "52.0", "54.0", "", "", "", "97.43", "91.76", "86.79"]
    for png in ("by-trigger.position.png", "against-T.png"):
        assert (report / png).read_bytes()[:4] == b"\x89PNG", png
        assert f"]({png})" in text
    assert "## Claims" in text and "T3-position" in text


def test_report_of_one_numeric_axis_has_metric_columns_and_a_line_plot(tmp_path: Path) -> None:
    spec = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.05, 0.1]', top="repeats = 2"))
    fake_sweep(tmp_path / "sweep", spec)
    text = write_report(tmp_path / "sweep").read_text()
    assert "| poison.rate | n | T | ACC % | ASR % | MR % | ANN ASR % | ΔASR % (SNN − ANN) |" in text
    # mean ± std of 2 seeds (ASR 50 and 52 %)
    assert "| 0.05 | 2 | 4 | 89.5 ± 0.7 | 51.0 ± 1.4 | 51.0 ± 1.4 | 100.0 ± 0.0 |" in text
    assert "mean ± std over 2 seed(s)" in text
    assert "## Claims" not in text  # a sweep of one's own: no paper, no claims
    png = tmp_path / "sweep" / "report" / "against-poison.rate.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    header = (tmp_path / "sweep" / "report" / "table.csv").read_text().splitlines()[0]
    assert header.startswith("poison.rate,n,T,ACC %,ACC % std,ASR %,ASR % std,")
    assert "(paper)" not in header


def test_an_axis_of_one_value_gets_no_figure_of_its_own(tmp_path: Path) -> None:
    # one PR of a rule sweep (desk table2 at PR 0.1 alone): a line plot of one x value drew
    # the rules' markers on top of each other; the rules' bars say it all
    axes = '[grid]\n"poison.rate" = [0.1]\n"rule.norm" = ["max", "robust"]'
    spec = loads_spec(tiny_spec(axes))
    fake_sweep(tmp_path / "sweep", spec)
    report = tmp_path / "sweep" / "report"
    report.mkdir()
    (report / "against-poison.rate.png").write_bytes(b"an earlier report's figure")
    (report / "notes.png").write_bytes(b"the user's")
    text = write_report(tmp_path / "sweep").read_text()
    assert not (report / "against-poison.rate.png").exists()
    assert (report / "notes.png").read_bytes() == b"the user's"
    assert (report / "by-rule.norm.png").read_bytes()[:4] == b"\x89PNG"
    assert "](by-rule.norm.png)" in text and "against-poison.rate" not in text


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
    assert "## SSIM (columns: poison.rate; scored at T 4)" in text
    # shown as they are, not in %, mean ± std over the two seeds
    assert "| moving | 0.9982 ± 0.0000 | 0.9982 ± 0.0000 | 0.9982 ± 0.0000 |" in text
    assert "| dynamic | 0.0017 ± 0.0000 | 0.0017 ± 0.0000 | 0.0017 ± 0.0000 |" in text


def test_a_desk_sweep_labels_each_rule_by_its_name_alone(tmp_path: Path) -> None:
    """The desk scale zips each rule's epochs and T with it; the header states those per
    rule, so the rows read 'LR_C MaxNorm', not 'LR_C MaxNorm / 5 / 64' (an LR_C point trains
    no SNN epoch)."""
    spec = load_sweep_preset("paper-fig9", ["repeats=1"], "desk")
    assert "train.epochs" in spec.zipped and "sim.eval_timesteps" in spec.zipped
    fake_sweep(tmp_path / "sweep", spec)
    assert main(["report", str(tmp_path / "sweep")]) == 0
    text = (tmp_path / "sweep" / "report" / "report.md").read_text()
    assert "epochs: LR_B 5; LR_C MaxNorm ANN 3; LR_H Com4 ANN 3 + STDB 1" in text
    for label in ("LR_B", "LR_C MaxNorm", "LR_H Com4"):
        assert f"\n| {label} | 1 |" in text, label
    assert "/ 5" not in text and "| rule | n | T |" in text
