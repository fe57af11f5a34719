"""`snnstudio sweep --dry-run`: what a sweep will cost before it starts, from each point's
run estimate (core/estimate.py), with the ANN twins the points share counted once, as the
sweep trains them (core/rules/ann_cache.py)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from snnstudio.core.estimate import duration, estimate_run, gigabytes
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.rules.ann_cache import ann_key, ann_key_data
from snnstudio.core.rules.registry import converts_ann
from snnstudio.core.runner import resolve_device, resolve_step_mode
from snnstudio.core.sweep.spec import SweepPoint, SweepSpec


@dataclass(frozen=True)
class PointEstimate:
    """One point's expected seconds (its ANN twin left out when an earlier point trains the
    same one) and whether it fits in memory."""

    point: SweepPoint
    seconds: float
    shares_ann: bool
    peak_bytes: int
    fits: bool


def estimate_sweep(
    spec: SweepSpec, device: torch.device | None = None, ann_reuse: bool = True,
    cancel: CancelToken | None = None,
) -> list[PointEstimate]:  # fmt: skip
    """Every point's estimate, in order, on `device` (default: the CPU); `cancel` is checked
    between points."""
    device = device or torch.device("cpu")
    trained: set[str] = set()
    out = []
    for point in spec.points():
        check_cancel(cancel)
        cfg = point.config
        estimate = estimate_run(cfg, resolve_step_mode(cfg.train.step_mode, device), device)
        seconds, shares = estimate.seconds, False
        if ann_reuse and converts_ann(cfg.rule.name):
            key = ann_key(ann_key_data(cfg, "backdoored", "", device))
            shares = key in trained
            trained.add(key)
            if shares:  # the backdoored ANN (a clean twin's ANN is counted every time)
                seconds -= estimate.ann_seconds
        out.append(PointEstimate(point, seconds, shares, estimate.peak_bytes, estimate.fits))
    return out


def sweep_estimate_lines(
    spec: SweepSpec, estimates: list[PointEstimate], workers: int
) -> list[str]:
    """The dry run's report: one line per point, then the total (of one core, and over
    `workers` processes when more than one)."""
    lines = [
        f"  {e.point.index:3d} {e.point.label()}: about {duration(e.seconds)}"
        + (" (its ANN twin shared)" if e.shares_ann else "")
        + ("" if e.fits else f"; does NOT fit in memory ({gigabytes(e.peak_bytes)} peak)")
        for e in estimates
    ]
    total = sum(e.seconds for e in estimates)
    shared = sum(e.shares_ann for e in estimates)
    summary = (
        f"{spec.name}{f' at {spec.scale} scale' if spec.scale else ''}: {len(estimates)} points, "
        f"about {duration(total)} of one worker"
        + (f", {duration(total / workers)} with {workers} workers" if workers > 1 else "")
        + (f"; {shared} points reuse an earlier point's ANN twin" if shared else "")
        + f"; peak memory per point up to {gigabytes(max(e.peak_bytes for e in estimates))}"
    )
    if spec.job != "experiment":
        summary += f" (the {spec.job} job's elimination step is not counted)"
    return [summary, *lines]


def sweep_estimate_report(
    spec: SweepSpec, workers: int, ann_reuse: bool = True, cancel: CancelToken | None = None
) -> tuple[list[str], bool]:
    """What `sweep --dry-run` prints and the Sweep tab shows, on the device the spec asks
    for, and whether every point fits in memory."""
    estimates = estimate_sweep(spec, resolve_device(spec.base.train.device), ann_reuse, cancel)
    return sweep_estimate_lines(spec, estimates, max(workers, 1)), all(e.fits for e in estimates)
