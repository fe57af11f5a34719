"""Sneaky Spikes' published N-MNIST numbers beside the neuromorphic-triggers report: its
transcription (Tables I and II, two text claims) is self-consistent, each number stands only
beside the cells of its own setting, and the report of another paper has no claims section
(the claims are those of the paper snnstudio reproduces)."""

from __future__ import annotations

import re
from pathlib import Path

from snnstudio.core import paper
from snnstudio.core.sweep.paper_values import PaperValues
from snnstudio.core.sweep.report import write_report
from snnstudio.core.sweep.results import SPEC_FILE, point_row, write_results
from snnstudio.core.sweep.spec import load_sweep_preset

SOURCE = paper.SNEAKY_SPIKES


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)]


def test_every_transcribed_row_is_its_printed_line() -> None:
    for table in ("table_i", "table_ii"):
        columns = paper.transcription(SOURCE)[table]["columns"]
        rows = paper.table_rows(table, SOURCE)
        assert len(rows) == 4, table  # N-MNIST, CIFAR10-DVS, DVS128-Gesture, N-Caltech101
        for row in rows:
            values = [float(row[c]) for c in columns[1:]]
            assert numbers(row["printed"].removeprefix(row["dataset"])) == values, row


def cell(**values: object) -> dict:
    base = {"data.name": "digits-dvs", "poison.rate": 0.1, "trigger.size": 0,
            "trigger.region": "least", "trigger.region_polarity": "least",
            "trigger.region_scope": "sample"}  # fmt: skip
    return {**base, **{k.replace("__", "."): v for k, v in values.items()}}


def test_each_number_stands_beside_the_cells_of_its_own_setting() -> None:
    report = PaperValues.load("sneaky-spikes")
    assert report is not None and not report.is_reproduced_paper
    static = report.value(cell(trigger__kind="white"), "asr")
    assert static is not None and (static.value, static.source) == (100, "Table I")
    moving = report.value(cell(trigger__kind="moving", data__name="nmnist"), "acc")
    assert moving is not None and (moving.value, moving.source) == (99.3, "Table I")
    # Table I states no poisoning rate: it stands beside PR 0.1 (its artifact claims' rate)
    assert report.value(cell(trigger__kind="white", poison__rate=0.01), "asr") is None
    assert report.value(cell(trigger__kind="white", data__name="cifar10dvs"), "asr") is None
    dynamic = report.value(cell(trigger__kind="dynamic", poison__rate=0.01), "asr")
    assert dynamic is not None and dynamic.text() == "paper 100, SS-dynamic"
    assert report.value(cell(trigger__kind="dynamic"), "acc") is None  # a figure, no number
    # smart: only the setting of its claim C3 (one region for the set, most active region,
    # most common polarity, 10 % square), and 'around 100'
    assert report.value(cell(trigger__kind="smart"), "asr") is None
    c3 = cell(trigger__kind="smart", trigger__region="most", trigger__region_polarity="most",
              trigger__region_scope="set", trigger__size=3)  # fmt: skip
    smart = report.value(c3, "asr")
    assert smart is not None and smart.text() == "paper ~100, SS-C3"
    for kind in ("strobing", "framed", "flashy"):
        assert report.value(cell(trigger__kind=kind), "asr") is None


def test_the_neuromorphic_report_shows_sneaky_spikes_and_no_claims(tmp_path: Path) -> None:
    spec = load_sweep_preset("neuromorphic-triggers")
    assert spec.paper == "sneaky-spikes"
    out = tmp_path / "sweep"
    out.mkdir()
    (out / SPEC_FILE).write_text(spec.dumps())
    metrics = {"acc": 0.9, "asr": 1.0, "mse": 0.0017, "ssim": 0.998, "seconds": {"total": 1.0}}
    rows = [point_row(p, "completed", metrics, f"runs/{p.name}") for p in spec.points()]
    write_results(out / "results.csv", spec.axes, rows)
    text = write_report(out).read_text()
    assert "Paper: Sneaky Spikes (Abad et al., NDSS 2024) on N-MNIST" in text
    assert "| white | 100.0 ± 0.0 | 100.0 ± 0.0 | 100.0 ± 0.0 (paper 100, Table I) |" in text
    assert "| moving | 90.0 ± 0.0 | 90.0 ± 0.0 | 90.0 ± 0.0 (paper 99.3, Table I) |" in text
    assert "| dynamic | 100.0 ± 0.0 (paper 100, SS-dynamic) |" in text
    assert "## Claims" not in text  # the reproduced paper's claims are not this paper's
