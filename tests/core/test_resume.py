"""A killed, cancelled or stopped run resumes from its last completed epoch and ends with the
metrics of an uninterrupted run (every value but the timings)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snnstudio.core import config as config_io
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import CancelToken, EpochDone, run_to_end
from snnstudio.core.resume import RESUME_DIR
from snnstudio.core.runner import resume_experiment, run_experiment

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["train.epochs=2", "data.train_limit=120", "data.test_limit=60",
         "train.clean_twin=false"]  # fmt: skip


def cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "snnstudio", "run", *args, "--quiet"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def without_timings(run: Path) -> tuple[dict, list[list[str]]]:
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("seconds")
    metrics.pop("resumed_after", None)
    with (run / "history.csv").open() as handle:
        history = [
            {k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)
        ]
    return metrics, history


def test_kill_9_then_resume_gives_the_uninterrupted_metrics(tmp_path) -> None:
    overrides = [arg for item in SMALL for arg in ("--set", item)]
    full = cli("--preset", "demo", *overrides, "--out", str(tmp_path / "full"))
    killed = cli("--preset", "demo", *overrides, "--out", str(tmp_path / "killed"))
    first_epoch = tmp_path / "killed" / RESUME_DIR / "backdoored.pt"
    deadline = time.monotonic() + 300
    while not first_epoch.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert first_epoch.exists() and not (tmp_path / "killed" / "metrics.json").exists()

    resumed = cli("--resume", str(tmp_path / "killed"))
    assert resumed.wait() == 0, resumed.stderr.read()
    assert full.wait() == 0, full.stderr.read()
    assert without_timings(tmp_path / "killed") == without_timings(tmp_path / "full")
    assert "resuming after backdoored: 1 epoch" in (tmp_path / "killed" / "log.txt").read_text()
    # its seconds count the resumed sitting only, and its metrics say so
    resumed_after = {
        name: json.loads((tmp_path / name / "metrics.json").read_text()).get("resumed_after")
        for name in ("killed", "full")
    }
    assert resumed_after == {"killed": "backdoored: 1 epoch", "full": None}
    assert not (tmp_path / "killed" / RESUME_DIR).exists()  # completed: states removed


def test_hybrid_cancelled_in_its_snn_step_resumes_to_the_same_metrics(tmp_path) -> None:
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"),
        [*SMALL, "rule.name=hybrid", "rule.ann_epochs=2", "sim.eval_timesteps=6",
         "data.train_limit=80", "data.test_limit=40"],
    )  # fmt: skip
    run_to_end(run_experiment(cfg, tmp_path / "full"))
    token, epochs = CancelToken(), 0
    for event in run_experiment(cfg, tmp_path / "cut", token):
        if isinstance(event, EpochDone):
            epochs += 1
            if epochs == 3:  # both ANN epochs and the first STDB epoch done
                token.cancel()
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["status"] == "cancelled"
    run_to_end(resume_experiment(tmp_path / "cut"))
    assert without_timings(tmp_path / "cut") == without_timings(tmp_path / "full")
    with pytest.raises(SnnStudioError, match="the run has completed"):
        next(resume_experiment(tmp_path / "cut"))


DRAWN = [*SMALL, "trigger.kind=array", "trigger.position=xy", "trigger.x=20", "trigger.y=21",
         "trigger.pattern=[[1.0, nan, 0.8], [nan, 1.0, nan], [0.8, nan, 1.0]]"]  # fmt: skip


def cancelled_after_first_epoch(cfg: config_io.ExperimentConfig, run: Path) -> None:
    token = CancelToken()
    for event in run_experiment(cfg, run, token):
        if isinstance(event, EpochDone):
            token.cancel()
    assert json.loads((run / "metrics.json").read_text())["status"] == "cancelled"


def every_file(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_drawn_trigger_resumes_to_the_uninterrupted_metrics(tmp_path) -> None:
    """A drawn trigger's transparent pixels are NaN; NaN != NaN once made the resumed run's
    config differ from its own saved states, and the refusal emptied history.csv."""
    cfg = config_io.with_overrides(config_io.load_preset("demo"), DRAWN)
    run_to_end(run_experiment(cfg, tmp_path / "full"))
    cut = tmp_path / "cut"
    cancelled_after_first_epoch(cfg, cut)
    run_json = (cut / "run.json").read_bytes()
    text = (cut / "config.toml").read_text()
    assert "    [1.0, nan, 0.8],\n" in text  # a row a line, not a number a line:
    undrawn = config_io.with_overrides(cfg, ["trigger.kind=white", "trigger.pattern=[]"])
    plain = config_io.dumps(undrawn)
    assert len(text.splitlines()) < len(plain.splitlines()) + 10
    run_to_end(resume_experiment(cut))
    assert without_timings(cut) == without_timings(tmp_path / "full")
    assert (cut / "run.json").read_bytes() == run_json  # its `created` is kept


@pytest.mark.parametrize("spoil", ["config", "state"])
def test_a_refused_resume_leaves_every_file_as_it_was(tmp_path, spoil) -> None:
    cfg = config_io.with_overrides(config_io.load_preset("demo"), DRAWN)
    run = tmp_path / "cut"
    cancelled_after_first_epoch(cfg, run)
    if spoil == "config":  # another config than the one the states were saved under
        config_io.save(config_io.with_overrides(cfg, ["poison.rate=0.2"]), run / "config.toml")
    else:
        state = run / RESUME_DIR / "backdoored.pt"
        state.write_bytes(state.read_bytes()[:1000])
    before = every_file(run)
    with pytest.raises(SnnStudioError, match=r"another config|damaged resume state"):
        run_to_end(resume_experiment(run))
    assert every_file(run) == before
