"""A tiny backdoored model and its clean twin, trained once per test session.

Imported by the defence tests; the training is cached in the module so the models are
trained once however many test files ask for them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from snnstudio.core.config import load_preset, with_overrides
from snnstudio.core.run_record import RunRecord, open_run
from snnstudio.core.rundir import CLEAN_TWIN_STAGE, MODEL_STAGE
from snnstudio.core.runner import run_experiment
from tests.session_dirs import session_dir

TINY_OVERRIDES = [
    "data.train_limit=500",
    "data.test_limit=200",
    "train.epochs=4",
    "train.clean_twin=true",
    # the poisoned samples carry half the loss, so 4 epochs on 500 digits plant a backdoor
    # the detectors tell from the clean twin; per_sample's max-margin p-value was the twin's
    # (0.229 against 0.229)
    "train.loss_weighting=per_set",
]


@dataclass(frozen=True)
class TrainedRun:
    record: RunRecord
    metrics: dict
    backdoored: Path | None  # model.pt
    clean_twin: Path | None  # clean-twin.pt


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():  # type: ignore[no-untyped-def]
    """One intra-op thread while a module trains, restored afterwards (as tests/gui does): on
    the shared 2-core machine under load these tests took 11 min with torch's two threads
    and 50 s with one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@functools.cache
def tiny_backdoored_run() -> TrainedRun:
    folder = session_dir("snnstudio-defense-")
    cfg = with_overrides(load_preset("demo"), TINY_OVERRIDES)
    for _ in run_experiment(cfg, folder):
        pass
    record = open_run(folder)
    models = record.checkpoint(MODEL_STAGE), record.checkpoint(CLEAN_TWIN_STAGE)
    return TrainedRun(record, record.metrics(), *models)
