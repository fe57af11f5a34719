"""How a report names what a sweep measured: the paper's rule names (LR_B, LR_C MaxNorm,
LR_H Com4), the T each number was scored at, and the setting the sweep's points share."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.sweep.spec import SweepSpec

RULE_NAMES = {"bptt": "LR_B", "conversion": "LR_C", "hybrid": "LR_H"}
NORM_NAMES = {"max": "MaxNorm", "robust": "RobustNorm", "spike": "Spike-Norm"}
SCALE_KEYS = ("data.name", "model.arch")  # what sets a sweep's scale besides its sizes


def flat(cfg: config_io.ExperimentConfig) -> dict[str, Any]:
    """A config as dotted keys -> values."""
    out: dict[str, Any] = {}
    for section, fields in config_io.to_dict(cfg).items():
        if isinstance(fields, dict):
            out.update({f"{section}.{k}": v for k, v in fields.items()})
        else:
            out[section] = fields
    return out


def scale_text(scale: float) -> str:
    """1.0 -> '1', 0.5 -> '1/2', 0.333 -> '1/3'."""
    fraction = Fraction(scale).limit_denominator(10)
    return str(fraction.numerator) if fraction.denominator == 1 else str(fraction)


def rule_label(known: dict[str, Any]) -> str:
    """The paper's name of a cell's rule: LR_B; LR_C with its norm (and scale below 1);
    LR_H with its combination."""
    name = str(known.get("rule.name", ""))
    label = RULE_NAMES.get(name, name)
    if name == "conversion":
        label += f" {NORM_NAMES.get(known['rule.norm'], known['rule.norm'])}"
        if float(known["rule.scale"]) != 1.0:
            label += f" {scale_text(float(known['rule.scale']))}"
    elif name == "hybrid":
        label += f" {str(known['rule.combo']).capitalize()}"
    return label


def scored_timesteps(row: dict[str, Any], known: dict[str, Any]) -> int:
    """The T a point's ACC/ASR were read at: the converted rules' eval_timesteps (LR_C: the
    curve's end; LR_H: its training T), else sim.timesteps (LR_B's training T)."""
    value = row.get("eval_timesteps")
    if value not in (None, ""):
        return int(float(value))
    return int(known["sim.timesteps"])


def _values(configs: list[dict[str, Any]], key: str) -> str:
    return ", ".join(dict.fromkeys(str(c[key]) for c in configs))


def _epochs(known: dict[str, Any]) -> str:
    """A point's training length: LR_B's epochs, the ANN's (LR_C), ANN + STDB (LR_H)."""
    ann = known["rule.ann_epochs"] or known["train.epochs"]
    return {"bptt": f"{known['train.epochs']}", "conversion": f"ANN {ann}",
            "hybrid": f"ANN {ann} + STDB {known['train.epochs']}"}.get(
        known["rule.name"], str(known["train.epochs"]))  # fmt: skip


def setting_lines(spec: SweepSpec) -> list[str]:
    """What the sweep's points share and where they differ, for the report's header."""
    configs = [flat(p.config) for p in spec.points()]
    sizes = ", ".join(dict.fromkeys(
        f"{c['data.train_limit'] or 'all'} train / {c['data.test_limit'] or 'all'} test"
        for c in configs
    ))  # fmt: skip
    rules = ", ".join(dict.fromkeys(rule_label(c) for c in configs))
    epochs = "; ".join(dict.fromkeys(f"{rule_label(c)} {_epochs(c)}" for c in configs))
    seeds = sorted({int(c["train.seed"]) for c in configs})
    lines = [
        f"Scale: {spec.scale or 'custom'}. Data: {_values(configs, 'data.name')} "
        f"({sizes} samples); model: {_values(configs, 'model.arch')}; "
        f"pooling (model.pool): {_values(configs, 'model.pool')}.",
        f"Rules: {rules}; epochs: {epochs}; PR {_values(configs, 'poison.rate')}; "
        f"target {_values(configs, 'poison.target')}; trigger {_values(configs, 'trigger.kind')} "
        f"at {_values(configs, 'trigger.position')}; seeds {', '.join(map(str, seeds))}.",
    ]
    return lines


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(row) for row in rows)]
