"""A tiny dynamic-trigger run on the embedded digits-dvs, trained once per test session.

Imported by the saved-trigger tests (core and GUI); cached in the module like
backdoored_models.py, so the run is trained once however many test files ask for it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from snnstudio.core import config as config_io
from snnstudio.core.events import run_to_end
from snnstudio.core.runner import run_experiment
from tests.session_dirs import session_dir

# A run of a few seconds whose ASR is neither 0 nor 1 (measured: ACC 0.27, ASR 0.82), so a
# generator other than the run's would show in the numbers.
DYNAMIC = [
    "data.name=digits-dvs", "data.train_limit=160", "data.test_limit=48", "sim.timesteps=2",
    "train.epochs=3", "train.batch_size=20", "train.lr=0.01", "train.clean_twin=false",
    "trigger.kind=dynamic", "trigger.generator_epochs=1", "trigger.generator_channels=4",
    "trigger.gamma=0.02",
]  # fmt: skip


@functools.cache
def cache_dir() -> Path:
    return session_dir("snnstudio-dvs-cache-")


def dynamic_config() -> config_io.ExperimentConfig:
    return config_io.with_overrides(
        config_io.load_preset("demo"), [*DYNAMIC, f"data.cache_dir={cache_dir()}"]
    )


@functools.cache
def dynamic_run() -> Path:
    """A completed dynamic-trigger run (do not change its files: copy it first)."""
    folder = session_dir("snnstudio-dynamic-") / "run"
    run_to_end(run_experiment(dynamic_config(), folder))
    return folder
