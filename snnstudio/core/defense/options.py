"""Settings fields that describe themselves, so the CLI and the GUI are generated from them.

`option(default, help, choices=..., flag=...)` is a dataclass field whose metadata holds
the help text and the allowed values; `options(cls)` lists a settings dataclass's fields
with their types resolved. The CLI (`snnstudio.cli_defense`) builds its flags from this
list and the GUI its forms, so the defaults, the choices and the help live in one place.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HELP, CHOICES, FLAG = "help", "choices", "flag"


def option(default: Any, help: str, choices: Sequence[str] | None = None, flag: str = "") -> Any:
    """A dataclass field with its help text, allowed values and an optional CLI flag name."""
    metadata = {HELP: help, CHOICES: tuple(choices) if choices else None, FLAG: flag}
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


def _resolve(annotation: Any) -> tuple[type, bool]:
    """(the concrete type, whether None is allowed) of an annotation such as `int | None`."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        concrete = [a for a in args if a is not type(None)]
        return concrete[0], len(concrete) < len(args)
    return annotation, False


def options(cls: type) -> list[Option]:
    """The fields of settings dataclass `cls`, in declaration order."""
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        kind, optional = _resolve(hints[f.name])
        missing = f.default is dataclasses.MISSING
        default = f.default_factory() if missing else f.default  # type: ignore[misc]
        found.append(
            Option(
                f.name, kind, optional, default, f.metadata.get(HELP, ""),
                f.metadata.get(CHOICES), f.metadata.get(FLAG) or f.name.replace("_", "-"),
            )
        )  # fmt: skip
    return found
