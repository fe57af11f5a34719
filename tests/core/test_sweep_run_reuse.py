"""`sweep --reuse-runs`: a point another sweep completed with the same config is copied,
not trained; nothing the user has is replaced, and bad sources are refused up front."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from snnstudio.cli import main
from snnstudio.core import config as config_io
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken
from snnstudio.core.sweep.engine import PointFinished, SweepStarted, point_run_dir, run_sweep
from snnstudio.core.sweep.spec import loads_spec
from tests.core.sweep_specs import tiny_spec


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def test_a_point_another_sweep_completed_is_copied_not_trained(tmp_path: Path) -> None:
    first = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.1]', name="first"))
    list(run_sweep(first, tmp_path / "first"))
    source = point_run_dir(tmp_path / "first", first.points()[0])
    source_metrics = json.loads((source / "metrics.json").read_text())
    second = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.1, 0.2]', name="second"))
    out = tmp_path / "second"

    events = list(run_sweep(second, out, reuse_runs=[tmp_path / "first"]))

    started = events[0]
    assert isinstance(started, SweepStarted) and (started.to_run, started.copied) == (1, 1)
    finished = {e.index: e for e in events if isinstance(e, PointFinished)}
    assert finished[0].reused and not finished[1].reused
    copy = point_run_dir(out, second.points()[0])
    metrics = json.loads((copy / "metrics.json").read_text())
    assert metrics["copied_from"] == str(source.resolve())
    assert {k: v for k, v in metrics.items() if k != "copied_from"} == source_metrics
    assert config_io.load(copy / "config.toml").name == second.points()[0].config.name
    assert (copy / "model.pt").is_file()  # a detection can read the copy
    assert "sweep --reuse-runs" in (copy / "log.txt").read_text().splitlines()[-1]
    copied_row, trained_row = rows(out)
    assert copied_row["copied_from"] == str(source.resolve()) and not trained_row["copied_from"]
    assert copied_row["acc"] == rows(tmp_path / "first")[0]["acc"]
    assert json.loads((source / "metrics.json").read_text()) == source_metrics  # untouched
    again = list(run_sweep(second, out))
    assert (again[0].to_run, again[0].copied) == (0, 0)  # the copy reads back as completed


def test_a_point_with_its_own_run_folder_is_never_replaced_by_a_copy(tmp_path: Path) -> None:
    spec = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.1]', name="first"))
    list(run_sweep(spec, tmp_path / "first"))
    other = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.1]', name="other"))
    out = tmp_path / "other"
    stopped = CancelToken()
    stopped.cancel()
    list(run_sweep(other, out, cancel=stopped))  # claims the folder, runs nothing
    own = point_run_dir(out, other.points()[0])
    own.mkdir()
    (own / "notes.txt").write_text("mine")

    events = list(run_sweep(other, out, cancel=stopped, reuse_runs=[tmp_path / "first"]))

    assert (events[0].to_run, events[0].copied) == (1, 0)
    assert [p.name for p in own.iterdir()] == ["notes.txt"]


def test_reuse_sources_are_checked_before_anything_is_written(tmp_path: Path, capsys) -> None:
    spec = loads_spec(tiny_spec('[grid]\n"poison.rate" = [0.1]'))
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigError, match="not a sweep folder"):
        list(run_sweep(spec, tmp_path / "out", reuse_runs=[tmp_path / "plain"]))
    stopped = CancelToken()
    stopped.cancel()
    list(run_sweep(spec, tmp_path / "out", cancel=stopped))
    with pytest.raises(ConfigError, match="the sweep's own --out"):
        list(run_sweep(spec, tmp_path / "out", reuse_runs=[tmp_path / "out"]))
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(tiny_spec('[grid]\n"poison.rate" = [0.1]'))
    fresh = tmp_path / "fresh"
    code = main(
        ["sweep", str(spec_file), "--out", str(fresh), "--reuse-runs", str(tmp_path / "gone")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "not a sweep folder" in err
    assert not fresh.exists()
