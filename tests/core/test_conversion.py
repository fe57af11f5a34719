"""LR_C: a trained ANN converts with its accuracy, the curve file, checkpoints, errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from snnstudio.cli import main
from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.checkpoint import load_checkpoint, network_from_checkpoint
from snnstudio.core.data.base import DatasetSplits, SampleSet
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import RunFinished, TimestepCurve
from snnstudio.core.metrics import NO_DECISION, decide
from snnstudio.core.models.neurons import is_spiking_layer
from snnstudio.core.rules.context import RuleContext
from snnstudio.core.rules.conversion import run_conversion
from snnstudio.core.rules.hybrid import run_hybrid
from snnstudio.core.runner import prepare_data, run_experiment
from snnstudio.core.training import EvalSets, evaluate

T_MAX = 16
SMALL = [
    "data.train_limit=500", "data.test_limit=100", "rule.name=conversion", "rule.ann_epochs=4",
    f"sim.eval_timesteps={T_MAX}", "rule.reference_samples=100", "train.clean_twin=false",
]  # fmt: skip


@pytest.fixture(scope="module")
def converted_run(tmp_path_factory):
    cfg = config_io.with_overrides(config_io.load_preset("demo"), SMALL)
    out = tmp_path_factory.mktemp("conversion")
    events = list(run_experiment(cfg, out))
    return cfg, out, events


def test_conversion_keeps_the_accuracy_of_the_trained_ann(converted_run) -> None:
    _, out, events = converted_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ann_acc"] > 0.8
    assert metrics["acc"] >= metrics["ann_acc"] - 0.05
    assert metrics["mr"] >= 0.95  # the backdoor migrates (rate-correct max-pool)
    assert metrics["mr"] == pytest.approx(metrics["asr"] / metrics["ann_asr"])
    assert set(metrics["seconds"]["backdoored"]) >= {"ann_training", "conversion", "snn_training"}
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"


def test_curve_file_has_one_row_per_timestep_and_matches_metrics(converted_run) -> None:
    _, out, events = converted_run
    rows = list(csv.DictReader((out / "curve.csv").open()))
    assert [int(r["t"]) for r in rows] == list(range(1, T_MAX + 1))
    acc = np.array([float(r["acc"]) for r in rows])
    asr = np.array([float(r["asr"]) for r in rows])
    assert ((acc >= 0) & (acc <= 1) & (asr >= 0) & (asr <= 1)).all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["acc"], metrics["asr"]) == (acc[-1], asr[-1])
    assert metrics["eval_timesteps"] == T_MAX
    assert metrics["best_t_acc"] == acc.max() == acc[metrics["best_t"] - 1]
    assert metrics["best_t_asr"] == asr[metrics["best_t"] - 1]
    curve = next(e for e in events if isinstance(e, TimestepCurve))
    assert curve.stage == "backdoored" and curve.acc == acc.tolist()


def test_checkpoint_rebuilds_the_converted_if_network(converted_run) -> None:
    cfg, out, _ = converted_run
    ckpt = load_checkpoint(out / "model.pt")
    assert ckpt.config.model.neuron == "if" and ckpt.config.model.reset == "soft"
    assert ckpt.config.model.v_init == cfg.rule.v_init == 0.5
    assert ckpt.header["timesteps"] == T_MAX and len(ckpt.header["thresholds"]) == 3
    net = network_from_checkpoint(ckpt)
    assert {m.v_init for m in net.modules() if is_spiking_layer(m)} == {0.5}
    data = prepare_data(cfg)
    scores = evaluate(net, data.sets, T_MAX, "repeat", torch.device("cpu"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert (scores["acc"], scores["asr"]) == (metrics["acc"], metrics["asr"])


def test_a_tie_in_the_readout_is_no_decision() -> None:
    outputs = torch.tensor([[0.0, 0.0, 0.0], [0.0, 2.0, 1.0], [1.0, 1.0, 0.0]])
    assert decide(outputs).tolist() == [NO_DECISION, 1, 0]


@pytest.mark.parametrize("rule", [run_conversion, run_hybrid])
def test_neuromorphic_data_is_refused_with_a_clear_error(rule) -> None:
    frames = SampleSet.clean(np.zeros((4, 3, 2, 8, 8), np.float32), np.arange(4) % 2)
    splits = DatasetSplits("nmnist", frames, frames, ["0", "1"], is_event=True)
    cfg = config_io.ExperimentConfig()
    ctx = RuleContext(
        cfg, splits, frames, EvalSets(frames, frames, 0), torch.device("cpu"), "s", "backdoored"
    )
    with pytest.raises(ConfigError, match="neuromorphic"):
        next(rule(ctx))


def test_conversion_keys_are_validated() -> None:
    cfg = config_io.with_overrides(
        config_io.ExperimentConfig(),
        ["rule.name=conversion", "rule.norm=l2", "rule.scale=0", "rule.reference=test",
         "rule.combo=com5", "sim.eval_timesteps=-1", "model.arch=resnet18"],
    )  # fmt: skip
    found = " | ".join(validation.problems(cfg))
    for key in ("rule.norm", "rule.scale", "rule.reference", "rule.combo", "sim.eval_timesteps"):
        assert key in found
    assert "model.arch" not in found  # ResNet18 converts
    trained = config_io.with_overrides(config_io.ExperimentConfig(), ["model.converted=true"])
    assert "model.converted" in " | ".join(validation.problems(trained))
    events = config_io.with_overrides(cfg, ["data.name=digits-dvs", "model.arch=csnn"])
    assert any("neuromorphic" in p for p in validation.problems(events))
    assert validation.problems(config_io.load_preset("demo")) == []


def test_demo_preset_with_conversion_finishes(tmp_path, capsys) -> None:
    args = ["run", "--preset", "demo", "--set", "rule.name=conversion", "--quiet"]
    tiny = ["data.train_limit=200", "data.test_limit=60", "train.epochs=1",
            "sim.eval_timesteps=6", "rule.reference_samples=64", "rule.norm=spike"]  # fmt: skip
    for item in tiny:
        args += ["--set", item]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("ann_acc", "clean_ann_acc", "delta_ann_acc", "delta_asr", "clean_best_t"):
        assert key in metrics
    assert (tmp_path / "run" / "clean-twin-curve.csv").is_file()
    assert main(["run", "--preset", "demo", "--set", "rule.norm=l1", "--out", "x"]) == 2
    assert "rule.norm" in capsys.readouterr().err
