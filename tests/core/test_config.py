from __future__ import annotations

import pytest

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.errors import ConfigError


def test_toml_round_trip_keeps_every_field(tmp_path) -> None:
    cfg = config_io.with_overrides(
        ExperimentConfig(),
        ["poison.rate=0.05", "trigger.kind=array", "trigger.pattern=[[1.0, nan], [0.5, 1.0]]",
         "data.root=/some/where", "train.clean_twin=true"],
    )  # fmt: skip
    path = tmp_path / "exp.toml"
    config_io.save(cfg, path)
    again = config_io.load(path)
    assert again.poison.rate == 0.05
    assert again.data.root == "/some/where"
    assert again.train.clean_twin is True
    assert (
        again.trigger.pattern[0][0] == 1.0
        and again.trigger.pattern[0][1] != again.trigger.pattern[0][1]
    )
    assert config_io.dumps(again) == config_io.dumps(cfg)


def test_contract_keys_exist_under_their_names() -> None:
    keys = ["poison.rate", "poison.target", "trigger.kind", "trigger.size", "trigger.position",
            "data.name", "data.root", "model.arch", "model.neuron", "sim.timesteps",
            "train.epochs", "train.seed"]  # fmt: skip
    data = config_io.to_dict(ExperimentConfig())
    for key in keys:
        section, name = key.split(".")
        assert name in data[section], key


def test_overrides_are_typed() -> None:
    cfg = config_io.with_overrides(
        ExperimentConfig(),
        ["poison.target=3", "train.lr=1e-4", "data.root=2024", "sim.timesteps=8"],
    )
    assert cfg.poison.target == 3 and cfg.train.lr == 1e-4 and cfg.sim.timesteps == 8
    assert cfg.data.root == "2024"  # a string field keeps the text even when it looks like a number


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("poison.rat=0.1", "unknown key 'poison.rat'"),
        ("nosuch.key=1", "unknown key 'nosuch.key'"),
        ("poison=1", "unknown key 'poison'"),
        ("train.epochs=two", "train.epochs = 'two' must be an integer"),
        ("train.clean_twin=1", "train.clean_twin = 1 must be true or false"),
        ("poison.rate", "--set expects key=value"),
    ],
)
def test_bad_overrides_are_clear_errors(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        config_io.with_overrides(ExperimentConfig(), [assignment])


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("poison.rate=1.5", "poison.rate = 1.5 must be in [0, 1]"),
        ("poison.rate=-0.1", "must be in [0, 1]"),
        ("sim.timesteps=0", "sim.timesteps = 0 must be >= 1"),
        ("model.arch=lenet", "model.arch = 'lenet' is not one of"),
        ("data.name=imagenet", "data.name = 'imagenet' is not one of"),
        ("trigger.position=middle", "trigger.position = 'middle' is not one of"),
        ("train.lr=0", "train.lr = 0.0 must be > 0"),
        ("train.lr=inf", "train.lr = inf must be a finite number > 0"),
        ("model.tau=1", "model.tau = 1.0 must be > 1 (spikingjelly's LIF decay is 1/tau)"),
        ("trigger.kind=image", "needs trigger.path"),
    ],
)
def test_out_of_range_values_are_reported(assignment: str, message: str) -> None:
    cfg = config_io.with_overrides(ExperimentConfig(), [assignment])
    with pytest.raises(ConfigError) as err:
        validation.validate(cfg)
    assert message in str(err.value)


def test_unknown_key_in_a_file_names_the_key(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[poison]\nrate = 0.1\ntargett = 2\n")
    with pytest.raises(ConfigError, match=r"poison.targett"):
        config_io.load(path)


def test_invalid_toml_and_missing_file(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[poison\nrate = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_io.load(path)
    with pytest.raises(ConfigError, match="config file not found"):
        config_io.load(tmp_path / "missing.toml")


def test_demo_preset_is_the_contract() -> None:
    cfg = validation.validate(config_io.load_preset("demo"))
    assert (cfg.data.name, cfg.rule.name, cfg.model.arch) == ("digits", "bptt", "csnn")
    assert (cfg.poison.rate, cfg.poison.target) == (0.1, 0)
    with pytest.raises(ConfigError, match="unknown preset"):
        config_io.load_preset("nope")


def test_a_config_snnstudio_wrote_reads_a_missing_key_as_it_ran(tmp_path) -> None:
    """A run's config.toml written before train.loss_weighting and rule.spike_scaling existed
    reads them as that run ran (per set, layer by layer); a user's file takes the defaults."""
    from snnstudio.core.run_record import RunRecord
    from snnstudio.core.rundir import RUN_FILE, RunKind, load_config_file

    text = config_io.dumps(ExperimentConfig())
    old = text.replace('loss_weighting = "per_sample"\n', "").replace(
        'spike_scaling = "after"\n', ""
    )
    assert old != text and "loss_weighting" not in old and "spike_scaling" not in old
    (tmp_path / "mine.toml").write_text(old)
    mine = load_config_file(tmp_path / "mine.toml")
    assert (mine.train.loss_weighting, mine.rule.spike_scaling) == ("per_sample", "after")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text(old)
    (run / RUN_FILE).write_text('{"kind": "experiment"}')
    record = RunRecord(run, RunKind.EXPERIMENT, "")
    for cfg in (load_config_file(run / "config.toml"), record.config()):
        assert (cfg.train.loss_weighting, cfg.rule.spike_scaling) == ("per_set", "layerwise")
    # and a run that names them keeps its own
    (run / "config.toml").write_text(text)
    assert record.config().train.loss_weighting == "per_sample"
