"""One typed schema for every setting: experiment configs, sweep specs' `[job_settings]` and
the defences' settings are dataclasses whose fields are read by `coerce` (the type) and
checked by `problems` (ranges and choices), with one message style:
`<key> = <value> must be ...` / `<key> = <value> is not one of: a, b`.

A field's check is a `Check`: in the field's metadata (`field(metadata={CHECK: Check(...)})`,
which `defense.options.option` writes), or in a table declared next to the dataclass with
`declare(cls, name=Check(...), ...)`, which leaves the field declarations as they are. A
leaf: it imports nothing of snnstudio's but the errors, so config.py can use it.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from snnstudio.core.errors import ConfigError

CHECK = "check"  # the dataclass field metadata key of a field's Check
_TABLES: dict[type, dict[str, Check]] = {}
KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
              list: "a list"}  # fmt: skip


@dataclass(frozen=True)
class Check:
    """What a field's value must be: a range (ge/gt/le/lt, finite), or one of `choices`
    (a tuple, or a function returning the names a registry knows). `note` follows the
    message, e.g. "(0 = sensor size)". None passes every check: "the default"."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None
    note: str = ""

    def allowed(self) -> Sequence[Any] | None:
        return self.choices() if callable(self.choices) else self.choices

    def problem(self, key: str, value: Any) -> str | None:
        """The message for `value` of `key`, or None when it passes."""
        if value is None:
            return None
        allowed = self.allowed()
        if allowed is not None and value not in allowed:
            return self._say(key, value, f"is not one of: {', '.join(map(str, allowed))}")
        bounds = (self.ge, self.gt, self.le, self.lt)
        if all(b is None for b in bounds) or isinstance(value, bool):
            return None
        ok = math.isfinite(value)
        ok = ok and (self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
        ok = ok and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt)
        if ok:
            return None
        finite = "" if math.isfinite(value) else "a finite number "
        return self._say(key, value, f"must be {finite}{self.range_text()}")

    def range_text(self) -> str:
        low, high = _first(self.ge, self.gt), _first(self.le, self.lt)
        if low is not None and high is not None:
            left, right = "[" if self.ge is not None else "(", "]" if self.le is not None else ")"
            return f"in {left}{low:g}, {high:g}{right}"
        if low is not None:
            return f"{'>=' if self.ge is not None else '>'} {low:g}"
        return f"{'<=' if self.le is not None else '<'} {high:g}"

    def _say(self, key: str, value: Any, text: str) -> str:
        return f"{key} = {value!r} {text}" + (f" {self.note}" if self.note else "")


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def declare(cls: type, **checks: Check) -> None:
    """Attach `checks` (field name -> Check) to dataclass `cls`'s fields."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(checks) - names
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    _TABLES.setdefault(cls, {}).update(checks)


def field_check(cls: type, field: dataclasses.Field) -> Check | None:  # type: ignore[type-arg]
    return field.metadata.get(CHECK) or _TABLES.get(cls, {}).get(field.name)


def problems(obj: Any, prefix: str = "") -> list[str]:
    """Every field of dataclass `obj` (nested ones included, keys dotted from `prefix`) that
    fails its Check, as messages."""
    out = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out += problems(value, f"{prefix}{f.name}.")
            continue
        check = field_check(type(obj), f)
        message = check.problem(f"{prefix}{f.name}", value) if check else None
        if message:
            out.append(message)
    return out


def raise_problems(obj: Any, prefix: str = "") -> None:
    """ConfigError naming every problem of `obj` (`problems`), if it has any."""
    found = problems(obj, prefix)
    if found:
        raise ConfigError("; ".join(found))


def field_kind(annotation: Any) -> tuple[Any, bool]:
    """(the concrete type, whether None is allowed) of an annotation such as `int | None`."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        concrete = [a for a in args if a is not type(None)]
        return concrete[0], len(concrete) < len(args)
    return annotation, False


def coerce(value: Any, annotation: Any, key: str) -> Any:
    """`value` (from TOML or a `--set`) as the field type `annotation` wants: an int stands
    for a float, a whole float for an int; anything else is a ConfigError in the one style."""
    kind, optional = field_kind(annotation)
    if value is None and optional:
        return None
    if dataclasses.is_dataclass(kind):
        return from_dict(value, kind, f"{key}.")
    kind = typing.get_origin(kind) or kind  # list[Any] -> list
    if kind is bool and isinstance(value, bool):
        return value
    if not isinstance(value, bool):
        if kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if kind is float and isinstance(value, int | float):
            return float(value)
        if kind in (int, str, list) and isinstance(value, kind):
            return value
    raise ConfigError(f"{key} = {value!r} must be {KIND_NAMES.get(kind, kind.__name__)}")


def from_dict(data: Any, cls: type, prefix: str = "") -> Any:
    """Dataclass `cls` from a (nested) dict: unknown keys and wrong types are ConfigErrors;
    keys left out keep their defaults. Ranges and choices are `problems`' to check."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'the settings'} = {data!r} must be a table")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [key for key in data if key not in names]
    if unknown:
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (known: {', '.join(names)})")
    return cls(**{key: coerce(value, hints[key], f"{prefix}{key}") for key, value in data.items()})
