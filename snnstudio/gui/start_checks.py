"""What stops an experiment from starting, each problem tied to the field that causes it.

The core's own validation (`problems`) plus what only the window knows: a dataset folder
whose check failed and a trigger that does not fit the dataset's images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from snnstudio.core import config as config_io
from snnstudio.core import validation

DATASET_FIELD = "data.root"
TRIGGER_FIELD = "trigger.size"
_LEADING_KEY = re.compile(r"^([a-z_]+(?:\.[a-z_]+)+)")


@dataclass(frozen=True)
class Problem:
    """One reason the run cannot start, and the dotted config key of the field it is about
    ("" when the sentence names no field)."""

    key: str
    message: str

    @property
    def on_trigger_tab(self) -> bool:
        return self.key.startswith("trigger.")

    @property
    def tab(self) -> str:
        """The tab holding the field it is about ("" when it names no field)."""
        if self.on_trigger_tab:
            return "Trigger"
        return "Experiment" if self.key else ""

    def where(self) -> str:
        """The message with the tab to fix it in, for places away from the field."""
        return f"{self.message} ({self.tab} tab)" if self.tab else self.message


def field_of(sentence: str) -> str:
    """The dotted key a core problem sentence starts with ('train.lr = 0 must be ...')."""
    found = _LEADING_KEY.match(sentence)
    return found.group(1) if found else ""


def start_problems(
    cfg: config_io.ExperimentConfig, dataset_failure: str | None, trigger_failure: str | None
) -> list[Problem]:
    """Every problem of `cfg` for the core, then the dataset's and the trigger's."""
    found = [Problem(field_of(text), text) for text in validation.problems(cfg)]
    if dataset_failure:
        found.append(Problem(DATASET_FIELD, dataset_failure))
    if trigger_failure:
        found.append(Problem(TRIGGER_FIELD, trigger_failure))
    return found
