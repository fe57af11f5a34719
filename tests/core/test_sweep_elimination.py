"""The `train-eliminate` point job (the paper's Fig. 12): train, then remove the backdoor;
before/after numbers per point, a failed elimination as a failed point, resuming, and the
`paper-fig12` preset with the paper's averages in the report."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from snnstudio.core import config as config_io
from snnstudio.core.events import CancelToken, Log, RunFinished
from snnstudio.core.sweep import point_jobs
from snnstudio.core.sweep.elimination_job import (
    ELIMINATION_FOLDER,
    JOB_NAME,
    completed_train_then_eliminate,
    train_then_eliminate_job,
)
from snnstudio.core.sweep.engine import PointFinished, SweepStarted, run_sweep
from snnstudio.core.sweep.report import write_report
from snnstudio.core.sweep.spec import SweepPoint, load_sweep_preset, loads_spec
from tests.core.backdoored_models import one_torch_thread  # noqa: F401
from tests.core.sweep_specs import claim_rows, fake_fig12_sweep, fake_sweep_dir, fig12_metrics

TINY = [
    "data.train_limit=200", "data.test_limit=60", "train.epochs=1", "train.batch_size=32",
    "sim.timesteps=4", "train.clean_twin=false",
]  # fmt: skip
QUICK_FINETUNE = {"method": "finetune", "epochs": 1, "settle_epochs": 0, "clean_fraction": 0.25}
SPEC = f"""
base = "demo"
name = "fig12-tiny"
job = "train-eliminate"
[job_settings]
{chr(10).join(f"{k} = {v!r}".replace("'", '"') for k, v in QUICK_FINETUNE.items())}
[set]
{chr(10).join(f'"{a.split("=")[0]}" = {a.split("=")[1]}' for a in TINY)}
[grid]
"poison.rate" = [0.1]
"""


def tiny_config() -> config_io.ExperimentConfig:
    return config_io.with_overrides(config_io.load_preset("demo"), TINY)


def test_the_job_trains_eliminates_and_records_before_and_after(tmp_path: Path) -> None:
    run_dir = tmp_path / "point"
    events = list(train_then_eliminate_job(tiny_config(), run_dir, None, QUICK_FINETUNE))
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert len(finished) == 1 and finished[0] is events[-1]  # one result, at the end
    metrics = finished[0].metrics
    assert metrics["status"] == "completed" and metrics["elimination_method"] == "finetune"
    for key in ("acc", "asr", "acc_before", "asr_before", "acc_after", "asr_after"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["asr_drop"] == pytest.approx(metrics["asr_before"] - metrics["asr_after"])
    assert metrics["acc_gain"] == pytest.approx(metrics["acc_after"] - metrics["acc_before"])
    assert metrics["asr_before"] == pytest.approx(metrics["asr"])  # the trained model, twice
    seconds = metrics["seconds"]
    assert seconds["total"] == pytest.approx(seconds["training"] + seconds["elimination"])
    assert (run_dir / "model.pt").is_file()
    assert (run_dir / ELIMINATION_FOLDER / "finetune.pt").is_file()
    # an earlier completed point is read back with the same numbers, for these settings only
    again = completed_train_then_eliminate(tiny_config(), run_dir, QUICK_FINETUNE)
    assert again is not None and again["asr_drop"] == pytest.approx(metrics["asr_drop"])
    other = {**QUICK_FINETUNE, "clean_fraction": 0.5}
    assert completed_train_then_eliminate(tiny_config(), run_dir, other) is None


def test_a_point_stopped_in_its_elimination_keeps_its_training(tmp_path: Path) -> None:
    run_dir = tmp_path / "point"
    cancel = CancelToken()
    events = []
    for event in train_then_eliminate_job(tiny_config(), run_dir, cancel, QUICK_FINETUNE):
        events.append(event)
        if isinstance(event, Log) and event.message.startswith("eliminating"):
            cancel.cancel()  # Stop as the elimination starts
    assert events[-1].status == "cancelled"
    assert completed_train_then_eliminate(tiny_config(), run_dir, QUICK_FINETUNE) is None
    model = run_dir / "model.pt"
    stamp = model.stat().st_mtime_ns
    events = list(train_then_eliminate_job(tiny_config(), run_dir, None, QUICK_FINETUNE))
    assert any(isinstance(e, Log) and "training completed earlier" in e.message for e in events)
    assert events[-1].status == "completed" and "asr_drop" in events[-1].metrics
    assert model.stat().st_mtime_ns == stamp  # not trained again


def test_a_failed_elimination_is_a_failed_point(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(point_jobs, "apply_thread_policy", lambda *a, **k: None)  # not a worker
    # reconvert needs a converted model; the demo's is LR_B: the elimination fails
    settings = {**QUICK_FINETUNE, "method": "reconvert"}
    run_dir = tmp_path / "point"
    config = config_io.to_dict(tiny_config())
    task = point_jobs.PointTask(0, config, str(run_dir), JOB_NAME, settings)
    outcome = point_jobs.run_point(task, None)
    assert outcome.status == "failed" and "conversion" in outcome.error
    assert "conversion" in (run_dir / "error.txt").read_text()
    assert (run_dir / "model.pt").is_file()  # the training is kept
    assert completed_train_then_eliminate(tiny_config(), run_dir, settings) is None


def test_a_sweep_of_the_job_tabulates_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    first = list(run_sweep(loads_spec(SPEC), out))
    (row,) = csv.DictReader((out / "results.csv").open())
    assert first[-1].counts["completed"] == 1 and row["status"] == "completed"
    for column in ("acc_before", "asr_before", "acc_after", "asr_after", "asr_drop"):
        assert row[column] != "", column
    second = list(run_sweep(loads_spec(SPEC), out))
    assert isinstance(second[0], SweepStarted) and second[0].to_run == 0
    reread = [e for e in second if isinstance(e, PointFinished)]
    assert reread[0].reused and reread[0].row["asr_drop"] == pytest.approx(float(row["asr_drop"]))


def test_the_fig12_preset_expands_with_the_papers_method_and_an_override() -> None:
    spec = load_sweep_preset("paper-fig12")
    assert spec.job == "train-eliminate" and spec.job_settings == {"method": "finetune"}
    assert spec.axes == ["model.arch", "poison.rate"] and spec.paper == "fig12"
    points = spec.points()
    assert len(points) == 8
    assert {p.config.model.arch for p in points} == {"vgg11", "resnet18"}
    assert sorted({p.config.poison.rate for p in points}) == [0.01, 0.05, 0.1, 0.2]
    fineprune = load_sweep_preset("paper-fig12", ["job_settings.method=fineprune"])
    assert fineprune.job_settings == {"method": "fineprune"}
    assert fineprune.points()[0].config == points[0].config  # the same points, other method


def test_report_sets_the_papers_averages_beside_ours(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    fake_fig12_sweep(out)
    text = write_report(out).read_text()
    assert "## Mean over poison.rate (the paper's averages)" in text
    assert "Job: train-eliminate (method=finetune)." in text
    # VGG11's points 0-3: ASR before 90-93%, after 50%: a mean drop of 41.5 points
    assert "| vgg11 | " in text and "41.5 (paper 32.75, C28)" in text
    assert "5.0 (paper 7.19, C28)" in text and "(paper 13.67, C31)" in text
    assert "(paper 3.2, C31)" in text
    assert "## ASR drop % (columns: poison.rate; scored at T 4)" in text
    # per-PR cells carry no paper value: the paper states only the averages
    assert "| vgg11 | 40.0 | 41.0 | 42.0 | 43.0 |" in text
    with (out / "report" / "mean-over-poison.rate.csv").open(newline="") as file:
        table = list(csv.reader(file))
    assert "ASR drop % (paper)" in table[0]
    assert table[1][table[0].index("ASR drop % (paper)")] == "32.75"
    assert (out / "report" / "against-poison.rate.png").read_bytes()[:4] == b"\x89PNG"


def unlearned_at_low_pr(point: SweepPoint) -> dict:
    """fig12_metrics, but VGG11 at PR 0.01 and every ResNet18 point learned no backdoor
    (ASR 0.6 % before elimination, 1 % after)."""
    metrics = fig12_metrics(point)
    if point.config.model.arch == "resnet18" or point.config.poison.rate == 0.01:
        metrics.update(asr=0.006, asr_before=0.006, asr_after=0.01, asr_drop=-0.004)
    return metrics


def test_the_elimination_claims_leave_out_models_without_a_backdoor(tmp_path: Path) -> None:
    """A drop from an ASR near 0 removes nothing: C28 averages VGG11's other PRs and names
    the one left out; C31, with no ResNet18 backdoor at all, is not covered and says why."""
    out = tmp_path / "sweep"
    fake_sweep_dir(out, load_sweep_preset("paper-fig12"), unlearned_at_low_pr)
    rows = claim_rows([out], tmp_path)
    # VGG11's PRs 0.05-0.2 (points 1-3): ASR 91-93 % before, 50 % after
    assert (
        "vgg11: mean ASR drop 42.0, ACC gain 5.0 (left out, no backdoor learned: PR 0.01: "
        "ASR before 0.6)"
        in rows["C28"]
        and "**holds**" in rows["C28"]
    )
    assert (
        "**not covered: resnet18 learned no backdoor to remove (PR 0.01: ASR before 0.6, "
        "PR 0.05: ASR before 0.6" in rows["C31"]
    )
    assert "**fails**" in rows["C03"]
