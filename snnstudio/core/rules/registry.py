"""Rule names (`rule.name`) -> rule generators."""

from __future__ import annotations

from snnstudio.core.rules.bptt import run_bptt
from snnstudio.core.rules.context import Rule

RULES: dict[str, Rule] = {"bptt": run_bptt}


def rule_names() -> list[str]:
    return list(RULES)
