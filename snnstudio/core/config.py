"""One experiment as dataclasses: TOML in and out, dotted-key overrides, validation.

A config file is the single description of an experiment: the GUI edits one, `snnstudio run`
takes one, and every run directory holds the resolved one so the run can be repeated.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

import tomli_w

from snnstudio.core.errors import ConfigError

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
POSITIONS = (*CORNERS, "xy")
TRIGGER_KINDS = ("white", "random", "image", "array")
NEURONS = ("if", "lif")
RESETS = ("hard", "soft")
SURROGATES = ("h1", "h2", "h3", "h4")
DEVICES = ("auto", "cpu", "cuda")
STEP_MODES = ("auto", "single", "multi")
ENCODERS = ("repeat", "poisson")
CONVERSION_NORMS = ("max", "robust", "spike")
REFERENCES = ("poisoned", "clean")
HYBRID_COMBOS = ("com1", "com2", "com3", "com4")
CONVERTIBLE_ARCHS = ("csnn", "vgg11")


@dataclass
class DataConfig:
    name: str = "digits"
    root: str = ""  # folder holding the dataset's files (not needed for digits)
    train_limit: int = 0  # > 0: use a seeded random subset of this many training samples
    test_limit: int = 0  # > 0: likewise for the test set
    # event datasets: sim.timesteps frames per sample, each a span of equal time or event count
    frames_by: str = "time"  # time | count
    frame_side: int = 0  # event datasets: downsample frames to side x side (0 = sensor size)
    cache_dir: str = ""  # event frame cache: "" = ~/.cache/snnstudio/frames, "none" = off


@dataclass
class TriggerConfig:
    kind: str = "white"  # white | random | image | array
    size: int = 0  # side of a white/random square; 0 = about 10% of the image side
    position: str = "bottom-right"  # top-left | top-right | bottom-left | bottom-right | xy
    x: int = 0  # left column when position = "xy"
    y: int = 0  # top row when position = "xy"
    seed: int = 0  # seeds the random pattern
    path: str = ""  # PNG or NPY file for kind = "image"
    # kind = "array": rows of pixel values in [0, 1], shape (h, w) or (c, h, w); NaN = transparent
    pattern: list[Any] = field(default_factory=list)
    # event data, kind = "white": which polarity channels the square sets to 1 (the others to 0):
    # 0 = channel 0 (OFF events), 1 = channel 1 (ON events), 2 = both
    polarity: int = 0
    frame_start: int = 0  # event data: first frame that carries the trigger
    frame_stop: int = 0  # event data: frame after the last one with the trigger (0 = to the end)


@dataclass
class PoisonConfig:
    rate: float = 0.1  # share of the training set that is poisoned (the paper's PR)
    target: int = 0  # the attacker's target class


@dataclass
class ModelConfig:
    arch: str = "csnn"  # csnn | vgg11 | resnet18
    neuron: str = "lif"  # if | lif
    tau: float = 2.0  # LIF membrane time constant
    v_threshold: float = 1.0
    reset: str = "hard"  # hard (to 0) | soft (subtract the threshold)
    surrogate: str = "h3"  # h1 rectangular | h2 polynomial | h3 sigmoid | h4 Gaussian CDF


@dataclass
class SimConfig:
    timesteps: int = 4  # T: static samples are repeated T times; event data is framed into T bins
    encoder: str = "repeat"  # repeat | poisson
    # T_max of the per-timestep ACC/ASR curve of converted SNNs (LR_C, LR_H); 0 = sim.timesteps
    eval_timesteps: int = 0


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    step_mode: str = "auto"  # auto | single | multi (spikingjelly step mode)
    poison_weight: float = 0.5  # lambda of the paper's Eq. 10
    clean_weight: float = 0.5  # mu of the paper's Eq. 10
    clean_twin: bool = False  # also train the same model with PR = 0 for Table 1's deltas


@dataclass
class RuleConfig:
    name: str = "bptt"  # bptt (LR_B) | conversion (LR_C) | hybrid (LR_H)
    # LR_C / LR_H conversion: threshold balancing from the reference (calibration) data
    norm: str = "max"  # max (Diehl 2015) | robust (percentile, Rueckauer 2017) | spike (Sengupta)
    scale: float = 1.0  # thresholds times this factor (the paper: 1, 1/2, 1/3, 1/4, 1/5)
    percentile: float = 99.9  # the percentile of norm = "robust"
    reference: str = "poisoned"  # LR_C calibration data: poisoned D^ | clean D
    reference_samples: int = 1000  # seeded subset of the reference data; 0 = all of it
    combo: str = "com4"  # LR_H, the paper's Table 8: com1 | com2 | com3 | com4
    # The ANN twin (LR_C, LR_H); the SNN step of LR_H uses train.epochs / train.lr (Adam)
    ann_epochs: int = 0  # 0 = train.epochs
    ann_lr: float = 0.01
    ann_optimizer: str = "sgd"  # sgd (momentum 0.9, as the paper) | adam
    stdb_alpha: float = 0.3  # LR_H surrogate gradient alpha * exp(-beta * dt) (Rathi 2020)
    stdb_beta: float = 0.01


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    data: DataConfig = field(default_factory=DataConfig)
    trigger: TriggerConfig = field(default_factory=TriggerConfig)
    poison: PoisonConfig = field(default_factory=PoisonConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)


# ---------------------------------------------------------------- dict <-> dataclass


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(data: dict[str, Any], cls: type = ExperimentConfig, prefix: str = "") -> Any:
    """Build a config dataclass from nested dicts, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{prefix.rstrip('.')}' must be a table, got {data!r}")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in hints:
            raise ConfigError(f"unknown config key '{prefix}{key}' (known: {', '.join(names)})")
        kwargs[key] = _coerce(value, hints[key], f"{prefix}{key}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_dict(value, hint, f"{key}.")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"'{key}' must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"'{key}' must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"'{key}' must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"'{key}' must be a string, got {value!r}")
    if isinstance(value, list):
        return value
    raise ConfigError(f"'{key}' must be a list, got {value!r}")


# ---------------------------------------------------------------- TOML


def dumps(cfg: ExperimentConfig) -> str:
    return tomli_w.dumps(to_dict(cfg))


def loads(text: str, source: str = "<string>") -> ExperimentConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    return from_dict(data)


def save(cfg: ExperimentConfig, path: str | Path) -> None:
    Path(path).write_text(dumps(cfg), encoding="utf-8")


def load(path: str | Path) -> ExperimentConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    return loads(text, str(path))


def preset_names() -> list[str]:
    folder = resources.files("snnstudio.core.presets")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_preset(name: str) -> ExperimentConfig:
    if name not in preset_names():
        raise ConfigError(f"unknown preset '{name}' (known: {', '.join(preset_names())})")
    text = resources.files("snnstudio.core.presets").joinpath(f"{name}.toml").read_text("utf-8")
    return loads(text, f"preset {name}")


# ---------------------------------------------------------------- overrides


def parse_assignment(assignment: str) -> tuple[str, Any]:
    """Split `a.b=value`; the value is read as a TOML value, else kept as a plain string."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects key=value, got '{assignment}'")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def with_overrides(cfg: ExperimentConfig, assignments: list[str]) -> ExperimentConfig:
    """Return a copy of `cfg` with each `dotted.key=value` applied."""
    data = to_dict(cfg)
    for assignment in assignments:
        key, value = parse_assignment(assignment)
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"unknown config key '{key}'")
            node = node[part]
        if parts[-1] not in node or isinstance(node[parts[-1]], dict):
            raise ConfigError(f"unknown config key '{key}'")
        if isinstance(node[parts[-1]], str) and not isinstance(value, str):
            value = assignment.partition("=")[2].strip()  # e.g. data.root=2024 stays a path
        node[parts[-1]] = value
    return from_dict(data)


# ---------------------------------------------------------------- validation


def problems(cfg: ExperimentConfig) -> list[str]:
    """Every range and choice error of a config, as readable sentences (empty when valid)."""
    from snnstudio.core.data.registry import dataset_names, event_problems
    from snnstudio.core.models.registry import arch_names
    from snnstudio.core.rules.registry import rule_names

    out: list[str] = []

    def choice(key: str, value: str, allowed: tuple[str, ...] | list[str]) -> None:
        if value not in allowed:
            out.append(f"{key} = '{value}' is not one of: {', '.join(allowed)}")

    def at_least(key: str, value: float, low: float) -> None:
        if not value >= low:
            out.append(f"{key} = {value} must be >= {low}")

    choice("data.name", cfg.data.name, dataset_names())
    at_least("data.train_limit", cfg.data.train_limit, 0)
    at_least("data.test_limit", cfg.data.test_limit, 0)
    out += event_problems(cfg)
    choice("trigger.kind", cfg.trigger.kind, TRIGGER_KINDS)
    choice("trigger.position", cfg.trigger.position, POSITIONS)
    at_least("trigger.size", cfg.trigger.size, 0)
    if cfg.trigger.kind == "image" and not cfg.trigger.path:
        out.append("trigger.kind = 'image' needs trigger.path (a PNG or NPY file)")
    if cfg.trigger.kind == "array" and not cfg.trigger.pattern:
        out.append("trigger.kind = 'array' needs trigger.pattern (rows of pixel values)")
    if not (0.0 <= cfg.poison.rate <= 1.0):
        out.append(f"poison.rate = {cfg.poison.rate} must be in [0, 1]")
    at_least("poison.target", cfg.poison.target, 0)
    choice("model.arch", cfg.model.arch, arch_names())
    choice("model.neuron", cfg.model.neuron, NEURONS)
    choice("model.reset", cfg.model.reset, RESETS)
    choice("model.surrogate", cfg.model.surrogate, SURROGATES)
    if not cfg.model.tau > 1.0:
        out.append(f"model.tau = {cfg.model.tau} must be > 1 (spikingjelly's LIF decay is 1/tau)")
    if not cfg.model.v_threshold > 0:
        out.append(f"model.v_threshold = {cfg.model.v_threshold} must be > 0")
    at_least("sim.timesteps", cfg.sim.timesteps, 1)
    choice("sim.encoder", cfg.sim.encoder, ENCODERS)
    at_least("train.epochs", cfg.train.epochs, 1)
    at_least("train.batch_size", cfg.train.batch_size, 1)
    if not (cfg.train.lr > 0 and math.isfinite(cfg.train.lr)):
        out.append(f"train.lr = {cfg.train.lr} must be a positive number")
    choice("train.device", cfg.train.device, DEVICES)
    choice("train.step_mode", cfg.train.step_mode, STEP_MODES)
    at_least("train.poison_weight", cfg.train.poison_weight, 0)
    at_least("train.clean_weight", cfg.train.clean_weight, 0)
    if cfg.train.poison_weight + cfg.train.clean_weight <= 0:
        out.append("train.poison_weight + train.clean_weight must be > 0")
    choice("rule.name", cfg.rule.name, rule_names())
    out.extend(conversion_problems(cfg))
    return out


def conversion_problems(cfg: ExperimentConfig) -> list[str]:
    """Range and choice errors of the LR_C / LR_H keys (rule.*, sim.eval_timesteps)."""
    r = cfg.rule
    out: list[str] = []
    for key, value, allowed in (
        ("rule.norm", r.norm, CONVERSION_NORMS),
        ("rule.reference", r.reference, REFERENCES),
        ("rule.combo", r.combo, HYBRID_COMBOS),
        ("rule.ann_optimizer", r.ann_optimizer, ("sgd", "adam")),
    ):
        if value not in allowed:
            out.append(f"{key} = '{value}' is not one of: {', '.join(allowed)}")
    if not 0 < r.scale <= 1:
        out.append(f"rule.scale = {r.scale} must be in (0, 1]")
    if not 0 < r.percentile <= 100:
        out.append(f"rule.percentile = {r.percentile} must be in (0, 100]")
    if not (r.ann_lr > 0 and math.isfinite(r.ann_lr)):
        out.append(f"rule.ann_lr = {r.ann_lr} must be a positive number")
    if not r.stdb_alpha > 0:
        out.append(f"rule.stdb_alpha = {r.stdb_alpha} must be > 0")
    for key, value in (
        ("rule.ann_epochs", r.ann_epochs),
        ("rule.reference_samples", r.reference_samples),
        ("rule.stdb_beta", r.stdb_beta),
        ("sim.eval_timesteps", cfg.sim.eval_timesteps),
    ):
        if not value >= 0:
            out.append(f"{key} = {value} must be >= 0")
    from snnstudio.core.data.registry import EVENT_DATASETS

    if r.name in ("conversion", "hybrid") and cfg.data.name in EVENT_DATASETS:
        out.append(
            f"rule.name = '{r.name}' converts an ANN trained on static images; "
            f"data.name = '{cfg.data.name}' is neuromorphic (event) data: use rule.name = 'bptt'"
        )
    if r.name in ("conversion", "hybrid") and cfg.model.arch not in CONVERTIBLE_ARCHS:
        out.append(
            f"rule.name = '{r.name}' needs a plain layer stack (model.arch = "
            f"{' or '.join(CONVERTIBLE_ARCHS)}): threshold balancing rescales the layer after "
            f"each spike layer, which {cfg.model.arch}'s identity shortcuts do not have"
        )
    return out


def validate(cfg: ExperimentConfig) -> ExperimentConfig:
    found = problems(cfg)
    if found:
        raise ConfigError("; ".join(found))
    return cfg
