"""One experiment as dataclasses: TOML in and out, dotted-key overrides, presets.

A leaf module: it imports nothing of snnstudio's but the errors, so every other module can
import it. Checking a config against the datasets, models and rules is `validation.py`'s.

A config file is the single description of an experiment: the GUI edits one, `snnstudio run`
takes one, and every run directory holds the resolved one so the run can be repeated.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

import tomli_w

from snnstudio.core.errors import ConfigError

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
POSITIONS = (*CORNERS, "xy")
TRIGGER_KINDS = ("white", "random", "image", "array")  # images and event frames
# event frames only (attack/event_triggers.py, attack/dynamic_trigger.py)
EVENT_TRIGGER_KINDS = ("moving", "smart", "dynamic", "strobing", "framed", "flashy")
MOVING_DIRECTIONS = (
    "right", "left", "down", "up", "down-right", "down-left", "up-right", "up-left"
)  # fmt: skip
REGION_CHOICES = ("least", "most")
REGION_SCOPES = ("sample", "set")
NEURONS = ("if", "lif")
RESETS = ("hard", "soft")
SURROGATES = ("h1", "h2", "h3", "h4")
DEVICES = ("auto", "cpu", "cuda")
STEP_MODES = ("auto", "single", "multi")
PRECISIONS = ("fp32", "bf16")
ENCODERS = ("repeat", "poisson")
CONVERSION_NORMS = ("max", "robust", "spike")
REFERENCES = ("poisoned", "clean")
HYBRID_COMBOS = ("com1", "com2", "com3", "com4")


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
    # white | random | image | array; event frames also: moving | smart | dynamic | strobing |
    # framed | flashy (README, "Event triggers")
    kind: str = "white"
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
    # kind = "moving": the square moves `speed` pixels a frame along `direction` from `position`
    direction: str = "right"  # right | left | down | up | down-right | down-left | up-... (8)
    speed: int = 1
    # kind = "smart": the frame cut into region_grid x region_grid regions; the square goes into
    # the least | most active one of each sample, in its least | most frequent (OFF, ON) pattern
    region: str = "least"
    region_grid: int = 3
    region_polarity: str = "least"
    # sample: each sample's own region and pattern; set: one for all the samples stamped at
    # once, from their summed events (what Sneaky Spikes' code does)
    region_scope: str = "sample"
    # kind = "strobing" | "flashy": on `strobe_on` frames, off `strobe_off`, from frame_start on
    strobe_on: int = 1
    strobe_off: int = 1
    border: int = 1  # kind = "framed": width of the border in pixels
    # kind = "dynamic": x' = x + gamma * G(x), G a small generator trained with a victim model
    gamma: float = 0.05
    generator_epochs: int = 2
    generator_channels: int = 8


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
    # membrane potential after every reset of the network, as a fraction of the threshold
    # (converted nets take rule.v_init)
    v_init: float = 0.0
    surrogate: str = "h3"  # h1 rectangular | h2 polynomial | h3 sigmoid | h4 Gaussian CDF
    # set by LR_C / LR_H on the network they hand back, not a setting: the IF SNN converted
    # from the ANN twin (max-pools after spike layers pool spike counts, identity shortcuts
    # carry the threshold gain); false in configs written before it existed
    converted: bool = False


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
    threads: int = 0  # torch CPU threads; 0 = auto (README, "Threads"); SNNSTUDIO_THREADS wins
    precision: str = "fp32"  # fp32 | bf16 (autocast of the training forward pass; for GPUs)
    compile: bool = False  # torch.compile the training forward pass (slow to start)
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
    # converted IF neurons start each input at this fraction of their threshold: 0.5 rounds
    # each layer's rate where 0 floors it (Bu et al. 2022), so deep nets convert at lower T
    v_init: float = 0.5
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


def read_text_file(path: str | Path, what: str = "config file") -> str:
    """A UTF-8 text file's contents; a missing or unreadable file is one ConfigError line
    naming `what` it should have been."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None


def load(path: str | Path) -> ExperimentConfig:
    return loads(read_text_file(path), str(path))


PRESET_DATA_FILES = ("paper_results.toml",)  # data beside the presets (the sweep report's)


def preset_names() -> list[str]:
    folder = resources.files("snnstudio.core.presets")
    names = [p.name for p in folder.iterdir() if p.name not in PRESET_DATA_FILES]
    return sorted(n.removesuffix(".toml") for n in names if n.endswith(".toml"))


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
    values: dict[str, Any] = {}
    for assignment in assignments:
        key, value = parse_assignment(assignment)
        values[key] = value
    return with_values(cfg, values, raw={a.partition("=")[0].strip(): a for a in assignments})


def with_values(
    cfg: ExperimentConfig, values: dict[str, Any], raw: dict[str, str] | None = None
) -> ExperimentConfig:
    """Return a copy of `cfg` with each dotted key set to its (already typed) value.

    `raw` maps a key to the `key=value` text it came from, so a string field given a value
    that TOML reads as a number keeps the text (e.g. data.root=2024 stays a path).
    """
    data = to_dict(cfg)
    for key, value in values.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"unknown config key '{key}'")
            node = node[part]
        if parts[-1] not in node or isinstance(node[parts[-1]], dict):
            raise ConfigError(f"unknown config key '{key}'")
        if isinstance(node[parts[-1]], str) and not isinstance(value, str) and raw and key in raw:
            value = raw[key].partition("=")[2].strip()
        node[parts[-1]] = value
    return from_dict(data)
