"""Settings fields that describe themselves, so the CLI and the GUI are generated from them.

`option(default, help, choices=..., flag=..., check=...)` is a dataclass field whose metadata
holds the help text, the allowed values and its `schema.Check` (a range, or the choices), so
`schema.problems` checks settings as it checks configs; `options(cls)` lists a settings
dataclass's fields with their types resolved. The CLI (`snnstudio.cli_defense`) builds its
flags from this list and the GUI its forms, so the defaults, the choices and the help live in
one place.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from snnstudio.core.schema import CHECK, Check, field_kind

HELP, CHOICES, FLAG = "help", "choices", "flag"


def option(
    default: Any, help: str, choices: Sequence[str] | None = None, flag: str = "",
    check: Check | None = None,
) -> Any:  # fmt: skip
    """A dataclass field with its help text, allowed values, an optional CLI flag name and
    the Check of its value (the choices, when given, are checked)."""
    allowed = tuple(choices) if choices else None
    if allowed is not None and check is None:
        check = Check(choices=allowed)
    metadata = {HELP: help, CHOICES: allowed, FLAG: flag, CHECK: check}
    if dataclasses.is_dataclass(default):
        factory = type(default)
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Option:
    """One field of a settings dataclass, as a form or a command line needs it."""

    name: str
    kind: type  # int, float, str, bool, or a nested settings dataclass
    optional: bool  # None allowed: "the method's default"
    default: Any
    help: str
    choices: tuple[str, ...] | None
    flag: str  # the CLI flag without dashes, e.g. "clean-fraction"


def options(cls: type) -> list[Option]:
    """The fields of settings dataclass `cls`, in declaration order."""
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        kind, optional = field_kind(hints[f.name])
        missing = f.default is dataclasses.MISSING
        default = f.default_factory() if missing else f.default  # type: ignore[misc]
        found.append(
            Option(
                f.name, kind, optional, default, f.metadata.get(HELP, ""),
                f.metadata.get(CHOICES), f.metadata.get(FLAG) or f.name.replace("_", "-"),
            )
        )  # fmt: skip
    return found
