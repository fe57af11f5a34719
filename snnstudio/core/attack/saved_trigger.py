"""A dynamic trigger saved with its run: trigger.pt, the trained generator and what made it.

A dynamic trigger (attack/dynamic_trigger.py) is trained on the data, so a run's config alone
does not give its triggered inputs back: training the generator again costs its training,
and on another thread count or machine gives another generator. A run therefore saves its
generator as `rundir.TRIGGER_FILE` in its run directory as soon as it is trained (an
elimination copies it beside the checkpoint it writes), and everything that rebuilds a run's
trigger later (detection, elimination, a resume, the GUI) loads that file. A missing or
damaged file is a TriggerError naming it, never a generator trained again in its place.

Like a checkpoint, the file is read with torch.load(weights_only=True): it can never run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch

from snnstudio.core.atomic_files import atomic_path
from snnstudio.core.attack.dynamic_trigger import DynamicTrigger, PerturbationGenerator
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.errors import TriggerError
from snnstudio.core.resume import resume_state_exists
from snnstudio.core.rundir import TRIGGER_FILE, trigger_file_beside

FORMAT = "snnstudio-trigger/1"
MAX_CHANNELS = 4096


def is_saved_kind(cfg: ExperimentConfig) -> bool:
    """True when `cfg`'s trigger is trained on the data and so saved with the run."""
    return cfg.trigger.kind == "dynamic"


def made_with(cfg: ExperimentConfig) -> dict[str, Any]:
    """The settings that define a generator, checked against the config that loads it."""
    trig = cfg.trigger
    return {
        "trigger.gamma": trig.gamma, "trigger.generator_channels": trig.generator_channels,
        "trigger.generator_epochs": trig.generator_epochs, "trigger.seed": trig.seed,
        "poison.target": cfg.poison.target,
    }  # fmt: skip


def save_dynamic_trigger(path: str | Path, trigger: DynamicTrigger, cfg: ExperimentConfig) -> None:
    """Write `trigger` (trained under `cfg`) to `path`, atomically."""
    generator = trigger.generator
    blob = {
        "format": FORMAT,
        "channels": generator.channels,
        "made_with": made_with(cfg),
        "state_dict": {k: v.detach().cpu() for k, v in generator.state_dict().items()},
    }
    with atomic_path(path) as temporary:
        torch.save(blob, temporary)


def load_dynamic_trigger(path: str | Path, cfg: ExperimentConfig) -> DynamicTrigger:
    """The generator saved in `path` for a run made with `cfg`; TriggerError (one line)
    when the file is missing, damaged, or was trained under other trigger settings."""
    path = Path(path)
    if not path.is_file():
        raise TriggerError(
            f"{path} is missing: a dynamic trigger's inputs cannot be rebuilt without the "
            "generator its run trained (runs made before it was saved must be trained again)"
        )
    blob = _read(path)
    _check_made_with(path, blob.get("made_with"), made_with(cfg))
    generator = PerturbationGenerator(_channels(path, blob), cfg.trigger.generator_channels)
    _load_weights(path, generator, blob.get("state_dict"))
    return DynamicTrigger(generator.eval(), cfg.trigger.gamma)


def _read(path: Path) -> dict[str, Any]:
    if not zipfile.is_zipfile(path):
        raise TriggerError(f"{path}: damaged dynamic trigger (not a torch.save zip archive)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # bad bytes fail the weights-only unpickler in many ways
        first = (str(exc).strip().splitlines() or [""])[0]
        raise TriggerError(
            f"{path}: damaged dynamic trigger ({type(exc).__name__}: {first})"
        ) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise TriggerError(f"{path}: not a saved dynamic trigger (no '{FORMAT}' header)")
    return blob


def _channels(path: Path, blob: dict[str, Any]) -> int:
    """The frame channels the saved generator takes (its hidden width is checked with the
    other settings, its budget too: both are in `made_with`)."""
    channels = blob.get("channels")
    if type(channels) is not int or not 0 < channels <= MAX_CHANNELS:
        raise TriggerError(f"{path}: damaged dynamic trigger (bad channels {channels!r})")
    return channels


def _check_made_with(path: Path, saved: object, wanted: dict[str, Any]) -> None:
    if not isinstance(saved, dict):
        raise TriggerError(f"{path}: damaged dynamic trigger (no settings)")
    for key, value in wanted.items():
        if saved.get(key) != value:
            raise TriggerError(
                f"{path} was trained with {key} = {saved.get(key)!r}, not {value!r} as the "
                "config says: it is not this run's trigger"
            )


def _load_weights(path: Path, generator: PerturbationGenerator, state: object) -> None:
    expected = generator.state_dict()
    fits = (
        isinstance(state, dict)
        and set(state) == set(expected)
        and all(
            isinstance(v, torch.Tensor)
            and v.shape == expected[k].shape
            and bool(torch.isfinite(v).all())
            for k, v in state.items()
        )
    )
    if not fits:
        raise TriggerError(
            f"{path}: damaged dynamic trigger (its weights do not fit the generator)"
        )
    generator.load_state_dict(state)  # type: ignore[arg-type]


def run_trigger(folder: str | Path, cfg: ExperimentConfig) -> DynamicTrigger | None:
    """The saved trigger of the run in `folder` when `cfg`'s kind is saved, else None."""
    return load_dynamic_trigger(Path(folder) / TRIGGER_FILE, cfg) if is_saved_kind(cfg) else None


def resumed_trigger(run_dir: str | Path, cfg: ExperimentConfig) -> DynamicTrigger | None:
    """The trigger a resumed run in `run_dir` goes on with: its saved one, or None (train it)
    when `cfg`'s kind is not saved or the run stopped before it saved its generator. A
    missing file after saved epochs, or a damaged one, is a TriggerError."""
    if not is_saved_kind(cfg):
        return None
    path = Path(run_dir) / TRIGGER_FILE
    if not path.exists() and not resume_state_exists(run_dir):
        return None
    return load_dynamic_trigger(path, cfg)


def checkpoint_trigger(
    checkpoint: str | Path, cfg: ExperimentConfig, image_shape: tuple[int, ...]
) -> DynamicTrigger | None:
    """The saved trigger beside `checkpoint` for a model of `image_shape` made with `cfg`
    (None for the kinds the config rebuilds)."""
    if not is_saved_kind(cfg):
        return None
    trigger = load_dynamic_trigger(trigger_file_beside(checkpoint), cfg)
    trigger.check_fits(image_shape)
    return trigger
