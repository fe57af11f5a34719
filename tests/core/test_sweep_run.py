"""Sweeps on the local process pool: results.csv, failed points, cancel and resume."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from snnstudio.core import config as config_io
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken, EpochDone, Log
from snnstudio.core.runner import run_experiment
from snnstudio.core.sweep.engine import PointFinished, SweepFinished, SweepStarted, run_sweep
from snnstudio.core.sweep.experiment_job import _interrupted, experiment_job
from snnstudio.core.sweep.spec import loads_spec
from tests.core.sweep_specs import tiny_spec


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def test_failed_point_is_recorded_and_the_others_complete(tmp_path: Path) -> None:
    missing = tmp_path / "no-mnist"
    spec = loads_spec(
        tiny_spec(f'[zip]\n"data.name" = ["mnist", "digits"]\n"data.root" = ["{missing}", ""]')
    )
    events = list(run_sweep(spec, tmp_path / "sweep", workers=2))
    assert isinstance(events[-1], SweepFinished)
    assert events[-1].status == "completed"
    assert events[-1].counts == {"completed": 1, "failed": 1, "cancelled": 0}
    failed, done = rows(tmp_path / "sweep")
    assert failed["status"] == "failed" and "no-mnist" in failed["error"]
    assert done["status"] == "completed" and float(done["acc"]) > 0.5
    assert (tmp_path / "sweep" / failed["run_dir"] / "error.txt").is_file()
    header = list(rows(tmp_path / "sweep")[0])
    assert header[:4] == ["data.name", "data.root", "seed", "status"]
    assert header[4:6] == ["acc", "asr"] and header[-2:] == ["run_dir", "error"]
    assert "seconds.total" in header
    # every point is an ordinary run directory
    run = tmp_path / "sweep" / done["run_dir"]
    assert json.loads((run / "metrics.json").read_text())["status"] == "completed"
    assert config_io.load(run / "config.toml").data.name == "digits"


def test_interrupted_sweep_resumes_reading_completed_points(tmp_path: Path) -> None:
    spec = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.05, 0.1, 0.2]'))
    out = tmp_path / "sweep"
    cancel = CancelToken()
    first: list[object] = []
    for event in run_sweep(spec, out, workers=1, cancel=cancel):
        first.append(event)
        if isinstance(event, PointFinished):
            cancel.cancel()  # Stop after the first point
    assert first[-1].status == "cancelled"
    assert [r["status"] for r in rows(out)] == ["completed", "cancelled", "cancelled"]
    kept = out / rows(out)[0]["run_dir"] / "metrics.json"
    stamp = kept.stat().st_mtime_ns
    info = json.loads((out / "run.json").read_text())
    began = {**info, "created": "2026-01-01T00:00:00+0000"}  # a start the resume cannot repeat
    (out / "run.json").write_text(json.dumps(began))

    second = list(run_sweep(spec, out, workers=1))
    started = second[0]
    assert isinstance(started, SweepStarted) and (started.total, started.to_run) == (3, 2)
    finished = [e for e in second if isinstance(e, PointFinished)]
    assert (finished[0].index, finished[0].reused) == (0, True)
    assert sorted(e.index for e in finished if not e.reused) == [1, 2]
    assert kept.stat().st_mtime_ns == stamp  # read, not trained again
    assert json.loads((out / "run.json").read_text()) == began  # still says when it began
    assert [r["status"] for r in rows(out)] == ["completed"] * 3
    assert second[-1].status == "completed"


def test_a_folder_with_another_sweep_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    spec = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.1]'))
    cancel = CancelToken()
    cancel.cancel()  # claim the folder, run nothing
    assert list(run_sweep(spec, out, cancel=cancel))[-1].status == "cancelled"
    other = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.2]'))
    with pytest.raises(ConfigError, match="holds a different sweep"):
        list(run_sweep(other, out))


def test_an_interrupted_point_resumes_from_its_last_epoch(tmp_path: Path) -> None:
    spec = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.1]'))
    cfg = spec.points()[0].config
    cancel = CancelToken()
    for event in run_experiment(cfg, tmp_path / "point", cancel):
        if isinstance(event, EpochDone):
            cancel.cancel()  # Stop after the first epoch
    assert _interrupted(cfg, tmp_path / "point")
    logs = [e.message for e in experiment_job(cfg, tmp_path / "point", None, {})
            if isinstance(e, Log)]  # fmt: skip
    assert any(m.startswith("resuming after backdoored: 1 epoch") for m in logs)
    assert not _interrupted(cfg, tmp_path / "point")  # completed now
    other = config_io.with_values(cfg, {"train.seed": 5})
    assert not _interrupted(other, tmp_path / "point")  # another config never resumes it
