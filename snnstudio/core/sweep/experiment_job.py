"""The default point job, `experiment`: one ordinary `snnstudio run` per point, resumable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from snnstudio.core import config as config_io
from snnstudio.core.errors import ConfigError, SnnStudioError
from snnstudio.core.events import CancelToken, Event
from snnstudio.core.run_record import open_run


def experiment_job(
    cfg: config_io.ExperimentConfig, run_dir: Path, cancel: CancelToken | None,
    settings: dict[str, Any], ann_cache: Path | None = None,
) -> Iterator[Event]:  # fmt: skip
    """One ordinary experiment (`snnstudio run`) into `run_dir`; a point interrupted earlier
    (Stop, Ctrl-C, a killed worker) resumes from its last completed epoch. With `ann_cache`,
    its ANN twins come from (and go to) that folder (core/rules/ann_cache.py)."""
    from snnstudio.core.runner import run_experiment  # torch loads in the worker, not the parent

    resume = _interrupted(cfg, run_dir)
    return run_experiment(cfg, run_dir, cancel, resume=resume, ann_cache=ann_cache)


def completed_experiment(
    cfg: config_io.ExperimentConfig, run_dir: Path, settings: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The metrics of an earlier run of exactly `cfg` in `run_dir` that completed, else None."""
    try:
        record = open_run(run_dir)
        metrics = record.metrics()
        recorded = record.config()
    except (OSError, SnnStudioError):
        return None
    if metrics.get("status") != "completed":
        return None
    if config_io.fingerprint(recorded) != config_io.fingerprint(cfg):
        return None
    return metrics


def check_no_settings(settings: dict[str, Any]) -> None:
    if settings:
        raise ConfigError(
            f"[job_settings] {', '.join(sorted(settings))}: job 'experiment' takes no settings"
        )


def _interrupted(cfg: config_io.ExperimentConfig, run_dir: Path) -> bool:
    """True when `run_dir` holds an unfinished run of exactly `cfg` with a saved epoch."""
    from snnstudio.core.resume import resume_state_exists
    from snnstudio.core.runner import why_not_resumable

    if not resume_state_exists(run_dir):
        return False
    try:
        record = open_run(run_dir)
        same = config_io.fingerprint(record.config()) == config_io.fingerprint(cfg)
        return same and why_not_resumable(record) is None
    except (SnnStudioError, OSError):
        return False
