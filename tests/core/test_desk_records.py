"""The desk sweeps recorded in benchmarks/desk-sweeps (their text files, no checkpoints)
still read back, reports and claims included, as the code changes: the README's desk numbers
rest on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from snnstudio.core.sweep.claims import write_claims
from snnstudio.core.sweep.view import read_sweep
from tests.core.sweep_specs import claim_rows, claim_rows_of

RECORDS = Path(__file__).resolve().parents[2] / "benchmarks" / "desk-sweeps"
FOLDERS = sorted(p for p in RECORDS.iterdir() if p.is_dir()) if RECORDS.is_dir() else []


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_a_recorded_desk_sweep_reads_back(folder: Path) -> None:
    view = read_sweep(folder)
    assert view.spec.scale == "desk"
    completed = [row for row in view.rows if row["status"] == "completed"]
    assert completed
    for row in completed:  # the README points to each point's files, so they are kept
        run = folder / row["run_dir"]
        assert (run / "metrics.json").is_file() and (run / "config.toml").is_file(), run


def test_the_records_claims_name_each_eq10_weighting(tmp_path: Path) -> None:
    assert FOLDERS, f"no recorded sweeps in {RECORDS}"
    text = write_claims(FOLDERS, tmp_path / "claims.md").read_text()
    weightings = {k["train.loss_weighting"] for f in FOLDERS for k in read_sweep(f).known}
    for weighting in weightings:
        assert f"Eq. 10 {weighting}" in text


def test_the_per_set_table2_record_gives_the_readme_verdict(tmp_path: Path) -> None:
    """README, "Eq. 10": per set, LR_H at PR 0.02 learned no backdoor (a failed ANN twin)."""
    row = claim_rows([RECORDS / "table2-desk-per-set"], tmp_path)["C13"]
    assert "Com4 PR 0.02: 3.0" in row and "**fails**" in row and "Eq. 10 per_set" in row


def test_the_per_sample_table2_records_give_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Table 2 at PR 0.02 per sample: Com3's clean STDB epoch lowers MR to 12.8
    against Com4's 89.2, so C26 holds where per set it failed."""
    folders = [RECORDS / "table2-desk-pr02-per-sample", RECORDS / "table2-desk-pr02-per-sample-lrh"]
    row = claim_rows(folders, tmp_path)["C26"]
    assert "Com4 89.2 -> Com3 12.8" in row and "**holds**" in row and "Eq. 10 per_sample" in row


def test_the_per_sample_table2_records_at_two_prs_give_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Table 2 at PR 0.1 per sample: Com3's clean STDB epoch leaves MR at 91.8, so
    C26 fails on the mean over PR 0.02 and 0.1, while C25 holds at both."""
    folders = [RECORDS / f"table2-desk-{name}" for name in
               ("pr02-per-sample", "pr02-per-sample-lrh", "pr10-per-sample")]  # fmt: skip
    rows = claim_rows(folders, tmp_path)
    c26, c25 = rows["C26"], rows["C25"]
    assert "Com4 94.4 -> Com3 52.3" in c26 and "**fails**" in c26
    assert "0.1: 99.7, 0.02: 89.2" in c25 and "**holds**" in c25


def test_the_per_sample_table2_records_at_three_prs_give_the_readme_verdicts(
    tmp_path: Path,
) -> None:
    """README, LR_H at PR 0.06 per sample: Com3's clean STDB epoch takes MR to 77.1, Com4's
    stays 100.0; over PR 0.02, 0.06 and 0.1 C26 fails (96.3 -> 60.6) and C25 holds."""
    folders = [RECORDS / f"table2-desk-{name}" for name in
               ("pr02-per-sample", "pr02-per-sample-lrh", "pr06-per-sample-lrc",
                "pr06-per-sample-lrh", "pr10-per-sample")]  # fmt: skip
    rows = claim_rows(folders, tmp_path)
    c26, c25, c13 = rows["C26"], rows["C25"], rows["C13"]
    assert "Com4 96.3 -> Com3 60.6" in c26 and "**fails**" in c26
    assert "0.06: 100.0" in c25 and "**holds**" in c25
    assert "Com3 PR 0.06: 76.9" in c13 and "**fails**" in c13


def test_the_per_sample_table2_records_at_four_prs_give_the_readme_verdicts(
    tmp_path: Path,
) -> None:
    """README, Table 2 at PR 0.2 per sample: Com3's clean STDB epoch leaves MR at 99.3 and
    Com4's at 100.0; over the four PRs C26 fails (97.2 -> 70.2), C25 and C22 hold."""
    rows = claim_rows(sorted(RECORDS.glob("table2-desk-pr*-per-sample*")), tmp_path)
    c26, c25, c22 = rows["C26"], rows["C25"], rows["C22"]
    assert "Com4 97.2 -> Com3 70.2" in c26 and "**fails**" in c26
    assert "0.2: 100.0" in c25 and "**holds**" in c25
    assert "0.2: 100.0" in c22 and "**holds**" in c22
    assert "Com3 PR 0.2: 99.3" in rows["C13"]


def test_the_per_sample_table1_record_gives_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Table 1 per sample: C21 and T1-ASR hold, T1-ACC fails (SNN -2.9, ANN -1.9)."""
    verdicts = claim_rows([RECORDS / "table1-desk-per-sample"], tmp_path)
    assert "**holds**" in verdicts["C21"] and "**holds**" in verdicts["T1-ASR"]
    assert "ΔACC SNN -2.9, ANN -1.9" in verdicts["T1-ACC"] and "**fails**" in verdicts["T1-ACC"]


def test_the_per_sample_fig9_records_give_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Fig. 9 per sample: C19 fails (LR_H's ASR 99.7, ACC 1.5 above the others')."""
    folders = sorted(RECORDS.glob("fig9-desk-per-sample*"))
    c19 = claim_rows(folders, tmp_path)["C19"]
    assert "LR_H ASR 99.7, ACC 97.6; mean of LR_B and LR_C: ASR 100.0, ACC 96.1" in c19
    assert "**fails**" in c19


def test_the_per_sample_fig18_and_fig12_records_give_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Fig. 18 and Fig. 12 per sample: MaxNorm keeps the backdoor (C24, C01),
    RobustNorm keeps 66.8 % and 79.3 % of it at PR 0.02 and 0.1; at PR 0.01 neither network
    learns one (C03 fails) and fine-tuning has nothing to remove (C28, C31 not covered)."""
    fig18, fig12 = RECORDS / "fig18-desk-per-sample", RECORDS / "fig12-desk-pr01-per-sample"
    rows = claim_rows([fig18, fig12], tmp_path)
    assert "0.02: 102.9, 0.1: 100.0, 0.2: 100.0" in rows["C24"] and "**holds**" in rows["C24"]
    assert "highest LR_C MR 101.0 (LR_C MaxNorm)" in rows["C01"] and "**holds**" in rows["C01"]
    assert "vgg11: 0.6, resnet18: 0.7" in rows["C03"] and "**fails**" in rows["C03"]
    for claim, arch in (("C28", "vgg11"), ("C31", "resnet18")):
        assert f"**not covered: {arch} learned no backdoor to remove" in rows[claim]
    robust = {r["poison.rate"]: f"{100 * float(r['mr']):.1f}" for r in read_sweep(fig18).rows
              if r["rule.norm"] == "robust"}  # fmt: skip
    assert robust == {"0.02": "66.8", "0.1": "79.3", "0.2": "99.9"}


def test_the_per_sample_fig17_record_gives_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Fig. 17 per sample: every unscaled norm keeps the backdoor whole (C08, C24);
    Spike-Norm 1/4 is the most accurate conversion but only 0.3 above RobustNorm (C09 fails)."""
    rows = claim_rows([RECORDS / "fig17-desk-per-sample"], tmp_path)
    assert "**holds**" in rows["C08"] and "0.1: 100.0" in rows["C24"]
    c09 = rows["C09"]
    assert "ACC 93.8, ASR 100.0; MaxNorm/RobustNorm scale 1: ACC 91.8, 93.5" in c09
    assert "**fails**" in c09


def test_the_per_sample_fig10_record_gives_the_readme_verdict(tmp_path: Path) -> None:
    """README, Fig. 10 per sample, run alone on this machine: LR_C 794 s, LR_B 1921 s, LR_H
    2345 s, so F10-time holds, on one named host."""
    f10 = claim_rows([RECORDS / "fig10-desk-pr10-per-sample"], tmp_path)["F10-time"]
    assert "PR 0.1: LR_B 1921, LR_C 794, LR_H 2345 (host: AMD EPYC (AVX2, 2 cores))" in f10
    assert "**holds**" in f10


def test_the_per_sample_fig12_record_at_pr_02_gives_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Fig. 12 at PR 0.2 per sample: fine-tuning takes VGG11 from 96.4 / 99.9 to
    93.0 / 1.0 and ResNet18 from 96.2 / 100.0 to 96.4 / 1.2, ResNet18's one ACC gain."""
    rows = claim_rows([RECORDS / "fig12-desk-pr20-per-sample"], tmp_path)
    assert "vgg11: mean ASR drop 98.9, ACC gain -3.4" in rows["C28"]
    assert "resnet18: mean ASR drop 98.8, ACC gain 0.2" in rows["C31"]
    assert "**fails**" in rows["C28"] and "**holds**" in rows["C31"]


def test_the_per_sample_table3_record_gives_the_readme_verdicts(tmp_path: Path) -> None:
    """README, Table 3 per sample: the corner barely matters (T3-position holds) and LR_H keeps
    the backdoor as whole as the others (T3-LR_H fails); its bottom-right row was copied
    from the Table 4 sweep's target-0 row and says so."""
    folder = RECORDS / "table3-desk-per-sample"
    rows = claim_rows([folder], tmp_path)
    assert "ASR range: LR_B 0.6, LR_C 0.2, LR_H 0.4" in rows["T3-position"]
    assert "**holds**" in rows["T3-position"]
    assert "mean ASR LR_B 99.8, LR_C 99.9, LR_H 99.8" in rows["T3-LR_H"]
    assert "**fails**" in rows["T3-LR_H"]
    copied = {r["trigger.position"] for r in read_sweep(folder).rows if r.get("copied_from")}
    assert copied == {"bottom-right"}


def test_all_per_sample_records_give_the_readme_tally(tmp_path: Path) -> None:
    """README, "Per sample ... rerun so far": 13 claims hold and 10 fail over every per-sample
    record; C22 holds at PR 0.06 too (Table 2's LR_C cell, MR 98.6); C28 and C31 fail on ACC
    alone with PR 0.01 left out (Fig. 12 at PR 0.05, 0.1 and 0.2)."""
    folders = sorted(RECORDS.glob("*per-sample*"))
    text = write_claims(folders, tmp_path / "claims.md").read_text()
    assert "13 holds, 10 fails" in text
    rows = claim_rows_of(text)
    assert "0.06: 98.6" in rows["C22"] and "**holds**" in rows["C22"]
    elimination = {
        "C28": "vgg11: mean ASR drop 97.0, ACC gain -3.5",
        "C31": "resnet18: mean ASR drop 93.8, ACC gain -0.2",
    }
    for claim, readme in elimination.items():
        assert readme in rows[claim] and "**fails**" in rows[claim]
