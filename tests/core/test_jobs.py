"""The one job skeleton: timer, cancellation, the final RunFinished, errors in the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.errors import DatasetError
from snnstudio.core.events import Cancelled, Log, RunFinished
from snnstudio.core.jobs import Job, run_job
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import RunKind


def test_a_cancelled_job_ends_with_its_status_seconds_and_files(tmp_path: Path) -> None:
    finished_with: list[str] = []

    def body(job: Job):  # type: ignore[no-untyped-def]
        job.metrics["part"] = 1
        job.lap("first")
        yield Log("first part done")
        raise Cancelled

    events = list(
        run_job(
            body, "sweep", tmp_path / "job", ExperimentConfig(), RunKind.SWEEP, None,
            {"given": True}, finish=lambda job, status: finished_with.append(status),
        )
    )  # fmt: skip
    assert [type(e) for e in events] == [Log, Log, RunFinished]
    assert events[1].message == "sweep cancelled; files written so far are kept"
    end = events[-1]
    assert end.status == "cancelled" and end.out_dir == str(tmp_path / "job")
    assert end.metrics["given"] and end.metrics["part"] == 1
    assert set(end.metrics["seconds"]) == {"first", "total"}
    assert end.metrics["seconds"]["total"] >= end.metrics["seconds"]["first"] >= 0
    assert finished_with == ["cancelled"]
    record = open_run(tmp_path / "job")
    assert record.kind is RunKind.SWEEP and record.metrics()["status"] == "cancelled"


def test_a_failed_job_logs_its_error_and_raises(tmp_path: Path) -> None:
    def body(job: Job):  # type: ignore[no-untyped-def]
        yield Log("reading")
        raise DatasetError("no such folder")

    job = run_job(body, "run", tmp_path / "job", ExperimentConfig(), RunKind.EXPERIMENT, None)
    with pytest.raises(DatasetError):
        list(job)
    log = (tmp_path / "job" / "log.txt").read_text()
    assert "reading" in log and "error: no such folder" in log
    assert open_run(tmp_path / "job").metrics() == {}  # no metrics for a failed job


def test_a_job_without_a_folder_writes_nothing(tmp_path: Path) -> None:
    def body(job: Job):  # type: ignore[no-untyped-def]
        assert job.rundir is None and job.file("report.json") is None
        yield Log("nothing to write")

    events = list(run_job(body, "run", None, ExperimentConfig(), RunKind.EXPERIMENT, None))
    assert events[-1].status == "completed" and events[-1].out_dir is None
    assert list(tmp_path.iterdir()) == []
