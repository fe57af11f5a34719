"""The Ray backend gives the local backend's metrics for every point (one local Ray instance
per module, `ray.init(num_cpus=2)`)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from snnstudio.core.sweep.engine import SweepFinished, run_sweep
from snnstudio.core.sweep.spec import loads_spec
from tests.core.sweep_specs import tiny_spec

ray = pytest.importorskip(
    "ray", reason="Ray is not installed: it is in the test extra (pip install -e '.[test]')"
)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # Ray's workers must import this checkout's snnstudio, not another installed copy
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), before) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    if before is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = before


def results(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def test_ray_and_local_backends_give_the_same_metrics(tmp_path: Path) -> None:
    spec = loads_spec(tiny_spec('[grid]\n"trigger.position" = ["top-left", "bottom-right"]'))
    local = list(run_sweep(spec, tmp_path / "local", workers=2, backend="local"))
    remote = list(run_sweep(spec, tmp_path / "ray", backend="ray"))
    for events in (local, remote):
        assert isinstance(events[-1], SweepFinished) and events[-1].status == "completed"
    local_rows, ray_rows = results(tmp_path / "local"), results(tmp_path / "ray")
    assert [r["status"] for r in ray_rows] == ["completed", "completed"]
    assert all(float(r["acc"]) > 0.5 for r in local_rows)  # trained, not a silent network
    for a, b in zip(local_rows, ray_rows, strict=True):
        assert (a["trigger.position"], a["acc"], a["asr"]) == (
            b["trigger.position"], b["acc"], b["asr"],
        )  # fmt: skip
    assert ray.is_initialized()  # the backend leaves an instance it did not start running
