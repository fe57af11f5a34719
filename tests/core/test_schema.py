"""One schema for configs, sweep specs' [job_settings] and the defences' settings: the same
types, the same checks attached to the fields, the same message style."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from snnstudio.core import config as config_io
from snnstudio.core import schema, validation
from snnstudio.core.defense.settings import DetectionSettings, EliminationSettings
from snnstudio.core.errors import ConfigError
from snnstudio.core.schema import CHECK, Check
from snnstudio.core.sweep.elimination_job import elimination_settings


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (Check(ge=0), -1, "k = -1 must be >= 0"),
        (Check(gt=0), 0.0, "k = 0.0 must be > 0"),
        (Check(gt=0), math.nan, "k = nan must be a finite number > 0"),
        (Check(ge=0, le=1), 1.5, "k = 1.5 must be in [0, 1]"),
        (Check(gt=0, le=1), 0, "k = 0 must be in (0, 1]"),
        (Check(ge=0, lt=1), 1.0, "k = 1.0 must be in [0, 1)"),
        (Check(choices=("a", "b")), "c", "k = 'c' is not one of: a, b"),
        (Check(choices=lambda: ["x"]), "y", "k = 'y' is not one of: x"),
        (Check(ge=0, note="(0 = all)"), -2, "k = -2 must be >= 0 (0 = all)"),
    ],
)
def test_a_check_says_what_the_value_must_be(check: Check, value, message: str) -> None:
    assert check.problem("k", value) == message


def test_none_and_values_in_range_pass() -> None:
    assert Check(gt=0).problem("k", None) is None
    assert Check(ge=0, lt=1).problem("k", 0) is None
    assert Check(choices=(0, 1, 2)).problem("k", 2) is None


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [(2, float, 2.0), (3.0, int, 3), (True, bool, True), ([1], list, [1]),
     (None, int | None, None)],
)  # fmt: skip
def test_coerce_accepts_what_toml_gives(value, annotation, expected) -> None:
    got = schema.coerce(value, annotation, "k")
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "annotation", "kind"),
    [(True, int, "an integer"), (2.5, int, "an integer"), ("1", float, "a number"),
     (1, bool, "true or false"), (3, str, "a string"), ("x", list, "a list")],
)  # fmt: skip
def test_coerce_refuses_in_one_style(value, annotation, kind: str) -> None:
    with pytest.raises(ConfigError, match=f"^k = {value!r} must be {kind}$"):
        schema.coerce(value, annotation, "k")


def test_configs_job_settings_and_defence_settings_read_and_check_alike() -> None:
    """The same kind of mistake gives the same sentence in all three."""
    with pytest.raises(ConfigError, match=r"^train.epochs = 'two' must be an integer$"):
        config_io.with_overrides(config_io.ExperimentConfig(), ["train.epochs=two"])
    with pytest.raises(ConfigError, match=r"^job_settings.epochs = 'two' must be an integer$"):
        elimination_settings({"epochs": "two"})
    with pytest.raises(ConfigError, match=r"^unknown key 'job_settings.epoch' \(known: "):
        elimination_settings({"epoch": 2})
    cfg = config_io.with_overrides(config_io.ExperimentConfig(), ["data.train_limit=-1"])
    assert validation.problems(cfg) == ["data.train_limit = -1 must be >= 0"]
    assert schema.problems(EliminationSettings(clean_fraction=0.0, epochs=-1)) == [
        "clean_fraction = 0.0 must be in (0, 1]", "epochs = -1 must be >= 0",
    ]  # fmt: skip
    bad = DetectionSettings(feature="bogus")
    bad.max_margin.alpha = 1.0
    assert schema.problems(bad) == [
        "feature = 'bogus' is not one of: voltage, spikes, both",
        "max_margin.alpha = 1.0 must be in (0, 1)",
    ]
    with pytest.raises(ConfigError, match=r"feature = 'bogus'.*; max_margin\.alpha = 1\.0"):
        bad.check()


def test_every_problem_is_reported_not_just_the_first() -> None:
    cfg = config_io.with_overrides(
        config_io.ExperimentConfig(), ["poison.rate=2", "model.arch=lenet", "rule.scale=0"]
    )
    found = validation.problems(cfg)
    assert "poison.rate = 2.0 must be in [0, 1]" in found
    assert any(p.startswith("model.arch = 'lenet' is not one of: csnn") for p in found)
    assert "rule.scale = 0.0 must be in (0, 1]" in found


def test_checks_attach_to_fields_by_metadata_or_a_declared_table() -> None:
    @dataclass
    class Knobs:
        a: int = field(default=1, metadata={CHECK: Check(ge=1)})
        b: float = 0.5
        c: str = "x"

    schema.declare(Knobs, b=Check(gt=0, lt=1), c=Check(choices=("x", "y")))
    assert schema.problems(Knobs(0, 1.0, "z")) == [
        "a = 0 must be >= 1", "b = 1.0 must be in (0, 1)", "c = 'z' is not one of: x, y",
    ]  # fmt: skip
    with pytest.raises(TypeError, match="no field d"):
        schema.declare(Knobs, d=Check(ge=0))
