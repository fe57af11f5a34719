"""Checks a config against the registries' capabilities: every problem as a readable sentence.

This module sits above the dataset, model and rule registries (config.py stays a leaf): what a
dataset, architecture or rule supports is read from its registry entry, never listed here.
"""

from __future__ import annotations

import math

from snnstudio.core.config import (
    CONVERSION_NORMS,
    DEVICES,
    ENCODERS,
    EVENT_TRIGGER_KINDS,
    HYBRID_COMBOS,
    MOVING_DIRECTIONS,
    NEURONS,
    POSITIONS,
    PRECISIONS,
    REFERENCES,
    REGION_CHOICES,
    REGION_SCOPES,
    RESETS,
    STEP_MODES,
    SURROGATES,
    TRIGGER_KINDS,
    ExperimentConfig,
)
from snnstudio.core.data.event_frames import FRAMES_BY
from snnstudio.core.data.registry import dataset_names, is_event_dataset
from snnstudio.core.errors import ConfigError
from snnstudio.core.models.registry import ARCHS, arch_names, convertible_arch_names
from snnstudio.core.rules.registry import converts_ann, needs_static_images, rule_names


def problems(cfg: ExperimentConfig) -> list[str]:
    """Every range and choice error of a config, as readable sentences (empty when valid)."""
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
    out += event_trigger_problems(cfg)
    choice("trigger.kind", cfg.trigger.kind, (*TRIGGER_KINDS, *EVENT_TRIGGER_KINDS))
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
    if not 0 <= cfg.model.v_init < 1:
        out.append(f"model.v_init = {cfg.model.v_init} must be in [0, 1)")
    at_least("sim.timesteps", cfg.sim.timesteps, 1)
    choice("sim.encoder", cfg.sim.encoder, ENCODERS)
    at_least("train.epochs", cfg.train.epochs, 1)
    at_least("train.batch_size", cfg.train.batch_size, 1)
    if not (cfg.train.lr > 0 and math.isfinite(cfg.train.lr)):
        out.append(f"train.lr = {cfg.train.lr} must be a positive number")
    choice("train.device", cfg.train.device, DEVICES)
    choice("train.step_mode", cfg.train.step_mode, STEP_MODES)
    at_least("train.threads", cfg.train.threads, 0)
    choice("train.precision", cfg.train.precision, PRECISIONS)
    at_least("train.poison_weight", cfg.train.poison_weight, 0)
    at_least("train.clean_weight", cfg.train.clean_weight, 0)
    if cfg.train.poison_weight + cfg.train.clean_weight <= 0:
        out.append("train.poison_weight + train.clean_weight must be > 0")
    choice("rule.name", cfg.rule.name, rule_names())
    out.extend(conversion_problems(cfg))
    return out


def event_problems(cfg: ExperimentConfig) -> list[str]:
    """Config errors of the event-data keys (data.frames_by ..., trigger.polarity/frames)."""
    out: list[str] = []
    data, trig, steps = cfg.data, cfg.trigger, cfg.sim.timesteps
    if data.frames_by not in FRAMES_BY:
        out.append(f"data.frames_by = '{data.frames_by}' is not one of: {', '.join(FRAMES_BY)}")
    if data.frame_side < 0:
        out.append(f"data.frame_side = {data.frame_side} must be >= 0 (0 = sensor size)")
    if trig.polarity not in (0, 1, 2):
        out.append(f"trigger.polarity = {trig.polarity} is not one of: 0, 1, 2")
    if trig.frame_start < 0 or trig.frame_stop < 0:
        out.append("trigger.frame_start and trigger.frame_stop must be >= 0")
    elif trig.frame_stop and trig.frame_stop <= trig.frame_start:
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


def event_trigger_problems(cfg: ExperimentConfig) -> list[str]:
    """Config errors of the event-only trigger kinds (moving, smart, dynamic, strobing, framed,
    flashy) and their keys; a key is checked only when its kind uses it."""
    out: list[str] = []
    trig = cfg.trigger
    if trig.kind not in EVENT_TRIGGER_KINDS:
        return out
    if not is_event_dataset(cfg.data.name):
        out.append(
            f"trigger.kind = '{trig.kind}' needs event data (frames over time); "
            f"data.name = '{cfg.data.name}' is static images"
        )
    if trig.kind == "moving":
        if trig.direction not in MOVING_DIRECTIONS:
            out.append(
                f"trigger.direction = '{trig.direction}' is not one of: "
                f"{', '.join(MOVING_DIRECTIONS)}"
            )
        if trig.speed < 0:
            out.append(f"trigger.speed = {trig.speed} must be >= 0 (pixels per frame)")
    if trig.kind == "smart":
        for key, value in (("region", trig.region), ("region_polarity", trig.region_polarity)):
            if value not in REGION_CHOICES:
                out.append(f"trigger.{key} = '{value}' is not one of: {', '.join(REGION_CHOICES)}")
        if trig.region_scope not in REGION_SCOPES:
            out.append(
                f"trigger.region_scope = '{trig.region_scope}' is not one of: "
                f"{', '.join(REGION_SCOPES)}"
            )
        if trig.region_grid < 1:
            out.append(f"trigger.region_grid = {trig.region_grid} must be >= 1")
    if trig.kind in ("strobing", "flashy"):
        if trig.strobe_on < 1:
            out.append(f"trigger.strobe_on = {trig.strobe_on} must be >= 1 (frames)")
        if trig.strobe_off < 0:
            out.append(f"trigger.strobe_off = {trig.strobe_off} must be >= 0 (frames)")
    if trig.kind == "framed" and trig.border < 1:
        out.append(f"trigger.border = {trig.border} must be >= 1 (pixels)")
    if trig.kind == "dynamic":
        if not 0 < trig.gamma <= 1:
            out.append(f"trigger.gamma = {trig.gamma} must be in (0, 1] (the perturbation budget)")
        if trig.generator_epochs < 1:
            out.append(f"trigger.generator_epochs = {trig.generator_epochs} must be >= 1")
        if trig.generator_channels < 1:
            out.append(f"trigger.generator_channels = {trig.generator_channels} must be >= 1")
    return out


def conversion_problems(cfg: ExperimentConfig) -> list[str]:
    """Range and choice errors of the LR_C / LR_H keys (rule.*, sim.eval_timesteps), and the
    rule's needs against the dataset's and architecture's capabilities."""
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
    if not 0 <= r.v_init < 1:
        out.append(f"rule.v_init = {r.v_init} must be in [0, 1)")
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
