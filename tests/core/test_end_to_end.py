"""One short experiment through the runner and the CLI, with the run directory contract."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from snnstudio.cli import main
from snnstudio.core import config as config_io
from snnstudio.core.checkpoint import load_checkpoint
from snnstudio.core.events import BatchDone, CancelToken, EpochDone, RunFinished, StageStarted
from snnstudio.core.host import hardware
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import RunKind
from snnstudio.core.runner import run_experiment

FAST = ["data.train_limit=400", "data.test_limit=100", "train.epochs=2", "sim.timesteps=2"]


def fast_demo(*extra: str) -> config_io.ExperimentConfig:
    return config_io.with_overrides(config_io.load_preset("demo"), [*FAST, *extra])


def test_run_writes_the_run_directory(tmp_path) -> None:
    events = list(run_experiment(fast_demo(), tmp_path / "run"))
    kinds = {type(e) for e in events}
    assert {StageStarted, BatchDone, EpochDone, RunFinished} <= kinds
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "completed"
    run = tmp_path / "run"
    for name in (
        "config.toml",
        "metrics.json",
        "history.csv",
        "log.txt",
        "model.pt",
        "clean-twin.pt",
    ):
        assert (run / name).is_file(), name
    assert any((run / "tensorboard").iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("acc", "asr", "clean_acc", "clean_asr", "delta_acc", "asr_gain"):
        assert 0.0 <= abs(metrics[key]) <= 1.0, key
    assert metrics["poisoned_samples"] == 40 and metrics["status"] == "completed"
    assert set(metrics["seconds"]) >= {"data", "backdoored", "clean-twin", "total"}
    assert metrics["hardware"] == hardware(torch.device("cpu"))  # what the seconds ran on
    assert metrics["hardware"] in (run / "log.txt").read_text()
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [(r["stage"], r["epoch"]) for r in rows] == [
        ("backdoored", "1"), ("backdoored", "2"), ("clean-twin", "1"), ("clean-twin", "2")
    ]  # fmt: skip
    assert config_io.load(run / "config.toml") == fast_demo()
    assert load_checkpoint(run / "model.pt").header["stage"] == "backdoored"
    record = open_run(run)
    assert record.kind is RunKind.EXPERIMENT and record.checkpoint("clean-twin") is not None


def test_same_seed_same_metrics() -> None:
    cfg = fast_demo("train.clean_twin=false", "train.epochs=1")
    first = list(run_experiment(cfg))[-1].metrics
    second = list(run_experiment(cfg))[-1].metrics
    assert (first["acc"], first["asr"], first["loss"]) == (
        second["acc"],
        second["asr"],
        second["loss"],
    )


def test_cancel_between_batches_keeps_the_files(tmp_path) -> None:
    token = CancelToken()
    events = []
    for event in run_experiment(fast_demo(), tmp_path / "run", token):
        events.append(event)
        if isinstance(event, BatchDone) and event.step == 3:
            token.cancel()
    assert isinstance(events[-1], RunFinished) and events[-1].status == "cancelled"
    assert sum(isinstance(e, BatchDone) for e in events) == 3
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "cancelled"
    assert (tmp_path / "run" / "config.toml").is_file()


def test_cli_run_and_its_errors(tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    args = [
        "run",
        "--preset",
        "demo",
        "--out",
        str(out),
        "--quiet",
        "--set",
        "train.clean_twin=false",
    ]
    assert main([*args, *(f"--set={s}" for s in FAST)]) == 0
    assert json.loads((out / "metrics.json").read_text())["status"] == "completed"
    capsys.readouterr()
    assert main([*args]) == 2  # the folder already holds a run
    assert "already holds a run" in capsys.readouterr().err
    assert (
        main(["run", "--preset", "demo", "--set", "poison.rate=2", "--out", str(tmp_path / "x")])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("snnstudio: error: poison.rate = 2.0 must be in [0, 1]")
    assert len(err.strip().splitlines()) == 1
    bad_root = ["--set", "data.name=mnist", "--set", f"data.root={tmp_path / 'none'}"]
    assert main(["run", "--preset", "demo", *bad_root, "--out", str(tmp_path / "y")]) == 2
    assert "MNIST folder not found" in capsys.readouterr().err


def test_cli_config_prints_a_runnable_file(tmp_path, capsys) -> None:
    assert main(["config", "--preset", "demo", "--set", "poison.target=7"]) == 0
    path = tmp_path / "exp.toml"
    path.write_text(capsys.readouterr().out)
    assert config_io.load(path).poison.target == 7


@pytest.mark.parametrize("target", [10, 12])
def test_target_outside_the_classes_is_an_error(target: int) -> None:
    from snnstudio.core.errors import ConfigError

    with pytest.raises(ConfigError, match=f"poison.target = {target} is not a class of digits"):
        list(run_experiment(fast_demo(f"poison.target={target}")))


def test_a_clean_twin_has_no_migration_rate() -> None:
    """MR is the share of the ANN's backdoor the SNN kept; a clean twin has none to keep, and
    its chance ASR over chance ASR once read 3.0 (300 %) in metrics.json."""
    cfg = fast_demo("rule.name=conversion", "rule.ann_epochs=1", "train.epochs=1")
    metrics = list(run_experiment(cfg))[-1].metrics
    assert "mr" in metrics and "clean_asr" in metrics and "clean_ann_asr" in metrics
    assert not any(key.startswith("clean_") and key.endswith("mr") for key in metrics)
