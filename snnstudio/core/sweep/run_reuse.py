"""Points another sweep already ran: given other sweep folders (`sweep --reuse-runs DIR`), a
sweep copies a completed run whose config is its point's in all but the name, instead of
training it again.

Presets overlap: Table 3's bottom-right row is Table 4's target-0 row (the paper's own tables
repeat it), and Fig. 9's LR_H point is Table 2's Com4 cell at PR 0.1; at the desk scale such a
point costs up to an hour. The copy keeps every file of the run, checkpoints included (a
detection reads them), so its seconds and `hardware` stay those of the run that measured
them; its config.toml takes the point's name, its metrics.json says `copied_from`, and its
log ends with a line saying so. A point whose run folder already holds anything (an
interrupted run of its own) is never replaced: it resumes as usual.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.atomic_files import write_json_atomic, write_text_atomic
from snnstudio.core.errors import ConfigError, SnnStudioError
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import CONFIG_FILE, LOG_FILE, METRICS_FILE
from snnstudio.core.sweep.point_jobs import completed_point
from snnstudio.core.sweep.results import RUNS_FOLDER, SPEC_FILE

COPYING_SUFFIX = ".copying"  # a copy under way; os.replace gives it the point's name at the end


def check_reuse_sources(sources: Iterable[Path], out_dir: Path) -> list[Path]:
    """The folders to reuse runs from, each a sweep folder other than `out_dir`
    (ConfigError otherwise, before anything is written)."""
    checked = []
    for source in sources:
        if source.resolve() == out_dir.resolve():
            raise ConfigError(f"--reuse-runs {source} is the sweep's own --out")
        if not (source / SPEC_FILE).is_file() or not (source / RUNS_FOLDER).is_dir():
            raise ConfigError(f"--reuse-runs {source}: not a sweep folder (no {SPEC_FILE})")
        checked.append(source)
    return checked


def find_completed_run(
    job: str, cfg: config_io.ExperimentConfig, settings: dict[str, Any], sources: list[Path]
) -> Path | None:
    """The first completed run in `sources`' runs/ of `job` with `cfg` but for its name; None
    when there is none."""
    for source in sources:
        for run_dir in sorted((source / RUNS_FOLDER).iterdir()):
            try:
                recorded_name = open_run(run_dir).config().name
            except (OSError, SnnStudioError):
                continue  # a failed or unreadable point is not one to copy
            named = dataclasses.replace(cfg, name=recorded_name)
            if completed_point(job, named, run_dir, settings) is not None:
                return run_dir
    return None


def copy_completed_run(source_run: Path, run_dir: Path, cfg: config_io.ExperimentConfig) -> None:
    """Copy `source_run` to `run_dir` (which must not exist) as a run of `cfg`: the copy is
    made beside it and renamed into place last, so a crash leaves no half-copied point."""
    if run_dir.exists():
        raise ConfigError(f"{run_dir} exists; a copied run never replaces one")
    staging = run_dir.with_name(run_dir.name + COPYING_SUFFIX)
    if staging.exists():
        shutil.rmtree(staging)  # a copy an earlier invocation did not finish
    shutil.copytree(source_run, staging)
    origin = str(source_run.resolve())
    write_text_atomic(staging / CONFIG_FILE, config_io.dumps(cfg))
    metrics = open_run(staging).metrics()
    write_json_atomic(staging / METRICS_FILE, {**metrics, "copied_from": origin})
    with (staging / LOG_FILE).open("a", encoding="utf-8") as log:
        log.write(f"copied from {origin}: the same config but its name (sweep --reuse-runs)\n")
    os.replace(staging, run_dir)
