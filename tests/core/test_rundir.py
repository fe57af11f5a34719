"""The run-directory format: safe new names, recorded kinds, atomic files, reading back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snnstudio.core import config as config_io
from snnstudio.core.atomic_files import atomic_path
from snnstudio.core.events import (
    EpochDone,
    NetworkKind,
    RunFinished,
    StageRole,
    TimestepCurve,
)
from snnstudio.core.run_record import list_runs, open_run
from snnstudio.core.rundir import (
    RunDirectory,
    RunDirError,
    RunKind,
    dropped_if_empty,
    new_run_dir,
    output_dir,
    safe_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo", "demo"),
        ("../../escape", "escape"),
        ("a/b\\c", "a-b-c"),
        ("..", "run"),
        ("", "run"),
        (".hidden", "hidden"),
        ("x\x00y\n", "xy"),
        ("/abs/path", "abs-path"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_new_run_dir_stays_inside_its_parent_and_never_reuses_a_folder(tmp_path: Path) -> None:
    parent = tmp_path / "runs"
    first = new_run_dir(parent, "../../escape", stamp=False)
    assert first == parent / "escape" and first.is_dir()
    second = new_run_dir(parent, "../../escape", stamp=False)
    third = new_run_dir(parent, "escape", stamp=False)
    assert [second.name, third.name] == ["escape~2", "escape~3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    stamped = new_run_dir(parent, "demo")
    assert stamped.parent == parent and stamped.name.startswith("demo-")


def test_output_dir_refuses_a_folder_with_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert output_dir(out, "ignored") == out  # an explicit --out is used as given
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    with pytest.raises(RunDirError, match="already holds a run"):
        output_dir(out, "ignored")
    assert output_dir(out, "ignored", overwrite=True) == out
    made = output_dir(None, "detect", parent=tmp_path / "runs")
    assert made.parent == tmp_path / "runs" and made.name.startswith("detect-")


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".json"
        temporary.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_a_run_directory_records_its_kind_and_reads_back(tmp_path: Path) -> None:
    cfg = config_io.ExperimentConfig(name="kinds")
    rundir = RunDirectory(tmp_path / "det", cfg, RunKind.DETECTION)
    ann = StageRole(NetworkKind.ANN, clean_twin=True)
    rundir.record(EpochDone("backdoored", 1, 0.9, 0.8, 0.5, 1.0))
    rundir.record(EpochDone("clean-twin-ann", 1, 0.7, 0.1, 0.6, 2.0, role=ann))
    rundir.record(TimestepCurve("clean-twin", [0.5, 0.9], [0.1, 0.2]))
    rundir.record(RunFinished("completed", {"acc": float("nan"), "seconds": {"total": 2.0}}))
    rundir.close()
    record = open_run(tmp_path / "det")
    assert record.kind is RunKind.DETECTION
    assert record.config() == cfg
    assert record.metrics() == {"acc": None, "seconds": {"total": 2.0}}
    assert [row["acc"] for row in record.history()] == ["0.9", "0.7"]
    assert [(e.stage, e.acc, e.role) for e in record.epochs()] == [
        ("backdoored", 0.9, StageRole()), ("clean-twin-ann", 0.7, ann)
    ]  # fmt: skip
    (curve,) = record.timestep_curves()
    assert (curve.stage, curve.acc, curve.asr) == ("clean-twin", [0.5, 0.9], [0.1, 0.2])
    assert curve.role == StageRole(clean_twin=True)
    assert record.checkpoint() is None
    assert [r.path for r in list_runs(tmp_path)] == [tmp_path / "det"]


def test_open_run_refuses_folders_that_are_not_runs(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "config.toml").write_text("")  # a config alone is not a run
    with pytest.raises(RunDirError, match="not a run directory"):
        open_run(tmp_path / "plain")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.json").write_text(json.dumps({"kind": "party"}))
    with pytest.raises(RunDirError, match="unreadable"):
        open_run(bad)
    assert list_runs(tmp_path) == []


def test_a_new_folder_is_dropped_when_its_job_fails_before_writing(tmp_path: Path) -> None:
    def failing_job():  # type: ignore[no-untyped-def]
        yield from ()
        raise RunDirError("the checkpoint does not load")

    empty = new_run_dir(tmp_path, "detect")
    with pytest.raises(RunDirError):
        list(dropped_if_empty(failing_job(), empty))
    assert not empty.exists()
    kept = new_run_dir(tmp_path, "detect")
    (kept / "log.txt").write_text("error: ...")
    with pytest.raises(RunDirError):
        list(dropped_if_empty(failing_job(), kept))
    assert (kept / "log.txt").is_file()
