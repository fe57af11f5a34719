"""Checks a config against the registries' capabilities: every problem as a readable sentence.

This module sits above the dataset, model and rule registries (config.py stays a leaf): what a
dataset, architecture or rule supports is read from its registry entry, never listed here.
Each field's range or choice is a `schema.Check`, declared beside its dataclass in config.py
or, for the registries' names, below; this module adds what depends on several fields.
"""

from __future__ import annotations

from snnstudio.core import schema
from snnstudio.core.config import (
    EVENT_TRIGGER_KINDS,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    RuleConfig,
)
from snnstudio.core.data.event_frames import FRAMES_BY
from snnstudio.core.data.registry import dataset_names, is_event_dataset
from snnstudio.core.errors import ConfigError
from snnstudio.core.models.registry import ARCHS, arch_names, convertible_arch_names
from snnstudio.core.rules.registry import converts_ann, needs_static_images, rule_names
from snnstudio.core.schema import Check, declare

# The choices the registries know, checked like every other field (schema.Check).
declare(DataConfig, name=Check(choices=dataset_names), frames_by=Check(choices=FRAMES_BY))
declare(ModelConfig, arch=Check(choices=arch_names))
declare(RuleConfig, name=Check(choices=rule_names))


def problems(cfg: ExperimentConfig) -> list[str]:
    """Every range and choice error of a config (its fields' checks, `schema.problems`), then
    what depends on several fields, as readable sentences (empty when valid)."""
    out = schema.problems(cfg)
    if cfg.trigger.kind == "image" and not cfg.trigger.path:
        out.append("trigger.kind = 'image' needs trigger.path (a PNG or NPY file)")
    if cfg.trigger.kind == "array" and not cfg.trigger.pattern:
        out.append("trigger.kind = 'array' needs trigger.pattern (rows of pixel values)")
    if cfg.train.poison_weight + cfg.train.clean_weight <= 0:
        out.append("train.poison_weight + train.clean_weight must be > 0")
    if cfg.trigger.kind in EVENT_TRIGGER_KINDS and not is_event_dataset(cfg.data.name):
        out.append(
            f"trigger.kind = '{cfg.trigger.kind}' needs event data (frames over time); "
            f"data.name = '{cfg.data.name}' is static images"
        )
    return out + event_problems(cfg) + conversion_problems(cfg)


def event_problems(cfg: ExperimentConfig) -> list[str]:
    """What the event-data keys (trigger frames, sim.encoder) must satisfy together."""
    out: list[str] = []
    trig, steps = cfg.trigger, cfg.sim.timesteps
    if 0 < trig.frame_stop <= trig.frame_start:
        out.append(
            f"trigger.frame_stop = {trig.frame_stop} must be > trigger.frame_start = "
            f"{trig.frame_start} (or 0 = to the last frame)"
        )
    if is_event_dataset(cfg.data.name):
        if trig.frame_start >= steps or trig.frame_stop > steps:
            out.append(
                f"trigger frames {trig.frame_start}..{trig.frame_stop} leave the {steps} frames "
                "of each sample (sim.timesteps)"
            )
        if cfg.sim.encoder != "repeat":
            out.append(
                f"sim.encoder = '{cfg.sim.encoder}' applies to static images only; "
                f"{cfg.data.name} samples are already event frames (use 'repeat')"
            )
    return out


def conversion_problems(cfg: ExperimentConfig) -> list[str]:
    """The rule's needs against the dataset's and architecture's capabilities."""
    r = cfg.rule
    out: list[str] = []
    if needs_static_images(r.name) and is_event_dataset(cfg.data.name):
        out.append(
            f"rule.name = '{r.name}' converts an ANN trained on static images; "
            f"data.name = '{cfg.data.name}' is neuromorphic (event) data: use rule.name = 'bptt'"
        )
    arch = ARCHS.get(cfg.model.arch)
    if converts_ann(r.name) and arch is not None and not arch.convertible:
        out.append(
            f"rule.name = '{r.name}' cannot convert model.arch = '{cfg.model.arch}' "
            f"(convertible: {', '.join(convertible_arch_names())})"
        )
    if cfg.model.converted and not converts_ann(r.name):
        out.append(
            "model.converted is set by the conversion rules on the network they convert; "
            f"it cannot be trained with rule.name = '{r.name}'"
        )
    return out


def validate(cfg: ExperimentConfig) -> ExperimentConfig:
    """Return `cfg` unchanged when it has no problem; else raise ConfigError naming them all."""
    found = problems(cfg)
    if found:
        raise ConfigError("; ".join(found))
    return cfg
