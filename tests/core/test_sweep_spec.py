"""Sweep specs: parsing, point expansion, and one clear error before any run starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from snnstudio.cli import main
from snnstudio.core.errors import ConfigError
from snnstudio.core.sweep.spec import (
    load_spec,
    load_sweep_preset,
    loads_spec,
    sweep_preset_names,
)

GRID = """
base = "demo"
name = "pr-x-position"
repeats = 2
[set]
"train.epochs" = 2
[grid]
"poison.rate" = [0.05, 0.1]
"trigger.position" = ["top-left", "bottom-right"]
"""


def test_grid_points_in_order_with_seeds() -> None:
    spec = loads_spec(GRID)
    points = spec.points()
    assert spec.axes == ["poison.rate", "trigger.position"]
    assert len(points) == 8
    firsts = [(p.values["poison.rate"], p.values["trigger.position"], p.seed) for p in points[:4]]
    assert firsts == [
        (0.05, "top-left", 0), (0.05, "top-left", 1),
        (0.05, "bottom-right", 0), (0.05, "bottom-right", 1),
    ]  # fmt: skip
    last = points[-1].config
    assert (last.poison.rate, last.trigger.position, last.train.seed) == (0.1, "bottom-right", 1)
    assert last.train.epochs == 2 and last.data.name == "digits"  # [set] and the demo base
    assert len({p.name for p in points}) == 8  # one run directory each


def test_zip_axes_vary_together_and_cross_the_grid() -> None:
    spec = loads_spec(
        """
        [grid]
        "poison.rate" = [0.02, 0.1]
        [zip]
        "rule.name" = ["bptt", "conversion"]
        "sim.timesteps" = [4, 16]
        """
    )
    combos = [(p.values["rule.name"], p.config.sim.timesteps) for p in spec.points()]
    assert combos == [("bptt", 4), ("conversion", 16)] * 2


def test_resolved_spec_round_trips(tmp_path: Path) -> None:
    spec = loads_spec(GRID)
    again = loads_spec(spec.dumps())
    assert again.to_dict() == spec.to_dict()
    assert [p.config for p in again.points()] == [p.config for p in spec.points()]


def test_base_config_file_is_relative_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\n[train]\nepochs = 3\n')
    (tmp_path / "spec.toml").write_text('base = "mine.toml"\n[grid]\n"poison.rate" = [0.1]\n')
    spec = load_spec(tmp_path / "spec.toml")
    assert spec.base.train.epochs == 3 and spec.name == "spec"


ELIMINATE = 'job = "train-eliminate"\n[job_settings]\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colour = "red"', "unknown key 'colour'"),
        ('[grid]\n"poison.colour" = [1, 2]', "unknown key 'poison.colour'"),
        ('[set]\n"train.epoch" = 2', "unknown key 'train.epoch'"),
        ('[grid]\n"poison.rate" = []', "'poison.rate' is an empty list"),
        ('[grid]\n"poison.rate" = 0.1', "must be a list of values"),
        ('[grid]\n"poison.rate" = [0.1, 1.5]', "poison.rate = 1.5 must be in [0, 1]"),
        ('[grid]\n"train.epochs" = [1, "two"]', "train.epochs = 'two' must be an integer"),
        ('[zip]\n"poison.rate" = [0.1, 0.2]\n"poison.target" = [1]', "equal lengths"),
        ('[set]\n"poison.rate" = 0.1\n[grid]\n"poison.rate" = [0.2]', "in both [set] and [grid]"),
        ("repeats = 0", "repeats = 0 must be >= 1"),
        ('repeats = "2"', "repeats = '2' must be an integer"),
        ('base = "no-such-preset"', "neither a preset"),
        ('base = "missing.toml"', "config file not found"),
        ('job = "dance"', "job = 'dance' is not one of"),
        ('[job_settings]\nmethod = "finetune"', "job 'experiment' takes no settings"),
        (ELIMINATE + 'mthod = "x"', "unknown key 'job_settings.mthod'"),
        (ELIMINATE + 'method = "wash"', "job_settings.method = 'wash' is not one of"),
        (ELIMINATE + 'epochs = "2"', "job_settings.epochs = '2' must be an integer"),
        (ELIMINATE + "clean_fraction = 0", "job_settings.clean_fraction = 0.0 must be in (0, 1]"),
        ("[grid\n", "not valid TOML"),
    ],
)
def test_bad_specs_give_one_clear_error(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_every_bad_point_is_named_in_the_error() -> None:
    with pytest.raises(ConfigError) as info:
        loads_spec('[grid]\n"poison.rate" = [0.1, 2.0]\n"model.tau" = [2.0, 0.5]')
    text = str(info.value)
    assert "point 1 (poison.rate=0.1, model.tau=0.5, seed=0)" in text
    assert "point 3 (poison.rate=2.0, model.tau=0.5, seed=0)" in text
    assert "point 0 " not in text


def test_cli_refuses_a_bad_spec_before_any_run(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[grid]\n"poison.rate" = [0.1, -1.0]')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snnstudio: error: ") and err.count("\n") == 1
    assert "poison.rate = -1.0 must be in [0, 1]" in err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_zero_workers_before_any_run(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "ok.toml"
    spec.write_text('[grid]\n"poison.rate" = [0.1]')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "0"]) == 2
    assert "--workers 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_every_sweep_preset_parses_and_is_listed(capsys) -> None:
    names = sweep_preset_names()
    for wanted in ("table1", "table2", "table3", "table4", "fig9", "fig10", "fig17", "fig18"):
        assert f"paper-{wanted}" in names
    for name in names:
        spec = load_sweep_preset(name)
        assert spec.points(), name
    assert main(["presets"]) == 0
    listed = capsys.readouterr().out
    assert "demo" in listed and "paper-table3" in listed
    assert "paper_results" not in listed  # the paper's numbers are data, not a preset


def test_repeats_is_set_from_the_command_line() -> None:
    one_seed = load_sweep_preset("paper-fig9", ["repeats=1"])
    assert one_seed.repeats == 1
    assert len(one_seed.points()) == len(load_sweep_preset("paper-fig9").points()) // 3
    with pytest.raises(ConfigError, match="repeats"):
        load_sweep_preset("paper-fig9", ["repeats=0"])
