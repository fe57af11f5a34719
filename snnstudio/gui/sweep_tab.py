"""The Sweep tab's controller: Start and Estimate on the window's workers, Stop, reopening a
sweep from Results. The widget it drives is `sweep_panel.SweepPanel`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import RunKind, new_run_dir
from snnstudio.core.sweep.engine import run_sweep
from snnstudio.core.sweep.spec import parse_spec
from snnstudio.core.sweep.sweep_estimate import sweep_estimate_report
from snnstudio.gui.estimate_label import REFUSED_STYLE
from snnstudio.gui.sweep_panel import SweepPanel, SweepPlan
from snnstudio.gui.tasks import Failure, TaskSlot, show_failure


def sweep_folder_name(name: str) -> str:
    """The sweep's folder name says it is a sweep, once: 'sweep' -> 'sweep-<time>', 'pr' ->
    'sweep-pr-<time>' (not 'sweep-sweep-…')."""
    return name if name == "sweep" or name.startswith("sweep-") else f"sweep-{name}"


def is_sweep_dir(path: Path) -> bool:
    try:
        return open_run(path).kind is RunKind.SWEEP
    except (SnnStudioError, OSError):
        return False


class SweepTab:
    """The Sweep tab's one hook into the main window: the tab itself, Start on the window's
    worker, Stop, reopening a sweep from Results and opening a point's run."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self._planned = False  # the running sweep's spec was accepted by the core
        self.panel = SweepPanel()
        window.tabs.addTab(self.panel, "Sweep")
        self.panel.start_button.clicked.connect(self.start)
        self.panel.estimate_button.clicked.connect(self.estimate)
        self.estimates = TaskSlot(window, replace=True)  # a newer click supersedes it
        self.panel.stop_button.clicked.connect(window.jobs.cancel)
        self.panel.open_point.connect(window.reopen_run)

    def start(self) -> None:
        """Check the sweep with the core; a problem is a dialog in this tab, nothing starts.

        The axes are read here; the whole spec (every point's config) is built, checked and
        given its folder by the job, off the GUI thread, which then runs it."""
        if self.window.jobs.busy_here(self.panel):  # says which job is busy
            return
        try:
            data = self.panel.spec_data(self.window.config())
        except SnnStudioError as exc:
            show_failure(self.panel, "Sweep not valid", Failure(str(exc)))
            return
        runs = self.window.runs_folder
        workers, backend = self.panel.workers.value(), self.panel.backend.currentText()
        self._planned = False

        def work(cancel: CancelToken) -> Iterator[object]:
            spec = parse_spec(data, "sweep", None)
            check_cancel(cancel)
            out_dir = new_run_dir(runs, sweep_folder_name(spec.name))
            yield SweepPlan(spec, spec.points(), out_dir)
            yield from run_sweep(spec, out_dir, workers, backend, None, cancel)

        self.panel.status.setText("checking every point of the sweep…")
        self.window.jobs.start(
            "sweep", work, on_yielded=self._event, on_failed=self.failed,
            on_finished=lambda: self.panel.set_running(False),
        )  # fmt: skip
        self.panel.set_running(True)

    def estimate(self) -> None:
        """The sweep's time estimate in the status line, every point's in its tooltip; red
        when a point would not fit in memory. Computed off the GUI thread (it builds and
        times each distinct network)."""
        try:
            data = self.panel.spec_data(self.window.config())
        except SnnStudioError as exc:
            show_failure(self.panel, "Sweep not valid", Failure(str(exc)))
            return
        workers = self.panel.workers.value()

        def work(cancel: CancelToken) -> tuple[list[str], bool]:
            return sweep_estimate_report(parse_spec(data, "sweep", None), workers, cancel=cancel)

        self.panel.status.setText("estimating every point…")
        self.estimates.start(
            "sweep estimate", work, on_returned=self._estimated,
            on_failed=self._estimate_failed,
        )  # fmt: skip

    def _estimated(self, result: tuple[list[str], bool]) -> None:
        lines, fits = result
        self.panel.status.setText(lines[0])
        self.panel.status.setToolTip("\n".join(lines[1:]))
        self.panel.status.setStyleSheet("" if fits else REFUSED_STYLE)

    def _estimate_failed(self, failure: Failure) -> None:
        self.panel.status.setText(f"no estimate: {failure.message}")
        self.panel.status.setToolTip("")
        self.panel.status.setStyleSheet("")
        show_failure(self.panel, "No estimate", failure)

    def _event(self, event: object) -> None:
        self._planned = self._planned or isinstance(event, SweepPlan)
        self.panel.show_event(event)

    def failed(self, failure: Failure) -> None:
        """Any error of the sweep: a message in this tab (a bug's traceback in its details);
        a spec the core refused before anything ran is "not valid"."""
        self.panel.set_running(False)
        refused = not self._planned and not failure.is_bug
        self.panel.status.setText(failure.message)
        show_failure(self.panel, "Sweep not valid" if refused else "Sweep failed", failure)

    def reopen(self, path: Path) -> bool:
        """Show `path` in this tab when it is a sweep directory (True), else leave it (False)."""
        if not is_sweep_dir(path):
            return False
        try:
            self.panel.load_sweep(path)
        except SnnStudioError as exc:
            QMessageBox.warning(self.panel, "Cannot reopen sweep", str(exc))
            return True
        self.window.tabs.setCurrentWidget(self.panel)
        return True
