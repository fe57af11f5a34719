"""Rule names (`rule.name`) -> rule generators."""

from __future__ import annotations

from snnstudio.core.rules.bptt import run_bptt
from snnstudio.core.rules.context import Rule
from snnstudio.core.rules.conversion import run_conversion
from snnstudio.core.rules.hybrid import run_hybrid

RULES: dict[str, Rule] = {"bptt": run_bptt, "conversion": run_conversion, "hybrid": run_hybrid}


def rule_names() -> list[str]:
    return list(RULES)
