"""Resumable training: every epoch's complete state, so a stopped or killed run goes on.

After each epoch, `train_epochs` saves its phase's state (`resume/<phase>.pt` in the run
directory, written atomically): the weights (batch-norm statistics included), the optimizer,
every random generator (torch, numpy, python and the generator of the data order), the
epoch count, the last metrics and the EpochDone events so far. A phase is one call of
`train_epochs` (a stage's SNN training, or its ANN twin's: 'backdoored', 'backdoored-ann',
'clean-twin', ...).

A resumed run replays the run from its start: data, trigger and poisoning are deterministic
from the config, a finished phase is skipped by loading its final state (its EpochDone events
are replayed, so history.csv and the curves are whole again), and the phase that was running
continues after its last completed epoch. Everything between phases (conversion, scoring)
runs again from the same random state, so the resumed run ends with exactly the metrics of an
uninterrupted one on the same machine with the same thread count.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from snnstudio.core import config as config_io
from snnstudio.core.atomic_files import atomic_path
from snnstudio.core.errors import CheckpointError
from snnstudio.core.events import EpochDone, StageRole

RESUME_DIR = "resume"
FORMAT = "snnstudio-resume/1"


@dataclass
class PhaseStart:
    """Where a phase starts: after `epoch` completed epochs (0 = from scratch), with the
    EpochDone events of those epochs."""

    epoch: int = 0
    events: list[EpochDone] = dataclasses.field(default_factory=list)
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)


EPOCH_FIELDS = ("epoch", "acc", "asr", "loss", "seconds")  # what an EpochDone row keeps


def random_states(data_order: np.random.Generator) -> str:
    """Every generator a run draws from, as JSON (loadable without unpickling objects)."""
    version, internal, gauss = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()
    return json.dumps({
        "python": [version, list(internal), gauss],
        "numpy": numpy_state,
        "data_order": data_order.bit_generator.state,
    })  # fmt: skip


def restore_random_states(text: str, data_order: np.random.Generator) -> None:
    states = json.loads(text)
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = states["numpy"]
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    data_order.bit_generator.state = states["data_order"]


class EpochStates:
    """The resume/ folder of one run directory: one file per training phase.

    With `resume=False` (a new run) the folder is emptied first; with `resume=True` the
    states found there are the starting points, and refused when they were saved under
    another config.
    """

    def __init__(self, run_dir: str | Path, cfg: config_io.ExperimentConfig, resume: bool):
        self.folder = Path(run_dir) / RESUME_DIR
        self.config = config_io.to_dict(cfg)
        if not resume and self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, phase: str) -> Path:
        return self.folder / f"{phase}.pt"

    def save(
        self,
        phase: str,
        epoch: int,
        net: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        data_order: np.random.Generator,
        metrics: dict[str, float],
        events: list[EpochDone],
    ) -> None:
        """The state after `epoch` completed epochs of `phase`, atomically."""
        blob = {
            "format": FORMAT,
            "phase": phase,
            "epoch": epoch,
            "config": json.dumps(self.config),
            "net": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "random": random_states(data_order),
            "metrics": json.dumps(metrics),
            "epochs": json.dumps([[getattr(e, f) for f in EPOCH_FIELDS] for e in events]),
        }
        with atomic_path(self.path(phase)) as temporary:
            torch.save(blob, temporary)

    def start(
        self,
        phase: str,
        net: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        data_order: np.random.Generator,
        role: StageRole,
    ) -> PhaseStart:
        """Load `phase`'s last saved state into the network, optimizer and generators; a
        phase never saved starts from scratch. `role` goes into the replayed events."""
        path = self.path(phase)
        if not path.is_file():
            return PhaseStart()
        blob = load_state(path, self.config)
        try:
            net.load_state_dict(blob["net"])
            optimizer.load_state_dict(blob["optimizer"])
            torch.set_rng_state(blob["torch_rng"])
            if blob["cuda_rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(blob["cuda_rng"])
            restore_random_states(blob["random"], data_order)
            events = [
                EpochDone(phase, **dict(zip(EPOCH_FIELDS, row, strict=True)), role=role)
                for row in json.loads(blob["epochs"])
            ]
            return PhaseStart(int(blob["epoch"]), events, json.loads(blob["metrics"]))
        except Exception as exc:  # a damaged or foreign file, in any of its fields
            raise damaged(path, exc) from None

    def discard(self) -> None:
        """Remove the states once the run has completed."""
        shutil.rmtree(self.folder, ignore_errors=True)


def load_state(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """A saved phase state, refused (CheckpointError) when damaged or saved under a config
    other than `config` (compared as `config_io.fingerprint`: a drawn trigger's NaN pixels
    compare equal)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        same = config_io.fingerprint(json.loads(blob["config"])) == config_io.fingerprint(config)
        if blob["format"] != FORMAT:
            raise ValueError(f"format {blob['format']!r}, not {FORMAT!r}")
    except Exception as exc:
        raise damaged(path, exc) from None
    if not same:
        raise CheckpointError(
            f"{path} was saved by a run with another config; it cannot be resumed"
        )
    return blob


def damaged(path: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(f"{path}: damaged resume state ({type(exc).__name__}: {exc})")


def check_resumable(run_dir: str | Path, cfg: config_io.ExperimentConfig) -> None:
    """Load every saved state of `run_dir` and check it against `cfg`, raising
    CheckpointError for the first that would refuse the resume: run before anything of the
    run directory is written, so that a refused resume leaves every file as it was."""
    config = config_io.to_dict(cfg)
    for path in sorted((Path(run_dir) / RESUME_DIR).glob("*.pt")):
        load_state(path, config)


def resume_state_exists(run_dir: str | Path) -> bool:
    folder = Path(run_dir) / RESUME_DIR
    return folder.is_dir() and any(folder.glob("*.pt"))


def describe_progress(run_dir: str | Path) -> str:
    """'backdoored-ann: 3 epochs, backdoored: 1 epoch' from the saved states (for logs)."""
    parts = []
    for path in sorted((Path(run_dir) / RESUME_DIR).glob("*.pt"), key=lambda p: p.stat().st_mtime):
        try:
            epoch = int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
        except Exception:  # a damaged file is reported when the run reaches it
            continue
        parts.append(f"{path.stem}: {epoch} epoch{'s' if epoch != 1 else ''}")
    return ", ".join(parts) or "no completed epoch"
