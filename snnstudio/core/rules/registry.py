"""Rule names (`rule.name`) -> rule generators, and what each rule needs."""

from __future__ import annotations

from dataclasses import dataclass

from snnstudio.core.rules.bptt import run_bptt
from snnstudio.core.rules.context import Rule
from snnstudio.core.rules.conversion import run_conversion
from snnstudio.core.rules.hybrid import run_hybrid


@dataclass(frozen=True)
class RuleEntry:
    """A learning rule and its capabilities.

    Attributes
    ----------
    run : the rule's generator (RuleContext -> events, returns a RuleResult).
    converts_ann : trains an ANN twin and converts it to an SNN (needs a convertible arch).
    needs_static_images : cannot train on event (neuromorphic) data.
    trains_snn : trains the SNN itself through time (BPTT, STDB) for `train.epochs`.
    """

    run: Rule
    converts_ann: bool
    needs_static_images: bool
    trains_snn: bool


RULES: dict[str, RuleEntry] = {
    "bptt": RuleEntry(run_bptt, converts_ann=False, needs_static_images=False, trains_snn=True),
    "conversion": RuleEntry(
        run_conversion, converts_ann=True, needs_static_images=True, trains_snn=False
    ),
    "hybrid": RuleEntry(run_hybrid, converts_ann=True, needs_static_images=True, trains_snn=True),
}


def rule_names() -> list[str]:
    return list(RULES)


def converting_rule_names() -> list[str]:
    """The rules that convert an ANN twin (LR_C, LR_H)."""
    return [name for name, entry in RULES.items() if entry.converts_ann]


def converts_ann(name: str) -> bool:
    return bool(getattr(RULES.get(name), "converts_ann", False))


def trains_snn(name: str) -> bool:
    return bool(getattr(RULES.get(name), "trains_snn", False))


def needs_static_images(name: str) -> bool:
    return bool(getattr(RULES.get(name), "needs_static_images", False))
