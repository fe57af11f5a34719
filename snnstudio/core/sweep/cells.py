"""The report's view of a sweep: its dimensions and the completed points of each cell."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from snnstudio.core.sweep.spec import SweepSpec


def norm(value: Any) -> str:
    """A value as results.csv and the spec both spell it (booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower() if str(value) in ("True", "False") else str(value)


CATEGORICAL_NUMBERS = ("poison.target", "train.seed", "trigger.seed")


@dataclass(frozen=True)
class Dimension:
    """One [grid] axis, or all [zip] axes moving together."""

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]

    @property
    def name(self) -> str:
        return " / ".join(self.keys)

    @property
    def varies(self) -> bool:
        """More than one value: an axis of one compares nothing (the report's header states it)."""
        return len(self.values) > 1

    @property
    def numeric(self) -> bool:
        """A single axis of numbers on a scale (PR, T, a threshold scale); class indices and
        seeds are numbers that name things, so they are categorical."""
        if self.keys[0] in CATEGORICAL_NUMBERS:
            return False
        return len(self.keys) == 1 and all(
            isinstance(v[0], int | float) and not isinstance(v[0], bool) for v in self.values
        )

    def label(self, value: tuple[Any, ...]) -> str:
        return " / ".join(norm(v) for v in value)


def dimensions(spec: SweepSpec) -> list[Dimension]:
    dims = [Dimension((k,), tuple((v,) for v in vs)) for k, vs in spec.grid.items()]
    if spec.zipped:
        rows = tuple(zip(*spec.zipped.values(), strict=True))
        dims.append(Dimension(tuple(spec.zipped), rows))
    return dims


@dataclass
class Cell:
    """The completed points of one combination of dimension values."""

    values: dict[str, Any]  # dotted key -> value, over every dimension
    rows: list[dict[str, Any]]

    def found(self, metric: str) -> list[float]:
        return [float(r[metric]) for r in self.rows if r.get(metric) not in (None, "", "nan")]

    def mean(self, metric: str) -> float | None:
        found = self.found(metric)
        return sum(found) / len(found) if found else None

    def std(self, metric: str) -> float | None:
        """The sample standard deviation over the cell's points (None below two)."""
        found = self.found(metric)
        if len(found) < 2:
            return None
        mean = sum(found) / len(found)
        return math.sqrt(sum((v - mean) ** 2 for v in found) / (len(found) - 1))


def cells_of(dims: list[Dimension], rows: list[dict[str, Any]]) -> list[Cell]:
    """One cell per combination of dimension values (the last dimension varies fastest),
    holding the rows whose axis values match, in their order.

    The rows are grouped by their axis values once: matching every row against every cell
    grew with the square of the points (the Sweep tab redraws its plots with this while a
    sweep runs: 2.8 ms of CPU at 50 points, 180 ms at 500; now 0.2 and 2.3 ms)."""
    keys = list(dict.fromkeys(k for d in dims for k in d.keys))
    by_values: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_values.setdefault(tuple(norm(row.get(k, "")) for k in keys), []).append(row)
    cells = []
    for combo in itertools.product(*(d.values for d in dims)):
        values = {
            k: v for d, vs in zip(dims, combo, strict=True) for k, v in zip(d.keys, vs, strict=True)
        }
        wanted = tuple(norm(values[k]) for k in keys)
        cells.append(Cell(values, list(by_values.get(wanted, []))))
    return cells
