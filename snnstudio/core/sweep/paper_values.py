"""The paper's published number beside each cell of a sweep report.

presets/paper_results.toml says, per report (a sweep's `paper = "..."`), which transcription
table, row and column holds the paper's number for a cell of ours (`cells`), or which claim
of its text states it (`values`); the numbers are read from the transcription
(core/paper/tables.toml, or the one the report names as `transcription`: another paper's,
e.g. sneaky_spikes.toml).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core import paper as transcription
from snnstudio.core.errors import ConfigError
from snnstudio.core.sweep.cells import norm

PAPER_RESULTS = config_io.PRESET_DATA_FILES[0]
TABLE_SHORT = {f"table{i}": f"Table {i}" for i in range(1, 10)}


@dataclass(frozen=True)
class Published:
    """One published number and where it is printed (`Table 3`, `C17`)."""

    value: Any
    source: str
    approximate: bool = False  # the text says 'around' the value

    def text(self) -> str:
        return f"paper {'~' if self.approximate else ''}{self.value}, {self.source}"


def _same(ours: Any, theirs: Any) -> bool:
    """Config value vs transcription value: numbers by value (0.1 == 0.10), text by name."""
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return abs(float(ours) - float(theirs)) < 1e-9
    return norm(ours) == norm(theirs)


def _matches(known: dict[str, Any], match: dict[str, Any]) -> bool:
    return all(k in known and _same(known[k], v) for k, v in match.items())


@dataclass
class PaperValues:
    """A report's bindings to the paper: title, the paper's setting, cells and text values."""

    key: str
    title: str
    setting: str
    cells: list[dict[str, Any]]
    values: list[dict[str, Any]]
    translate: dict[str, dict[str, str]]
    source: str = transcription.TRANSCRIPTION  # the transcription file the numbers are in

    @property
    def is_reproduced_paper(self) -> bool:
        """True for the paper snnstudio reproduces (its claims section applies)."""
        return self.source == transcription.TRANSCRIPTION

    @classmethod
    def load(cls, key: str) -> PaperValues | None:
        if not key:
            return None
        text = resources.files("snnstudio.core.presets").joinpath(PAPER_RESULTS).read_text("utf-8")
        data = tomllib.loads(text)
        entry = data.get(key)
        if entry is None or key == "translate":
            raise ConfigError(f"paper = '{key}' is not a report of {PAPER_RESULTS}")
        return cls(key, entry.get("title", key), entry.get("paper_setting", ""),
                   list(entry.get("cells", [])), list(entry.get("values", [])),
                   data.get("translate", {}),
                   entry.get("transcription", transcription.TRANSCRIPTION))  # fmt: skip

    def value(self, known: dict[str, Any], metric: str, mean_over: str = "") -> Published | None:
        """The published number for `metric` of the cell whose full config (dotted keys) is
        `known`; with `mean_over`, the paper's average over that axis."""
        if not mean_over:
            for binding in self.cells:
                found = self._from_table(binding, known, metric)
                if found is not None:
                    return found
        for entry in self.values:
            if entry.get("metric") != metric or entry.get("mean_over", "") != mean_over:
                continue
            if _matches(known, entry.get("match", {})):
                claim = transcription.text_claims(self.source)[entry["claim"]]
                value = claim["values"][entry.get("index", 0)]
                return Published(value, entry["claim"], bool(claim.get("approximate", False)))
        return None

    def _from_table(
        self, binding: dict[str, Any], known: dict[str, Any], metric: str
    ) -> Published | None:
        column = binding.get("columns", {}).get(metric)
        if column is None or not _matches(known, binding.get("when", {})):
            return None
        wanted = {}
        for field, key in binding.get("rows", {}).items():
            if key not in known:
                return None
            value = known[key]
            wanted[field] = self.translate.get(key, {}).get(norm(value), value)
        table = binding["table"]
        name = TABLE_SHORT.get(table) or transcription.table_name(table, self.source)
        for row in transcription.table_rows(table, self.source):
            if all(_same(v, transcription.row_value(row, f)) for f, v in wanted.items()):
                return Published(row[column], name)
        return None

    def averaged_axes(self) -> list[str]:
        """The axes the paper states averages over (its values' `mean_over`), in order."""
        found = [str(e["mean_over"]) for e in self.values if e.get("mean_over")]
        return list(dict.fromkeys(found))
