"""The run's memory and time estimate beside Start (core/estimate.py), red when it would not
fit; the same check refuses the run in the core before anything is allocated.

Estimating builds the network and times two training steps (seconds for VGG11 on a CPU), so
`estimate_for` runs as a task off the GUI thread; the label only shows what it returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QLabel, QWidget

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.estimate import GB, estimate_run, refusal
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.runner import resolve_device, resolve_step_mode

NO_ESTIMATE = "estimate: —"
REFUSED_STYLE = "color: #c62828; font-weight: bold"


@dataclass(frozen=True)
class ShownEstimate:
    """What the label shows for one config: whether the run fits, a line and its details."""

    fits: bool
    text: str
    details: str


def estimate_for(cfg: ExperimentConfig, cancel: CancelToken | None = None) -> ShownEstimate:
    """Estimate `cfg` (a valid config); blocking, for a worker thread."""
    try:
        device = resolve_device(cfg.train.device)
        step_mode = resolve_step_mode(cfg.train.step_mode, device)
        estimate = estimate_run(cfg, step_mode, device)
    except SnnStudioError as exc:  # the run reports it when it starts
        return ShownEstimate(True, NO_ESTIMATE, str(exc))
    memory = f"{estimate.peak_bytes / GB:.1f} GB of {estimate.available_bytes / GB:.1f} GB"
    if estimate.fits:
        duration = estimate.summary().rsplit("about ", 1)[1]
        return ShownEstimate(True, f"estimate: {memory} memory, {duration}", estimate.summary())
    check_cancel(cancel)  # the advice below estimates the config again at other sizes
    return ShownEstimate(
        False, f"will not fit: {memory} memory", refusal(cfg, estimate, step_mode, device)
    )


class EstimateLabel(QLabel):
    """Shows the last estimate; `fits` says whether the run may start."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(NO_ESTIMATE, parent)
        self.fits = True

    def show_estimate(self, shown: ShownEstimate) -> None:
        self.fits = shown.fits
        self.setStyleSheet("" if shown.fits else REFUSED_STYLE)
        self.setText(shown.text)
        self.setToolTip(shown.details)

    def show_none(self, why: str = "") -> None:
        """No estimate (the config has problems of its own, or estimating failed)."""
        self.show_estimate(ShownEstimate(True, NO_ESTIMATE, why))
