"""The run's memory and time estimate beside Start (core/estimate.py), red when it would not
fit; the same check refuses the run in the core before anything is allocated."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.estimate import GB, estimate_run, refusal
from snnstudio.core.runner import resolve_device, resolve_step_mode


class EstimateLabel(QLabel):
    """Shows the estimate of a config; `fits` says whether the run may start."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("estimate: —", parent)
        self.fits = True

    def show_for(self, cfg: ExperimentConfig) -> bool:
        """Estimate `cfg` (a valid config) and show it; returns whether it fits."""
        try:
            device = resolve_device(cfg.train.device)
            step_mode = resolve_step_mode(cfg.train.step_mode, device)
            estimate = estimate_run(cfg, step_mode, device)
        except SnnStudioError as exc:
            self.fits = True  # the run reports it when it starts
            self.setText("estimate: —")
            self.setToolTip(str(exc))
            return True
        self.fits = estimate.fits
        memory = f"{estimate.peak_bytes / GB:.1f} GB of {estimate.available_bytes / GB:.1f} GB"
        if self.fits:
            self.setStyleSheet("")
            self.setText(f"estimate: {memory} memory, {estimate.summary().rsplit('about ', 1)[1]}")
            self.setToolTip(estimate.summary())
        else:
            self.setStyleSheet("color: #c62828; font-weight: bold")
            self.setText(f"will not fit: {memory} memory")
            self.setToolTip(refusal(cfg, estimate, step_mode, device))
        return self.fits
