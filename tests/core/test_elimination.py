from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from snnstudio.cli import build_parser, main
from snnstudio.cli_defense import option_flags, settings_from_arguments
from snnstudio.core.checkpoint import load_checkpoint, network_from_checkpoint
from snnstudio.core.config import load_preset, with_overrides
from snnstudio.core.defense import pruning as pruning_module
from snnstudio.core.defense.elimination import METHODS, EliminationSettings, run_elimination
from snnstudio.core.defense.finetuning import (
    Distillation,
    SharpnessAware,
    lr_schedule,
    teacher_copy,
)
from snnstudio.core.defense.settings import DEFAULT_METHOD, METHOD_SPECS, DetectionSettings
from snnstudio.core.errors import CheckpointError, ConfigError
from snnstudio.core.events import EpochDone, RunFinished
from snnstudio.core.models.conversion_layers import SpikeCountMaxPool2d
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import RunKind
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
    assert pruning["layer_label"].startswith("conv2 spikes")  # as the rest of the app names it
    assert metrics["asr"] < metrics["asr_before"] - 0.3
    ckpt = load_checkpoint(tmp_path / "fp" / "fineprune.pt")
    assert set(ckpt.state_dict) == set(load_checkpoint(run.backdoored).state_dict)
    weight = ckpt.state_dict["layers.9.weight"]
    dead_columns = int((weight.abs().sum(0) == 0).sum())
    assert dead_columns == pruning["pruned_units"]
    network_from_checkpoint(ckpt)


TINY_CONVERSION = [
    "data.train_limit=400", "data.test_limit=120", "rule.name=conversion", "rule.ann_epochs=3",
    "sim.eval_timesteps=8", "rule.reference_samples=200", "train.clean_twin=false",
]  # fmt: skip


def test_fine_pruning_of_a_converted_model_prunes_through_the_spike_count_max_pool(
    tmp_path,
) -> None:
    cfg = with_overrides(load_preset("demo"), TINY_CONVERSION)
    for _ in run_experiment(cfg, tmp_path / "lrc"):
        pass
    source = tmp_path / "lrc" / "model.pt"
    net = network_from_checkpoint(load_checkpoint(source))
    assert isinstance(net.layers[7], SpikeCountMaxPool2d)
    # the last conv spike layer reaches the FC stack through the count max-pool and flatten
    assert pruning_module.default_prune_layer(net) == "layers.6"
    settings = EliminationSettings("fineprune", clean_fraction=0.2, epochs=1)
    _, metrics = _run(source, tmp_path / "fp", settings)
    assert metrics["pruning"]["layer"] == "layers.6" and metrics["pruning"]["pruned_units"] > 0
    weight = load_checkpoint(tmp_path / "fp" / "fineprune.pt").state_dict["layers.9.weight"]
    assert int((weight.abs().sum(0) == 0).sum()) == metrics["pruning"]["pruned_units"]


def test_the_count_max_pool_ranks_units_by_the_rate_the_linear_reads() -> None:
    # one channel, a 2x2 window, T = 4: two inputs fire twice out of phase. The count
    # max-pool passes a rate of 2/4 (an OR of the spikes would pass 4/4), from a fresh state
    # however the network's own pool was left.
    pool = SpikeCountMaxPool2d(2)
    pool(torch.ones(1, 1, 2, 2))  # leftover state that must not leak into the ranking
    seq = np.zeros((4, 1, 1, 2, 2), dtype=np.float32)
    seq[[0, 2], 0, 0, 0, 0] = 1
    seq[[1, 3], 0, 0, 1, 1] = 1
    rate = pruning_module._through([pool], seq.reshape(4, 1, 4), (1, 2, 2))
    assert rate.tolist() == [0.5]
    assert pool.step_mode == "s" and pool.count == 0


def test_elimination_errors(tmp_path) -> None:
    run = tiny_backdoored_run()
    with pytest.raises(ConfigError, match="method = 'prune' is not one of"):
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


def test_every_method_in_the_registry_has_its_spec_and_the_default_comes_first() -> None:
    assert list(METHODS) == [spec.name for spec in METHOD_SPECS]
    assert EliminationSettings().method == DEFAULT_METHOD == METHOD_SPECS[0].name
    for spec in METHOD_SPECS:
        resolved = EliminationSettings(method=spec.name).resolved()
        for name in spec.defaults:
            assert getattr(resolved, name) is not None, (spec.name, name)


def test_cli_options_are_generated_from_the_settings() -> None:
    parser = build_parser()
    args = parser.parse_args(["eliminate", "model.pt"])
    assert settings_from_arguments(args, EliminationSettings) == EliminationSettings()
    args = parser.parse_args(["eliminate", "m.pt", "--method", "nad", "--nad-beta", "10",
                              "--prune-tolerance", "0.2"])  # fmt: skip
    settings = settings_from_arguments(args, EliminationSettings)
    assert (settings.method, settings.nad_beta, settings.prune_acc_tolerance) == ("nad", 10.0, 0.2)
    flags = {o.flag for o in option_flags(EliminationSettings)}
    help_text = parser._subparsers._group_actions[0].choices["eliminate"].format_help()
    for flag in flags:
        assert f"--{flag}" in help_text
    for name in METHODS:
        assert name in help_text
    detect = parser.parse_args(["detect", "m.pt", "--margin-steps", "7", "--no-reference-free"])
    settings = settings_from_arguments(detect, DetectionSettings)
    assert settings.max_margin.steps == 7 and settings.reference_free is False
    assert settings_from_arguments(parser.parse_args(["detect", "m.pt"]), DetectionSettings) == (
        DetectionSettings()
    )


def test_sharpness_aware_step_returns_to_the_weights() -> None:
    net = torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in net.parameters()]
    net(torch.ones(4, 3)).pow(2).sum().backward()
    sam = SharpnessAware(net, rho=0.5)
    sam.ascend()
    moved = torch.cat([(p - b).flatten() for p, b in zip(net.parameters(), before, strict=True)])
    assert moved.norm().item() == pytest.approx(0.5, rel=1e-5)  # a step of radius rho
    sam.descend_back()
    for p, b in zip(net.parameters(), before, strict=True):
        torch.testing.assert_close(p.detach(), b)


def test_schedules_peak_at_the_given_rate() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    for name in ("one-cycle", "cyclic"):
        optimizer = torch.optim.SGD([param], lr=0.3, momentum=0.9)
        scheduler = lr_schedule(optimizer, name, 0.3, 40)
        rates = []
        for _ in range(40):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        assert max(rates) == pytest.approx(0.3, rel=0.05) and rates[0] < 0.1 and rates[-1] < 0.1
    assert lr_schedule(torch.optim.SGD([param], lr=0.1), "constant", 0.1, 40) is None


def test_attention_distillation_pulls_towards_the_teacher() -> None:
    run = tiny_backdoored_run()
    net = network_from_checkpoint(load_checkpoint(run.backdoored)).eval()
    x_seq = torch.rand(4, 3, 1, 28, 28)
    labels = torch.zeros(3, dtype=torch.long)
    for feature in ("rate", "voltage"):
        same = Distillation(net, teacher_copy(net), feature, beta=1000.0)
        loss, logits = same(net, x_seq, labels)
        same.remove()
        plain = torch.nn.functional.cross_entropy(logits, labels)
        torch.testing.assert_close(loss, plain)  # identical teacher: no attention loss
        other = teacher_copy(net)
        with torch.no_grad():
            for p in other.parameters():
                p.mul_(1.5)
        apart = Distillation(net, other, feature, beta=1000.0)
        assert apart(net, x_seq, labels)[0].item() > plain.item()
        apart.remove()
    assert not any(m._forward_hooks for m in net.modules())  # the taps are gone


@pytest.mark.parametrize("method", ["superft", "ftsam", "nad"])
def test_fine_tuning_variants_run_as_stages(method, tmp_path) -> None:
    run = tiny_backdoored_run()
    settings = EliminationSettings(
        method, clean_fraction=0.2, epochs=1, teacher_epochs=1, settle_epochs=0
    )
    events, metrics = _run(run.backdoored, tmp_path / method, settings)
    stages = [e.stage for e in events if isinstance(e, EpochDone)]
    assert stages == ([f"{method}-teacher"] if method == "nad" else []) + [method]
    assert 0.0 <= metrics["asr"] <= 1.0 and metrics["settings"]["method"] == method
    if method == "nad":
        assert {"acc_teacher", "asr_teacher"} <= set(metrics)
    network_from_checkpoint(load_checkpoint(tmp_path / method / f"{method}.pt"))
