"""Dataset names -> loaders. The one place that turns `data.*` config into arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from snnstudio.core.config import DataConfig, ExperimentConfig, SimConfig
from snnstudio.core.data.base import DatasetSplits, seeded_subset
from snnstudio.core.data.cifar10 import load_cifar10
from snnstudio.core.data.cifar10dvs import load_cifar10dvs
from snnstudio.core.data.digits import load_digits_dataset
from snnstudio.core.data.digits_dvs import load_digits_dvs
from snnstudio.core.data.dvsgesture import load_dvsgesture
from snnstudio.core.data.events import FRAMES_BY, EventLoadOptions, resolve_cache_dir
from snnstudio.core.data.mnist import load_mnist
from snnstudio.core.data.nmnist import load_nmnist
from snnstudio.core.errors import DatasetError


@dataclass(frozen=True)
class LoadRequest:
    """What a loader needs beyond data.*: the run's seed (subsets) and T (event frames)."""

    seed: int = 0
    timesteps: int = SimConfig.timesteps


def event_options(cfg: DataConfig, request: LoadRequest) -> EventLoadOptions:
    return EventLoadOptions(
        timesteps=request.timesteps, frames_by=cfg.frames_by, side=cfg.frame_side,
        cache_dir=resolve_cache_dir(cfg.cache_dir), train_limit=cfg.train_limit,
        test_limit=cfg.test_limit, seed=request.seed,
    )  # fmt: skip


Loader = Callable[[DataConfig, LoadRequest], DatasetSplits]

LOADERS: dict[str, Loader] = {
    "digits": lambda cfg, req: load_digits_dataset(),
    "mnist": lambda cfg, req: load_mnist(cfg.root),
    "cifar10": lambda cfg, req: load_cifar10(cfg.root),
    "digits-dvs": lambda cfg, req: load_digits_dvs(event_options(cfg, req)),
    "nmnist": lambda cfg, req: load_nmnist(cfg.root, event_options(cfg, req)),
    "cifar10dvs": lambda cfg, req: load_cifar10dvs(cfg.root, event_options(cfg, req)),
    "dvsgesture": lambda cfg, req: load_dvsgesture(cfg.root, event_options(cfg, req)),
}
NEEDS_ROOT = {"mnist", "cifar10", "nmnist", "cifar10dvs", "dvsgesture"}
# Event datasets: samples are frames (N, T, 2, H, W) with T = sim.timesteps.
EVENT_DATASETS = {"digits-dvs", "nmnist", "cifar10dvs", "dvsgesture"}


def dataset_names() -> list[str]:
    return list(LOADERS)


def load_dataset(
    cfg: DataConfig, seed: int = 0, timesteps: int = SimConfig.timesteps
) -> DatasetSplits:
    """Load the dataset `cfg.name`, cut to data.train_limit / data.test_limit when set.

    Event datasets are framed into `timesteps` frames (pass the run's sim.timesteps).
    """
    splits = LOADERS[cfg.name](cfg, LoadRequest(seed, timesteps))
    if splits.is_event and splits.train.x.shape[1] != timesteps:
        raise DatasetError(
            f"{cfg.name}: frames carry {splits.train.x.shape[1]} timesteps, the run asks for "
            f"{timesteps} (sim.timesteps)"
        )
    splits.train = seeded_subset(splits.train, cfg.train_limit, seed)
    splits.test = seeded_subset(splits.test, cfg.test_limit, seed + 1)
    return splits


def event_problems(cfg: ExperimentConfig) -> list[str]:
    """Config errors of the event-data keys (data.frames_by ..., trigger.polarity/frames)."""
    out: list[str] = []
    data, trig, steps = cfg.data, cfg.trigger, cfg.sim.timesteps
    if data.frames_by not in FRAMES_BY:
        out.append(f"data.frames_by = '{data.frames_by}' is not one of: {', '.join(FRAMES_BY)}")
    if data.frame_side < 0:
        out.append(f"data.frame_side = {data.frame_side} must be >= 0 (0 = sensor size)")
    if trig.polarity not in (0, 1, 2):
        out.append(f"trigger.polarity = {trig.polarity} is not one of: 0, 1, 2")
    if trig.frame_start < 0 or trig.frame_stop < 0:
        out.append("trigger.frame_start and trigger.frame_stop must be >= 0")
    elif trig.frame_stop and trig.frame_stop <= trig.frame_start:
        out.append(
            f"trigger.frame_stop = {trig.frame_stop} must be > trigger.frame_start = "
            f"{trig.frame_start} (or 0 = to the last frame)"
        )
    if cfg.data.name in EVENT_DATASETS:
        if trig.frame_start >= steps or trig.frame_stop > steps:
            out.append(
                f"trigger frames {trig.frame_start}..{trig.frame_stop} leave the {steps} frames "
                "of each sample (sim.timesteps)"
            )
        if cfg.sim.encoder != "repeat":
            out.append(
                f"sim.encoder = '{cfg.sim.encoder}' applies to static images only; "
                f"{cfg.data.name} samples are already event frames (use 'repeat')"
            )
    return out
