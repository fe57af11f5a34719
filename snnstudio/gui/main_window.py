"""The main window: tabs for setup, trigger, run, results, defences; one long job; files
(experiment_files.py) and menus (window_menus.py).

It edits an ExperimentConfig, starts the core's `run_experiment` generator as the window's one
long job and draws the events it relays; short blocking calls (dataset checks) are tasks of
their own (gui/tasks.py), so the window never freezes. It holds no science.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QTabWidget

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.attack.saved_trigger import is_saved_kind, run_trigger
from snnstudio.core.data.base import DatasetSplits
from snnstudio.core.data.registry import is_event_dataset, load_dataset
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import RunFinished
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import new_run_dir
from snnstudio.core.runner import resume_experiment, run_experiment
from snnstudio.gui.close_question import CloseQuestion
from snnstudio.gui.defense_tabs import DefenseTabs
from snnstudio.gui.estimate_label import ShownEstimate, estimate_for
from snnstudio.gui.event_trigger_preview import RunGenerator, run_key
from snnstudio.gui.experiment_files import ExperimentFiles
from snnstudio.gui.exporting import figure_caption, run_dir_caption
from snnstudio.gui.results_table import ResultsTable
from snnstudio.gui.run_panel import RunPanel
from snnstudio.gui.screen_fit import fitted_size, scrolled
from snnstudio.gui.setup_panel import SetupPanel
from snnstudio.gui.start_checks import Problem, start_problems
from snnstudio.gui.sweep_tab import SweepTab
from snnstudio.gui.tasks import Failure, TaskSlot, Work, show_failure
from snnstudio.gui.trigger_editor import TriggerEditor
from snnstudio.gui.window_menus import WindowMenus

PREVIEW_SAMPLES = 6
CHECK_DELAY_MS = 250


def data_key(cfg: config_io.ExperimentConfig) -> tuple:
    """What decides whether a dataset check still holds: the dataset, its folder and framing
    (the sample limits and the seed only choose samples)."""
    data = {k: v for k, v in config_io.to_dict(cfg)["data"].items() if not k.endswith("_limit")}
    framing = cfg.sim.timesteps if is_event_dataset(cfg.data.name) else None
    return (sorted(data.items()), framing)


class MainWindow(ExperimentFiles, WindowMenus, QMainWindow):
    def __init__(self, runs_folder: Path | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("snnstudio", "snnstudio")
        self.runs_folder = runs_folder or Path.cwd() / "runs"
        self.config_path: Path | None = None
        self.saved_config: config_io.ExperimentConfig | None = None  # as last opened/saved
        self.splits: DatasetSplits | None = None
        self.last_run_dir: Path | None = None
        self.jobs = TaskSlot(self)  # the one long job: experiment, detection or elimination
        self._dataset_checks = TaskSlot(self, replace=True)
        self.estimates = TaskSlot(self, replace=True)  # the estimate beside Start
        self._checked_data: tuple | None = None  # data_key of the last finished check
        self._dataset_failure: str | None = None  # what that check said, when it failed
        self._start_when_checked = False
        self.run_caption = ""

        self.setup = SetupPanel()
        self.trigger = TriggerEditor()
        self.trigger.form_config = self.config
        self.run_panel = RunPanel()
        self.results = ResultsTable(self.runs_folder)
        self.defense = DefenseTabs(
            self.jobs, lambda: self.runs_folder, lambda page: self.tabs.setCurrentWidget(page)
        )
        self.tabs = QTabWidget()
        self.tabs.addTab(scrolled(self.setup), "Experiment")
        self.tabs.addTab(self.trigger, "Trigger")
        self.tabs.addTab(self.run_panel, "Run")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.defense.detection, "Detection")
        self.tabs.addTab(self.defense.elimination, "Elimination")
        self.sweep = SweepTab(self)  # the Sweep tab: its panel, Start/Stop and reopening
        self.setCentralWidget(self.tabs)
        self.build_menus()

        self._estimate_timer = QTimer(self)  # the estimate after a burst of edits
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.setInterval(CHECK_DELAY_MS)
        self._estimate_timer.timeout.connect(self.update_estimate)
        self.setup.changed.connect(self._on_config_edited)
        self._check_timer = QTimer(self)  # one check after a burst of edits, not one per key
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check_dataset)
        self.setup.dataset_changed.connect(self._check_timer.start)
        self.trigger.changed.connect(self._on_config_edited)
        self.run_panel.start_button.clicked.connect(self.start_run)
        self.run_panel.stop_button.clicked.connect(self.stop_run)
        self.defense.detection.stop_button.clicked.connect(self.stop_run)
        self.defense.elimination.stop_button.clicked.connect(self.stop_run)
        self.jobs.busy_changed.connect(self._on_busy_changed)
        self.jobs.yielded.connect(self._on_job_event)
        self.results.reopen.connect(self.reopen_run)
        self.results.resume.connect(self.resume_run)
        self.statusBar()  # there from the start: the first message does not grow the window
        self.resize(fitted_size(self.screen()))  # a 1366x768 laptop screen holds it
        self.set_config(config_io.load_preset("demo"))

    # ------------------------------------------------------------------ config

    def config(self) -> config_io.ExperimentConfig:
        """The experiment as edited: the form plus the trigger editor's section."""
        cfg = self.setup.config()
        cfg.trigger = self.trigger.trigger_config(cfg.trigger)
        return cfg

    def set_config(self, cfg: config_io.ExperimentConfig) -> None:
        """Put `cfg` in the form as it is now saved (no question: see `may_replace_form`)."""
        self.trigger.dynamic_preview.run = None  # a reopened run's generator goes with its form
        self.setup.set_config(cfg)
        self.trigger.set_trigger_config(cfg.trigger)
        self.saved_config = self.config()
        self.update_title()

    def _on_config_edited(self) -> None:
        self.update_title()
        self._estimate_timer.start()
        self._refresh_start()

    def _refresh_start(self) -> None:
        """Mark every problem at its field and enable Start only when there is none."""
        problems = self.start_problems()
        self.setup.show_problems(problems)
        for problem in problems:
            if problem.on_trigger_tab:
                self.trigger.show_message(problem.message, ok=False)
        idle = not self.jobs.running
        self.run_panel.start_button.setEnabled(idle and not problems)
        self.start_action.setEnabled(idle)  # F5 on a refused run says why (start_run)
        self.run_panel.show_refusal(problems)

    def start_problems(self) -> list[Problem]:
        """What stops the experiment now: the core's validation, a dataset whose check failed,
        a trigger that does not fit its images (known once the dataset is checked) and a run
        the memory estimate beside Start says would not fit."""
        cfg = self.config()
        checked = self._checked_data == data_key(cfg)
        trigger_failure = None
        if checked and self.splits is not None:
            try:
                self.trigger.sample_trigger()
            except SnnStudioError as exc:
                trigger_failure = str(exc)
        dataset_failure = self._dataset_failure if checked else None
        found = start_problems(cfg, dataset_failure, trigger_failure)
        if not found and not self.run_panel.estimate.fits:
            found.append(Problem("", self.run_panel.estimate.toolTip()))
        return found

    def update_estimate(self) -> None:
        """The memory and time estimate beside Start, for the config as edited, computed off
        the GUI thread (it builds and times the network); a newer edit supersedes it."""
        cfg = self.config()
        if validation.problems(cfg):
            self.estimates.drop()
            self.run_panel.estimate.show_none()
            self._refresh_start()
            return
        self.estimates.start(
            "estimate",
            lambda cancel: estimate_for(cfg, cancel),
            on_returned=self._estimated,
            on_failed=self._estimate_failed,
        )

    def _estimated(self, shown: ShownEstimate) -> None:
        label = self.run_panel.estimate
        fitted = label.fits
        label.show_estimate(shown)
        if fitted and not shown.fits:
            self.run_panel.append_log(f"Start refused: {shown.details}")
        self._refresh_start()

    def _estimate_failed(self, failure: Failure) -> None:
        self.run_panel.estimate.show_none(f"no estimate: {failure.message}")
        self.run_panel.append_log(f"estimate failed: {failure.message}")
        if failure.is_bug:
            self.run_panel.append_log(failure.details)
        self._refresh_start()

    # ------------------------------------------------------------------ dataset check

    def check_dataset(self) -> None:
        """Load the chosen dataset with the core's loader, off the GUI thread."""
        cfg = self.setup.config()
        key = data_key(cfg)
        self._checked_data = None
        self.setup.set_dataset_status("checking the dataset…", ok=True)
        self._dataset_checks.start(
            "dataset check",
            lambda cancel: load_dataset(cfg.data, cfg.train.seed, cfg.sim.timesteps, cancel),
            on_returned=lambda splits: self._dataset_checked(key, splits),
            on_failed=lambda failure: self._dataset_failed(key, cfg, failure),
        )

    def _dataset_failed(
        self, key: object, cfg: config_io.ExperimentConfig, failure: Failure
    ) -> None:
        self.splits = None
        self._checked_data, self._dataset_failure = key, failure.message
        self.setup.set_dataset_status(failure.message, ok=False)
        if self._start_when_checked:  # Start's refusal names the problem; one message, not two
            self._start_when_checked = False
            self.start_run()
        elif cfg.data.root.strip() or failure.is_bug:
            show_failure(self.setup, "Dataset not usable", failure)
        self._on_config_edited()

    def _dataset_checked(self, key: object, splits: DatasetSplits) -> None:
        self.splits = splits
        self._checked_data, self._dataset_failure = key, None
        self.setup.set_classes(splits.classes)
        self.setup.set_dataset_status(
            f"{splits.name}: {len(splits.train)} training and {len(splits.test)} test samples, "
            f"{splits.num_classes} classes, frames {splits.image_shape}", ok=True,
        )  # fmt: skip
        self.trigger.set_samples(
            splits.test.x[:PREVIEW_SAMPLES], splits.image_shape, splits.is_event, splits.train
        )
        self._on_config_edited()
        if self._start_when_checked:
            self._start_when_checked = False
            self.start_run()

    # ------------------------------------------------------------------ running

    def start_run(self) -> None:
        """Start the experiment, or refuse it with each problem shown at its field; a run
        that cannot start makes no run directory."""
        if self.jobs.running:
            return
        cfg = self.config()
        if self._checked_data != data_key(cfg):  # not checked yet: check, then come back
            self._start_when_checked = True
            self.check_dataset()
            self.run_panel.status.setText("checking the dataset before starting…")
            return
        problems = self.start_problems()
        if problems:
            self._on_config_edited()
            first = problems[0]
            where = {"Trigger": self.trigger, "Experiment": self.setup}.get(first.tab)
            self.run_panel.append_log("Start refused: " + "; ".join(p.where() for p in problems))
            self.run_panel.status.setText("not started")
            listed = "\n".join(f"• {p.message}" for p in problems)
            show_failure(where or self.run_panel, "Experiment cannot start", Failure(listed))
            return
        try:
            out_dir = new_run_dir(self.runs_folder, cfg.name)
        except SnnStudioError as exc:
            QMessageBox.warning(self.run_panel, "Cannot make the run folder", str(exc))
            return
        self.run_caption = figure_caption(cfg, out_dir.name)
        self._start_experiment(
            cfg.name, out_dir, lambda cancel: run_experiment(cfg, out_dir, cancel)
        )

    def _start_experiment(self, name: str, out_dir: Path, work: Work) -> None:
        """Start an experiment job whose events, errors and end go to the Run tab."""
        self.last_run_dir = out_dir
        self.run_panel.begin(name, str(out_dir))
        self.jobs.start(
            "experiment",
            work,
            on_yielded=self.run_panel.show_event,
            on_failed=lambda failure: self.run_panel.show_failure("Experiment failed", failure),
            on_finished=self._experiment_finished,
        )
        self.tabs.setCurrentWidget(self.run_panel)

    def resume_run(self, path: Path) -> None:
        """Continue a stopped or killed experiment in its own directory (Results > Resume)."""
        if self.jobs.running:
            return
        self.run_caption = run_dir_caption(path)
        self._start_experiment(
            f"{path.name} (resumed)", path, lambda cancel: resume_experiment(path, cancel)
        )

    def _experiment_finished(self) -> None:
        if self.last_run_dir is not None and self.last_run_dir.is_dir():
            self.defense.last_run = self.last_run_dir

    def stop_run(self) -> None:
        if self.jobs.running:
            self.jobs.cancel()
            self.run_panel.status.setText("stopping after this batch…")

    def _on_busy_changed(self, running: bool) -> None:
        self.run_panel.set_running(running)
        self.stop_action.setEnabled(running)
        self._on_config_edited()
        if not running:
            self.results.refresh()

    def _on_job_event(self, event: object) -> None:
        if isinstance(event, RunFinished):
            self.statusBar().showMessage(f"run {event.status}: {event.out_dir}", 10000)

    # ------------------------------------------------------------------ results

    def reopen_run(self, path: Path) -> None:
        """Show a past run's epoch curves and load its config into the form, asking first
        when the form holds another experiment (a sweep opens in the Sweep tab)."""
        if self.sweep.reopen(path):
            return
        try:
            record = open_run(path)
            cfg = record.config()
            epochs, curves = record.epochs(), record.timestep_curves()
        except (SnnStudioError, OSError) as exc:
            QMessageBox.warning(self.results, "Cannot reopen run", str(exc))
            return
        self.run_caption = figure_caption(cfg, path.name)
        self.run_panel.show_reopened(path, [*epochs, *curves])
        if self.may_replace_form(cfg, f"the config of {path.name}", ask=True):
            self.config_path = None
            self.set_config(cfg)
            self._show_run_generator(path, cfg)
        else:
            self.run_panel.append_log(f"the form was kept; {path.name}'s config is its config.toml")
        self.tabs.setCurrentWidget(self.run_panel)

    def _show_run_generator(self, path: Path, cfg: config_io.ExperimentConfig) -> None:
        """A reopened dynamic-trigger run: its own saved generator on the Trigger tab, or a
        dialog saying why it cannot be loaded (never a generator trained in its place)."""
        if not is_saved_kind(cfg):
            return
        try:
            trigger = run_trigger(path, cfg)
        except SnnStudioError as exc:
            self.run_panel.append_log(f"the run's trigger cannot be loaded: {exc}")
            QMessageBox.warning(self.trigger, "Cannot load the run's trigger", str(exc))
            return
        assert trigger is not None
        self.trigger.show_run_generator(RunGenerator(trigger, run_key(cfg), path.name))

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """While a job runs, ask first; if the user agrees, cancel it at its next check and
        join every background thread before closing."""
        task = self.jobs.task
        if task is not None:
            if not CloseQuestion(self, self.jobs).ask():  # it follows the job while open
                event.ignore()
                return
            if self.jobs.running:
                self.statusBar().showMessage(f"stopping the {task.name}…")
        self._check_timer.stop()  # no new dataset check after the window has gone
        for slot in (self.jobs, self._dataset_checks, self.estimates, self.results.reading,
                     self.defense.probe, self.trigger.generator_task,
                     self.sweep.estimates):  # fmt: skip
            slot.close()
        for timer in (self._check_timer, self._estimate_timer, self.run_panel.curves.timer):
            timer.stop()  # the job's end above may have started them again
        event.accept()
