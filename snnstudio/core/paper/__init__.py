"""The paper's published numbers: a copy of the transcription of its tables, settings and
text claims (`tables.toml`, beside this file; the project's master copy is
shared/paper/tables.toml), read once. Other papers a report sets beside ours have their own
transcription beside it (`sneaky_spikes.toml`: Sneaky Spikes, NDSS 2024), named by `source`.

Every number is as the paper prints it (percentages without the % sign, PR as a fraction);
a printed typo stays, with the likely value beside it (`pr_likely` of Tables 2 and 9's
"0.01" row between 0.08 and 0.12).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

TRANSCRIPTION = "tables.toml"  # the paper snnstudio reproduces
SNEAKY_SPIKES = "sneaky_spikes.toml"


@lru_cache(maxsize=4)
def transcription(source: str = TRANSCRIPTION) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(source).read_text("utf-8")
    return tomllib.loads(text)


def table_rows(table: str, source: str = TRANSCRIPTION) -> list[dict[str, Any]]:
    """The data rows of `table` ('table1' ... 'table9'), each with its printed line."""
    return list(transcription(source)[table].get("rows", []))


def table_name(table: str, source: str = TRANSCRIPTION) -> str:
    """How the paper prints `table`'s name ('Table I'), when the transcription records it."""
    return str(transcription(source)[table].get("name", table))


def row_value(row: dict[str, Any], field: str) -> Any:
    """A row's value of `field`, with a printed PR typo read as its likely value."""
    if field == "pr" and "pr_likely" in row:
        return row["pr_likely"]
    return row[field]


def text_claims(source: str = TRANSCRIPTION) -> dict[str, dict[str, Any]]:
    """The numeric claims of the paper's running text by id ('C01' ...)."""
    return {item["id"]: item for item in transcription(source)["text_claims"]["items"]}


def setting(key: str) -> dict[str, Any]:
    """One of the paper's stated settings ([settings] items) by key, e.g. 'training_lr_c_ann'."""
    for item in transcription()["settings"]["items"]:
        if item["key"] == key:
            return dict(item)
    raise KeyError(key)
