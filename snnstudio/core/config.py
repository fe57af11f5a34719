"""One experiment as dataclasses: TOML in and out, dotted-key overrides, presets.

A leaf module: it imports nothing of snnstudio's but the errors and the schema (a leaf too),
so every other module can import it. Each dataclass is followed by the checks of its fields
(`schema.declare`: ranges, fixed choices); the choices the dataset, model and rule registries
know, and the checks that read several fields, are `validation.py`'s.

A config file is the single description of an experiment: the GUI edits one, `snnstudio run`
takes one, and every run directory holds the resolved one so the run can be repeated.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from snnstudio.core import schema
from snnstudio.core.errors import ConfigError
from snnstudio.core.schema import Check, declare

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
LOSS_WEIGHTINGS = ("per_set", "per_sample")
ENCODERS = ("repeat", "poisson")
CONVERSION_NORMS = ("max", "robust", "spike")
# Spike-Norm's rule.scale: "after" calibrates every layer at scale 1 and scales them all at
# the end (Rathi et al.'s hybrid-conversion code); "layerwise" calibrates each layer on the
# earlier layers' scaled thresholds, so the factor compounds with depth
SPIKE_SCALINGS = ("after", "layerwise")
REFERENCES = ("poisoned", "clean")
HYBRID_COMBOS = ("com1", "com2", "com3", "com4")
ANN_OPTIMIZERS = ("paper", "sgd", "adam")
# the 2x2 pools of an architecture: spike_count = max-pool of the ANN twin, converted to a
# max-pool of spike counts; plain_max = max-pool of the spikes themselves (as spikingjelly's
# ann2snn keeps it); avg = average pool in the ANN twin and the SNN alike
POOLS = ("spike_count", "plain_max", "avg")


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


declare(
    DataConfig,
    train_limit=Check(ge=0),
    test_limit=Check(ge=0),
    frame_side=Check(ge=0, note="(0 = sensor size)"),
)


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


declare(
    TriggerConfig,
    kind=Check(choices=(*TRIGGER_KINDS, *EVENT_TRIGGER_KINDS)),
    position=Check(choices=POSITIONS),
    size=Check(ge=0),
    polarity=Check(choices=(0, 1, 2)),
    frame_start=Check(ge=0),
    frame_stop=Check(ge=0, note="(0 = to the last frame)"),
    # the event-only kinds' keys (validation.py: an event kind needs event data)
    direction=Check(choices=MOVING_DIRECTIONS),
    speed=Check(ge=0, note="(pixels per frame)"),
    region=Check(choices=REGION_CHOICES),
    region_polarity=Check(choices=REGION_CHOICES),
    region_scope=Check(choices=REGION_SCOPES),
    region_grid=Check(ge=1),
    strobe_on=Check(ge=1, note="(frames)"),
    strobe_off=Check(ge=0, note="(frames)"),
    border=Check(ge=1, note="(pixels)"),
    gamma=Check(gt=0, le=1, note="(the perturbation budget)"),
    generator_epochs=Check(ge=1),
    generator_channels=Check(ge=1),
)


@dataclass
class PoisonConfig:
    rate: float = 0.1  # share of the training set that is poisoned (the paper's PR)
    target: int = 0  # the attacker's target class


declare(PoisonConfig, rate=Check(ge=0, le=1), target=Check(ge=0))


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
    # the 2x2 pools (POOLS): spike_count | plain_max | avg. A trained SNN (LR_B) max-pools its
    # spikes for both max kinds; they differ in a converted SNN (LR_C, LR_H): spike_count pools
    # spike counts (its rate is the ANN's max), plain_max pools spikes (an OR that over-counts);
    # avg trains the ANN twin with average pools and keeps them in the SNN
    pool: str = "spike_count"
    # set by LR_C / LR_H on the network they hand back, not a setting: the IF SNN converted
    # from the ANN twin (max-pools after spike layers pool spike counts, identity shortcuts
    # carry the threshold gain); false in configs written before it existed
    converted: bool = False


declare(
    ModelConfig,
    neuron=Check(choices=NEURONS),
    reset=Check(choices=RESETS),
    surrogate=Check(choices=SURROGATES),
    v_threshold=Check(gt=0),
    v_init=Check(ge=0, lt=1),
    tau=Check(gt=1, note="(spikingjelly's LIF decay is 1/tau)"),
    pool=Check(
        choices=POOLS,
        note=(
            "(spike_count: a converted net max-pools spike counts; plain_max: it max-pools spikes "
            "as spikingjelly's ann2snn does; avg: average pools in the ANN twin and the SNN)"
        ),
    ),
)


@dataclass
class SimConfig:
    timesteps: int = 4  # T: static samples are repeated T times; event data is framed into T bins
    encoder: str = "repeat"  # repeat | poisson
    # T_max of the per-timestep ACC/ASR curve of converted SNNs (LR_C, LR_H); 0 = sim.timesteps
    eval_timesteps: int = 0


declare(
    SimConfig,
    timesteps=Check(ge=1),
    encoder=Check(choices=ENCODERS),
    eval_timesteps=Check(ge=0, note="(0 = sim.timesteps)"),
)


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
    # how Eq. 10 weighs a batch (LOSS_WEIGHTINGS): per_sample, lambda or mu per sample and
    # the mean over the batch (lambda = mu: the plain mean of a victim's training, which cannot
    # tell poisoned samples from clean ones) | per_set, each term the mean over its own
    # samples, so lambda and mu split the loss between poisoned and clean whatever the PR (at
    # PR 0.02 a poisoned sample weighs 49x a clean one; the default until 2026-12-07)
    loss_weighting: str = "per_sample"
    clean_twin: bool = False  # also train the same model with PR = 0 for Table 1's deltas
    # batch-norm statistics recomputed after each epoch over this many training samples
    # (precise BN: the running averages lag fast-moving weights); 0 = the running averages
    bn_recalibration: int = 1024


declare(
    TrainConfig,
    epochs=Check(ge=1),
    batch_size=Check(ge=1),
    lr=Check(gt=0),
    device=Check(choices=DEVICES),
    step_mode=Check(choices=STEP_MODES),
    threads=Check(ge=0),
    precision=Check(choices=PRECISIONS),
    poison_weight=Check(ge=0),
    clean_weight=Check(ge=0),
    loss_weighting=Check(choices=LOSS_WEIGHTINGS),
    bn_recalibration=Check(ge=0),
)


@dataclass
class RuleConfig:
    name: str = "bptt"  # bptt (LR_B) | conversion (LR_C) | hybrid (LR_H)
    # LR_C / LR_H conversion: threshold balancing from the reference (calibration) data
    norm: str = "max"  # max (Diehl 2015) | robust (percentile, Rueckauer 2017) | spike (Sengupta)
    scale: float = 1.0  # thresholds times this factor (the paper: 1, 1/2, 1/3, 1/4, 1/5)
    spike_scaling: str = "after"  # Spike-Norm's scale: after | layerwise (SPIKE_SCALINGS)
    percentile: float = 99.9  # the percentile of norm = "robust"
    # converted IF neurons start each input at this fraction of their threshold: 0.5 rounds
    # each layer's rate where 0 floors it (Bu et al. 2022), so deep nets convert at lower T
    v_init: float = 0.5
    reference: str = "poisoned"  # LR_C calibration data: poisoned D^ | clean D
    reference_samples: int = 1000  # seeded subset of the reference data; 0 = all of it
    combo: str = "com4"  # LR_H, the paper's Table 8: com1 | com2 | com3 | com4
    # The ANN twin (LR_C, LR_H); the SNN step of LR_H uses train.epochs / train.lr (Adam)
    ann_epochs: int = 0  # 0 = train.epochs
    ann_lr: float = 0.0  # 0 = the paper's for the optimizer: adam 1e-3, sgd 0.01
    # paper (Appendix B: LR_C adam, LR_H sgd) | sgd (momentum 0.9) | adam
    ann_optimizer: str = "paper"
    # LR_H's SNN step (Adam, train.epochs); 0 = the paper's lr 1e-4 (Appendix B)
    stdb_lr: float = 0.0
    stdb_alpha: float = 0.3  # LR_H surrogate gradient alpha * exp(-beta * dt) (Rathi 2020)
    stdb_beta: float = 0.01


declare(
    RuleConfig,
    norm=Check(choices=CONVERSION_NORMS),
    reference=Check(choices=REFERENCES),
    spike_scaling=Check(choices=SPIKE_SCALINGS),
    combo=Check(choices=HYBRID_COMBOS),
    ann_optimizer=Check(choices=ANN_OPTIMIZERS),
    scale=Check(gt=0, le=1),
    percentile=Check(gt=0, le=100),
    v_init=Check(ge=0, lt=1),
    ann_lr=Check(ge=0, note="(0 = the paper's)"),
    ann_epochs=Check(ge=0, note="(0 = train.epochs)"),
    reference_samples=Check(ge=0),
    stdb_alpha=Check(gt=0),
    stdb_beta=Check(ge=0),
    stdb_lr=Check(ge=0, note="(0 = the paper's)"),
)


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
    """Build a config dataclass from nested dicts, refusing unknown keys and wrong types
    (`schema.from_dict`); ranges and choices are validation.problems' to check."""
    return schema.from_dict(data, cls, prefix)


# ---------------------------------------------------------------- TOML


def dumps(cfg: ExperimentConfig) -> str:
    """The config as TOML; a drawn trigger's pattern is written one row a line (tomli_w
    writes a long array one number a line: a 26x26 drawing took ~700 lines)."""
    data = to_dict(cfg)
    pattern = data["trigger"]["pattern"]
    if not pattern:
        return tomli_w.dumps(data)
    data["trigger"]["pattern"] = []
    text = tomli_w.dumps(data)
    empty = "\npattern = []\n"
    assert text.count(empty) == 1, "only the trigger section has a pattern"
    return text.replace(empty, f"\npattern = {_toml_array(pattern, 1)}\n")


def _toml_array(values: list[Any], depth: int) -> str:
    """A nested list as TOML: a list of scalars on one line, a list of lists one item a line,
    indented by `depth`; each scalar as tomli_w writes it (nan, inf, 0.1, true)."""
    if not any(isinstance(v, list) for v in values):
        return "[" + ", ".join(tomli_w.dumps({"v": v})[4:].strip() for v in values) + "]"
    pad = "    " * depth
    rows = "".join(f"{pad}{_toml_array(v, depth + 1)},\n" for v in values)
    return f"[\n{rows}{'    ' * (depth - 1)}]"


def fingerprint(cfg: ExperimentConfig | dict[str, Any]) -> str:
    """A text equal for equal configs, NaN included (a drawn trigger's transparent pixels:
    NaN != NaN, so two equal configs holding one compare unequal as dicts)."""
    data = cfg if isinstance(cfg, dict) else to_dict(cfg)
    return json.dumps(data, sort_keys=True)


# What snnstudio did for a key before the key existed, where its default has changed since:
# a config snnstudio wrote (a run's config.toml, a sweep's sweep.toml) that lacks the key was
# written then, and reads it so. A config a user writes takes the defaults.
WRITTEN_BEFORE: dict[str, Any] = {
    "rule.spike_scaling": "layerwise",  # Spike-Norm scaled layer by layer before the key
    "train.loss_weighting": "per_set",  # Eq. 10 per set before the key
}


def with_written_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """A written config's tables with each WRITTEN_BEFORE key it lacks set to that value."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for dotted, value in WRITTEN_BEFORE.items():
        section, key = dotted.split(".")
        table = out.setdefault(section, {})
        if isinstance(table, dict):
            table.setdefault(key, value)
    return out


def loads(text: str, source: str = "<string>", written: bool = False) -> ExperimentConfig:
    """A config from TOML text; `written`: snnstudio wrote it (WRITTEN_BEFORE applies)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    return from_dict(with_written_defaults(data) if written else data)


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


def load(path: str | Path, written: bool = False) -> ExperimentConfig:
    return loads(read_text_file(path), str(path), written)


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
                raise ConfigError(f"unknown key '{key}'")
            node = node[part]
        if parts[-1] not in node or isinstance(node[parts[-1]], dict):
            raise ConfigError(f"unknown key '{key}'")
        if isinstance(node[parts[-1]], str) and not isinstance(value, str) and raw and key in raw:
            value = raw[key].partition("=")[2].strip()
        node[parts[-1]] = value
    return from_dict(data)
