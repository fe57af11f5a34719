"""Trained ANN twins kept for reuse: a sweep trains each distinct ANN twin (LR_C, LR_H) once.

Many points of a conversion sweep train the same ANN: paper-fig17 sweeps rule.norm x
rule.scale over 9 points with one data set, trigger, poisoning, seed and ANN optimizer. The
cache is a folder (a sweep's `DIR/ann-twins/`) of one file per distinct ANN twin,
`<stage>-<key>.pt`, beside `<stage>-<key>.json` (what it was keyed on, who trained it and
how long it took, for people).

The key is everything that can change the ANN's weights: the resolved config minus
`NOT_ANN_KEYS` (keys the ANN stage never reads, each with why), plus the stage (backdoored
or clean twin), which data the rule trains its ANN on (LR_H's rule.combo, which is left out
in its place), the device and torch's thread count (a fixed count gives bit-identical
results, another count may round differently: README, "Threads"). A key added to the config
later is in the key until someone lists it here, so it never goes silently ignored.

A reused ANN is exactly the ANN its point would have trained, and the run goes on from the
same random state: the file holds the torch generator states right after the ANN's training
(every stage starts from `torch.manual_seed(train.seed)`, so they depend on the key alone)
and its EpochDone events, replayed into history.csv as a resumed run replays its finished
phases. A damaged file, or one holding another key, is retrained and overwritten, with a
warning in the log; files are written atomically, so two workers that train the same ANN at
once both write the same bytes and the last one stays.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from snnstudio.core import config as config_io
from snnstudio.core.atomic_files import atomic_path, write_json_atomic
from snnstudio.core.events import EpochDone, StageRole

FORMAT = "snnstudio-ann-twin/1"
EPOCH_FIELDS = ("epoch", "acc", "asr", "loss", "seconds")
KEY_DIGITS = 16

# Keys of the resolved config that the ANN twin's stage never reads: its weights, its metrics
# and the random state after it are the same whatever their values. Add a key here only
# after checking that `train_ann` and everything before it in the run ignore it.
NOT_ANN_KEYS: dict[str, str] = {
    "name": "a label (every sweep point has its own)",
    "rule.norm": "threshold balancing, after the ANN",
    "rule.scale": "threshold balancing, after the ANN",
    "rule.spike_scaling": "threshold balancing, after the ANN",
    "rule.percentile": "threshold balancing (robust norm), after the ANN",
    "rule.v_init": "the converted SNN's start potential",
    "rule.reference": "LR_C's calibration data, after the ANN",
    "rule.reference_samples": "the calibration subset, after the ANN",
    "rule.combo": "LR_H: in the key as the data its ANN step trains on",
    "rule.stdb_lr": "LR_H's SNN step, after the ANN",
    "rule.stdb_alpha": "LR_H's SNN step, after the ANN",
    "rule.stdb_beta": "LR_H's SNN step, after the ANN",
    "sim.eval_timesteps": "the converted SNN's scoring T, after the ANN",
    "train.clean_twin": "whether a clean twin's stage follows (keyed by its own stage name; "
    "every stage starts from torch.manual_seed(train.seed))",
}


def ann_key_data(
    cfg: config_io.ExperimentConfig, stage: str, ann_data: str, device: torch.device
) -> dict[str, Any]:
    """What identifies the ANN twin a stage trains (see the module's doc)."""
    config = config_io.to_dict(cfg)
    for dotted in NOT_ANN_KEYS:
        section, _, leaf = dotted.rpartition(".")
        del (config[section] if section else config)[leaf]
    return {
        "format": FORMAT, "config": config, "stage": stage, "ann_data": ann_data,
        "device": str(device), "torch_threads": torch.get_num_threads(),
    }  # fmt: skip


def ann_key(key_data: dict[str, Any]) -> str:
    """The key's digest (a drawn trigger's NaN pixels hash alike: config_io.fingerprint)."""
    return hashlib.sha256(config_io.fingerprint(key_data).encode()).hexdigest()[:KEY_DIGITS]


@dataclass
class CachedAnn:
    """An ANN twin as the cache holds it: its weights, its last epoch's metrics, its
    EpochDone rows, the torch generator states right after its training, who trained it
    (a run directory, or "") and in how many seconds."""

    state: dict[str, torch.Tensor]
    metrics: dict[str, float]
    epochs: list[list[float]]
    torch_rng: torch.Tensor
    cuda_rng: list[torch.Tensor] = field(default_factory=list)
    trained_by: str = ""
    seconds: float = 0.0

    def events(self, stage: str, role: StageRole) -> list[EpochDone]:
        return [EpochDone(stage, **dict(zip(EPOCH_FIELDS, row, strict=True)), role=role)
                for row in self.epochs]  # fmt: skip

    def restore_random_state(self) -> None:
        """Put torch's generators where the ANN's training left them."""
        torch.set_rng_state(self.torch_rng)
        if self.cuda_rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.cuda_rng)


def random_state() -> tuple[torch.Tensor, list[torch.Tensor]]:
    """torch's CPU and CUDA generator states now."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return torch.get_rng_state(), cuda


class DamagedEntry(Exception):
    """A cache file that cannot be used: the caller retrains and overwrites it."""


class AnnCache:
    """The folder of cached ANN twins; `owner` is the run directory of the run using it
    (recorded as who trained an ANN it saves)."""

    def __init__(self, folder: str | Path, owner: str | Path | None = None) -> None:
        self.folder = Path(folder)
        self.owner = "" if owner is None else str(owner)

    def path(self, stage: str, key: str) -> Path:
        return self.folder / f"{stage}-{key}.pt"

    def load(self, path: Path, key_data: dict[str, Any]) -> CachedAnn | None:
        """The ANN twin at `path`, None when there is none; DamagedEntry when the file is
        unreadable, of another format or holds another key."""
        if not path.is_file():
            return None
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            if blob["format"] != FORMAT:
                raise ValueError(f"format {blob['format']!r}, not {FORMAT!r}")
            if blob["key"] != config_io.fingerprint(key_data):
                raise ValueError("it holds the ANN of another config")
            entry = CachedAnn(
                state=dict(blob["net"]), metrics=json.loads(blob["metrics"]),
                epochs=json.loads(blob["epochs"]), torch_rng=blob["torch_rng"],
                cuda_rng=list(blob["cuda_rng"]), trained_by=str(blob["trained_by"]),
                seconds=float(blob["seconds"]),
            )  # fmt: skip
            _check_entry(entry)
        except Exception as exc:  # a damaged or foreign file fails in many ways
            raise DamagedEntry(f"{type(exc).__name__}: {exc}") from None
        return entry

    def save(self, path: Path, key_data: dict[str, Any], entry: CachedAnn) -> None:
        """Write `entry` atomically, then its JSON description beside it."""
        blob = {
            "format": FORMAT, "key": config_io.fingerprint(key_data),
            "net": {k: v.detach().cpu() for k, v in entry.state.items()},
            "metrics": json.dumps(entry.metrics), "epochs": json.dumps(entry.epochs),
            "torch_rng": entry.torch_rng, "cuda_rng": entry.cuda_rng,
            "trained_by": entry.trained_by, "seconds": entry.seconds,
        }  # fmt: skip
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary:
            torch.save(blob, temporary)
        about = {"key": key_data, "trained_by": entry.trained_by,
                 "training_seconds": entry.seconds, "metrics": entry.metrics}  # fmt: skip
        write_json_atomic(path.with_suffix(".json"), about)


def _check_entry(entry: CachedAnn) -> None:
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in entry.state.items()):
        raise ValueError("its weights are not a state_dict")
    if not {"acc", "asr"} <= set(entry.metrics):
        raise ValueError("its metrics have no acc/asr")
    if not all(len(row) == len(EPOCH_FIELDS) for row in entry.epochs):
        raise ValueError("its epoch rows are malformed")
