"""A sweep spec: a base config, fixed overrides and axes, read from TOML and checked whole.

    base = "demo"          # a preset name, a config file (relative to the spec) or a table
    name = "pr-x-position"
    repeats = 1            # seeds train.seed, train.seed + 1, ...
    [set]                  # fixed overrides, dotted keys as in --set
    "train.epochs" = 2
    [grid]                 # every combination of these
    "poison.rate" = [0.05, 0.1]
    [zip]                  # lists of equal length that vary together

Every point's config is built and validated when the spec is read, so a bad key or value
is one error before any run starts.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from snnstudio.core import config as config_io
from snnstudio.core import schema
from snnstudio.core.errors import ConfigError
from snnstudio.core.rundir import RUN_FILE, load_config_file, safe_name
from snnstudio.core.schema import Check
from snnstudio.core.validation import problems

SPEC_KEYS = (
    "base", "name", "repeats", "set", "grid", "zip", "job", "job_settings", "paper", "scale",
)  # fmt: skip
SWEEP_PRESETS = "snnstudio.core.presets.sweeps"
JOB_SETTINGS_PREFIX = "job_settings."  # --set job_settings.method=fineprune
MAX_PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: its axis values, its seed and its full config."""

    index: int
    values: dict[str, Any]
    seed: int
    config: config_io.ExperimentConfig

    @property
    def name(self) -> str:
        """The point's run-directory name: index, then short axis=value parts (safe chars)."""
        parts = [f"{key.rsplit('.', 1)[-1]}-{_text(value)}" for key, value in self.values.items()]
        parts.append(f"seed-{self.seed}")
        return safe_name(f"{self.index:03d}_" + "_".join(parts))

    def label(self) -> str:
        """Axis values for messages: `poison.rate=0.05, trigger.position=top-left, seed=0`."""
        values = [f"{k}={_text(v)}" for k, v in self.values.items()]
        return ", ".join([*values, f"seed={self.seed}"])


@dataclass(frozen=True)
class SweepSpec:
    """A resolved sweep: the base config inlined, so the spec alone can repeat the sweep."""

    name: str
    base: config_io.ExperimentConfig
    repeats: int = 1
    fixed: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    zipped: dict[str, list[Any]] = field(default_factory=dict)
    job: str = "experiment"
    job_settings: dict[str, Any] = field(default_factory=dict)
    paper: str = ""  # a table of paper_results.toml the report shows beside ours
    scale: str = ""  # a paper preset's scale (laptop | desk | paper); "" = a spec of one's own

    @property
    def axes(self) -> list[str]:
        return [*self.grid, *self.zipped]

    def points(self) -> list[SweepPoint]:
        """Every point, grid combinations outermost, zip rows next, repeats innermost."""
        grid_rows = list(itertools.product(*self.grid.values())) if self.grid else [()]
        zip_rows = list(zip(*self.zipped.values(), strict=True)) if self.zipped else [()]
        out: list[SweepPoint] = []
        for grid_row, zip_row in itertools.product(grid_rows, zip_rows):
            values = dict(zip(self.axes, (*grid_row, *zip_row), strict=True))
            cfg = config_io.with_values(self.base, {**self.fixed, **values})
            first_seed = cfg.train.seed
            for repeat in range(self.repeats):
                seed = first_seed + repeat
                point_cfg = config_io.with_values(cfg, {"train.seed": seed})
                point_cfg.name = f"{self.name}-{len(out):03d}"
                out.append(SweepPoint(len(out), values, seed, point_cfg))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as TOML-ready data (the base config as a table)."""
        data: dict[str, Any] = {"name": self.name, "repeats": self.repeats, "job": self.job}
        if self.paper:
            data["paper"] = self.paper
        if self.scale:
            data["scale"] = self.scale
        data["base"] = config_io.to_dict(self.base)
        for key, table in (("set", self.fixed), ("grid", self.grid), ("zip", self.zipped)):
            if table:
                data[key] = table
        if self.job_settings:
            data["job_settings"] = self.job_settings
        return data

    def dumps(self) -> str:
        return tomli_w.dumps(self.to_dict())


def sweep_preset_names() -> list[str]:
    folder = resources.files(SWEEP_PRESETS)
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_sweep_preset(
    name: str, overrides: list[str] | None = None, scale: str = "laptop"
) -> SweepSpec:
    """A built-in sweep at `scale` (laptop | desk | paper; sweep/scales.py), then --set."""
    from snnstudio.core.sweep.scales import with_scale

    if name not in sweep_preset_names():
        known = ", ".join(sweep_preset_names())
        raise ConfigError(f"unknown sweep preset '{name}' (known: {known})")
    text = resources.files(SWEEP_PRESETS).joinpath(f"{name}.toml").read_text("utf-8")
    data = with_scale(_toml(text, f"sweep preset {name}"), name, scale)
    data = with_spec_overrides(data, overrides or [])
    return parse_spec(data, name, None)


def with_spec_overrides(data: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply `--set key=value` to a parsed spec: a key that is an axis takes a TOML list as
    its new values; `job_settings.NAME` sets a field of [job_settings]; `repeats` the number
    of seeds per point (checked with the spec); any other key joins [set] (replacing the
    spec's value)."""
    if not assignments:
        return data
    tables = ("set", "grid", "zip", "job_settings")
    data = {**data, **{t: dict(data.get(t, {})) for t in tables}}
    for assignment in assignments:
        key, value = config_io.parse_assignment(assignment)
        if key.startswith(JOB_SETTINGS_PREFIX):
            data["job_settings"][key.removeprefix(JOB_SETTINGS_PREFIX)] = value
            continue
        if key == "repeats":
            data["repeats"] = value
            continue
        table = next((t for t in ("grid", "zip") if key in data[t]), "set")
        if table != "set" and not isinstance(value, list):
            raise ConfigError(f"--set {key}: '{key}' is an axis of this sweep; give a list")
        data[table][key] = value
    return data


def load_spec(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    """Read and check a sweep spec file; every problem is a ConfigError naming the file."""
    path = Path(path)
    text = config_io.read_text_file(path, "sweep spec")
    # a sweep folder's own sweep.toml (run.json beside it) was written by snnstudio
    written = (path.parent / RUN_FILE).is_file()
    try:
        data = with_spec_overrides(_toml(text, str(path)), overrides or [])
        return parse_spec(data, path.stem, path.parent, written)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_written_spec(spec_file: Path) -> SweepSpec:
    """A sweep folder's own sweep.toml, which snnstudio wrote: its base config reads keys it
    lacks as config.WRITTEN_BEFORE says."""
    text = config_io.read_text_file(spec_file, "sweep spec")
    return loads_spec(text, spec_file.parent, written=True)


def loads_spec(
    text: str, folder: Path | None = None, default_name: str = "sweep", written: bool = False
) -> SweepSpec:
    """A spec from TOML text; `written`: a sweep.toml snnstudio wrote (its base config reads
    keys it lacks as config.WRITTEN_BEFORE says)."""
    return parse_spec(_toml(text, "<spec>"), default_name, folder, written)


def parse_spec(
    data: dict[str, Any], default_name: str, folder: Path | None, written: bool = False
) -> SweepSpec:
    """Build a SweepSpec from parsed TOML and check it, including every point's config."""
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}' (known: {', '.join(SPEC_KEYS)})")
    repeats = schema.coerce(data.get("repeats", 1), int, "repeats")
    name = schema.coerce(data.get("name", default_name), str, "name")
    paper = schema.coerce(data.get("paper", ""), str, "paper")
    scale = schema.coerce(data.get("scale", ""), str, "scale")
    bad = Check(ge=1).problem("repeats", repeats) or Check(
        choices=("", "laptop", "desk", "paper")
    ).problem("scale", scale)
    if bad:
        raise ConfigError(bad)
    if not name.strip():
        raise ConfigError(f"name = {name!r} must be a non-empty string")
    fixed = _table(data, "set")
    grid = {k: _axis(k, v, "grid") for k, v in _table(data, "grid").items()}
    zipped = {k: _axis(k, v, "zip") for k, v in _table(data, "zip").items()}
    _check_overlaps(fixed, grid, zipped)
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k} has {len(v)}" for k, v in zipped.items())
        raise ConfigError(f"[zip] lists must have equal lengths ({sizes})")
    zip_rows = [tuple(_text(v) for v in row) for row in zip(*zipped.values(), strict=True)]
    if len(set(zip_rows)) != len(zip_rows):
        raise ConfigError("[zip] repeats a row of values: every point would run twice")
    job = data.get("job", "experiment")
    job_settings = _table(data, "job_settings")
    from snnstudio.core.sweep.point_jobs import check_job

    check_job(job, job_settings)
    spec = SweepSpec(
        name=name.strip(), base=_base_config(data.get("base"), folder, written),
        repeats=repeats,
        fixed=fixed, grid=grid, zipped=zipped, job=job,
        job_settings=job_settings, paper=paper, scale=scale,
    )  # fmt: skip
    check_points(spec)
    return spec


def check_points(spec: SweepSpec) -> list[SweepPoint]:
    """Build every point's config and validate it; one ConfigError lists what is wrong."""
    points = spec.points()  # unknown keys and wrong types raise here
    found: list[str] = []
    for point in points:
        for problem in problems(point.config):
            found.append(f"point {point.index} ({point.label()}): {problem}")
    if found:
        more = len(found) - MAX_PROBLEMS_SHOWN
        shown = found[:MAX_PROBLEMS_SHOWN] + ([f"... and {more} more"] if more > 0 else [])
        raise ConfigError("; ".join(shown))
    return points


def _base_config(base: Any, folder: Path | None, written: bool) -> config_io.ExperimentConfig:
    if base is None:
        return config_io.ExperimentConfig()
    if isinstance(base, dict):
        return config_io.from_dict(config_io.with_written_defaults(base) if written else base)
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"base = {base!r} must be a preset name, a config file or a table")
    if base in config_io.preset_names():
        return config_io.load_preset(base)
    path = Path(base) if folder is None else folder / base
    if path.suffix == ".toml" or path.exists():
        return load_config_file(path)
    known = ", ".join(config_io.preset_names())
    raise ConfigError(f"base = '{base}' is neither a preset ({known}) nor a config file")


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{key}] must be a table of dotted keys, got {table!r}")
    return dict(table)


def _axis(key: str, values: Any, table: str) -> list[Any]:
    if not isinstance(values, list):
        raise ConfigError(f"[{table}] '{key}' must be a list of values, got {values!r}")
    if not values:
        raise ConfigError(f"[{table}] '{key}' is an empty list: an axis needs at least one value")
    if table == "grid" and len({_text(v) for v in values}) != len(values):
        raise ConfigError(f"[{table}] '{key}' repeats a value: {values!r}")
    return values


def _check_overlaps(fixed: dict, grid: dict, zipped: dict) -> None:
    for a_name, a, b_name, b in (
        ("set", fixed, "grid", grid), ("set", fixed, "zip", zipped), ("grid", grid, "zip", zipped),
    ):  # fmt: skip
        both = sorted(set(a) & set(b))
        if both:
            raise ConfigError(f"'{both[0]}' is in both [{a_name}] and [{b_name}]")


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def axis_keys() -> list[str]:
    """The dotted config keys a sweep can vary (every scalar field, not the name)."""
    out: list[str] = []
    for section, fields in config_io.to_dict(config_io.ExperimentConfig()).items():
        if isinstance(fields, dict):
            out += [f"{section}.{k}" for k, v in fields.items() if not isinstance(v, list)]
    return out


def parse_axis_values(text: str) -> list[Any]:
    """Axis values as a user types them: `0.05, 0.1`, `top-left, bottom-right`, or a range
    `start:stop:step` (stop included), e.g. `0.02:0.2:0.06` -> [0.02, 0.08, 0.14, 0.2]."""
    text = text.strip()
    if not text:
        raise ConfigError("no values: give a list (a, b, c) or a range (start:stop:step)")
    if text.count(":") == 2 and "," not in text:
        return _range_values(text)
    return [config_io.parse_assignment(f"v={item.strip()}")[1] for item in text.split(",")]


def _range_values(text: str) -> list[Any]:
    parts = [config_io.parse_assignment(f"v={p.strip()}")[1] for p in text.split(":")]
    if not all(isinstance(p, int | float) and not isinstance(p, bool) for p in parts):
        raise ConfigError(f"range '{text}' must be numbers start:stop:step")
    start, stop, step = parts
    if step <= 0 or stop < start:
        raise ConfigError(f"range '{text}' needs step > 0 and stop >= start")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 1000:
        raise ConfigError(f"range '{text}' has {count} values (at most 1000)")
    if all(isinstance(p, int) for p in parts):
        return [start + i * step for i in range(count)]
    return [round(start + i * step, 10) for i in range(count)]
