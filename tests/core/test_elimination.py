from __future__ import annotations

import json

import pytest
import torch

from snnstudio.cli import main
from snnstudio.core.checkpoint import load_checkpoint, network_from_checkpoint
from snnstudio.core.config import load_preset, with_overrides
from snnstudio.core.defense.elimination import EliminationSettings, run_elimination
from snnstudio.core.errors import CheckpointError, ConfigError
from snnstudio.core.events import EpochDone, RunFinished
from snnstudio.core.rundir import RunKind, open_run
from snnstudio.core.runner import prepare_data, run_experiment
from snnstudio.core.training import evaluate
from tests.core.backdoored_models import one_torch_thread, tiny_backdoored_run  # noqa: F401


def _run(path, out, settings):  # type: ignore[no-untyped-def]
    events = list(run_elimination(path, out, settings))
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    return events, events[-1].metrics


def test_fine_tuning_on_clean_data_lowers_the_asr(tmp_path) -> None:
    run = tiny_backdoored_run()
    settings = EliminationSettings("finetune", clean_fraction=0.2)
    events, metrics = _run(run.backdoored, tmp_path / "ft", settings)
    assert metrics["asr_before"] > 0.9
    assert metrics["asr"] < metrics["asr_before"] - 0.3
    stages = {e.stage for e in events if isinstance(e, EpochDone)}
    assert stages == {"finetune", "finetune-settle"}
    saved = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert saved["asr"] == metrics["asr"] and saved["acc_before"] == metrics["acc_before"]
    assert saved["seconds"]["total"] > 0
    assert open_run(tmp_path / "ft").kind is RunKind.ELIMINATION
    history = (tmp_path / "ft" / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 8 + 4
    ckpt = load_checkpoint(tmp_path / "ft" / "finetune.pt")
    assert ckpt.header["stage"] == "finetune"
    network_from_checkpoint(ckpt)  # the same architecture


def test_fine_pruning_cuts_units_and_lowers_the_asr(tmp_path) -> None:
    run = tiny_backdoored_run()
    settings = EliminationSettings("fineprune", clean_fraction=0.2, epochs=2)
    _, metrics = _run(run.backdoored, tmp_path / "fp", settings)
    pruning = metrics["pruning"]
    assert pruning["layer"] == "layers.6" and pruning["pruned_units"] > 0
    assert metrics["asr"] < metrics["asr_before"] - 0.3
    ckpt = load_checkpoint(tmp_path / "fp" / "fineprune.pt")
    assert set(ckpt.state_dict) == set(load_checkpoint(run.backdoored).state_dict)
    weight = ckpt.state_dict["layers.9.weight"]
    dead_columns = int((weight.abs().sum(0) == 0).sum())
    assert dead_columns == pruning["pruned_units"]
    network_from_checkpoint(ckpt)


def test_elimination_errors(tmp_path) -> None:
    run = tiny_backdoored_run()
    with pytest.raises(ConfigError, match="method 'prune'"):
        next(run_elimination(run.backdoored, settings=EliminationSettings("prune")))
    with pytest.raises(ConfigError, match="cannot be pruned"):
        list(
            run_elimination(
                run.backdoored, None, EliminationSettings("fineprune", layer="layers.2")
            )
        )
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError):
        next(run_elimination(tmp_path / "junk.pt"))


def test_cli_exit_codes(tmp_path, capsys) -> None:
    run = tiny_backdoored_run()
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert main(["detect", str(tmp_path / "junk.pt"), "--out", str(tmp_path / "d")]) == 2
    assert capsys.readouterr().err.startswith("snnstudio: error: ")
    ckpt = load_checkpoint(run.backdoored)
    ckpt.header["config"]["model"]["arch"] = "resnet18"
    torch.save({"header": ckpt.header, "state_dict": ckpt.state_dict}, tmp_path / "res.pt")
    args = ["eliminate", str(tmp_path / "res.pt"), "--method", "finetune", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "do not fit a resnet18 network" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["eliminate", str(run.backdoored), "--method", "bogus"])
    assert exit_info.value.code == 2
    out = tmp_path / "cli-fp"
    args = ["eliminate", str(run.backdoored), "--method", "fineprune", "--epochs", "1",
            "--clean-fraction", "0.2", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert (out / "fineprune.pt").is_file() and (out / "metrics.json").is_file()
    assert main(args) == 2  # the folder holds results now
    assert "already holds results" in capsys.readouterr().err
    det = ["detect", str(run.backdoored), "--no-reference-free", "--out", str(tmp_path / "det"),
           "--quiet", "--set", "data.test_limit=80"]  # fmt: skip
    assert main(det) == 0
    assert json.loads((tmp_path / "det" / "report.json").read_text())["sample_level"]["auroc"] > 0.5


TINY_HYBRID = [
    "data.train_limit=400", "data.test_limit=120", "rule.name=hybrid", "rule.ann_epochs=3",
    "train.epochs=1", "rule.reference_samples=200", "train.clean_twin=false",
]  # fmt: skip


def test_reconversion_of_a_hybrid_model(tmp_path) -> None:
    cfg = with_overrides(load_preset("demo"), TINY_HYBRID)
    for _ in run_experiment(cfg, tmp_path / "hybrid"):
        pass
    source = tmp_path / "hybrid" / "model.pt"
    settings = EliminationSettings("reconvert", clean_fraction=0.2, epochs=1)
    events, metrics = _run(source, tmp_path / "rc", settings)
    assert {"acc_reconverted", "asr_reconverted", "acc", "asr"} <= set(metrics)
    assert any(isinstance(e, EpochDone) and e.stage == "reconvert-stdb" for e in events)
    old, new = load_checkpoint(source), load_checkpoint(tmp_path / "rc" / "reconvert.pt")
    assert new.config.model.neuron == "if" and new.config.model.reset == "soft"
    assert new.header["thresholds"] != old.header["thresholds"]  # balanced on clean data
    net = network_from_checkpoint(new)
    data = prepare_data(new.config)
    scores = evaluate(net, data.sets, new.config.sim.timesteps, "repeat", torch.device("cpu"))
    assert (scores["acc"], scores["asr"]) == (metrics["acc"], metrics["asr"])
    with pytest.raises(ConfigError, match="method 'reconvert' needs a model made by"):
        next(run_elimination(tiny_backdoored_run().backdoored, None, settings))
