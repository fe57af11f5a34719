"""A tiny backdoored model and its clean twin, trained once per test session.

Imported by the defence tests; the training is cached in the module so the models are
trained once however many test files ask for them.
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from snnstudio.core.config import load_preset, with_overrides
from snnstudio.core.runner import run_experiment

TINY_OVERRIDES = [
    "data.train_limit=500",
    "data.test_limit=200",
    "train.epochs=4",
    "train.clean_twin=true",
]


@dataclass(frozen=True)
class TrainedRun:
    folder: Path
    metrics: dict

    @property
    def backdoored(self) -> Path:
        return self.folder / "model.pt"

    @property
    def clean_twin(self) -> Path:
        return self.folder / "clean-twin.pt"


@functools.cache
def tiny_backdoored_run() -> TrainedRun:
    folder = Path(tempfile.mkdtemp(prefix="snnstudio-defense-"))
    cfg = with_overrides(load_preset("demo"), TINY_OVERRIDES)
    for _ in run_experiment(cfg, folder):
        pass
    return TrainedRun(folder, json.loads((folder / "metrics.json").read_text()))
