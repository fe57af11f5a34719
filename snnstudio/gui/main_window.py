"""The main window: tabs for setup, trigger, run, results; one worker; file handling.

It edits an ExperimentConfig, starts the core's `run_experiment` generator on one QThread and
draws the events it relays; short blocking calls (dataset checks) run in a thread pool awaited
on the qasync loop so the window never freezes. It holds no science.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.data.base import DatasetSplits
from snnstudio.core.data.registry import load_dataset
from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import RunFinished
from snnstudio.core.rundir import new_run_dir, open_run
from snnstudio.core.runner import resume_experiment, run_experiment
from snnstudio.gui.defense_tabs import DefenseTabs
from snnstudio.gui.exporting import PLOT_FILTER, TABLE_FILTER, export_graphics, export_table_csv
from snnstudio.gui.results_table import ResultsTable
from snnstudio.gui.run_panel import RunPanel
from snnstudio.gui.setup_panel import SetupPanel
from snnstudio.gui.sweep_panel import SweepTab
from snnstudio.gui.trigger_editor import TriggerEditor
from snnstudio.gui.worker import JobRunner

TOML_FILTER = "Experiment (*.toml)"
RECENT_KEY = "recent_files"
MAX_RECENT = 8
PREVIEW_SAMPLES = 6
CHECK_DELAY_MS = 250


class MainWindow(QMainWindow):
    def __init__(self, runs_folder: Path | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("snnstudio", "snnstudio")
        self.runs_folder = runs_folder or Path.cwd() / "runs"
        self.config_path: Path | None = None
        self.splits: DatasetSplits | None = None
        self.last_run_dir: Path | None = None
        self.runner = JobRunner(self)
        self._io_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snnstudio-io")
        self._dataset_task: asyncio.Future | None = None

        self.setup = SetupPanel()
        self.trigger = TriggerEditor()
        self.run_panel = RunPanel()
        self.results = ResultsTable(self.runs_folder)
        self.job_kind = ""  # "experiment" | "detection" | "elimination" while a job runs
        self.defense = DefenseTabs(self, self._io_pool, self.start_job, lambda: self.runs_folder)
        self.tabs = QTabWidget()
        self.tabs.addTab(_scrolled(self.setup), "Experiment")
        self.tabs.addTab(self.trigger, "Trigger")
        self.tabs.addTab(self.run_panel, "Run")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.defense.detection, "Detection")
        self.tabs.addTab(self.defense.elimination, "Elimination")
        self.sweep = SweepTab(self)  # the Sweep tab: its panel, Start/Stop and reopening
        self.setCentralWidget(self.tabs)
        self._build_menus()

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
        self.runner.event.connect(self._on_event)
        self.runner.failed.connect(self._on_failed)
        self.runner.finished.connect(self._on_finished)
        self.results.reopen.connect(self.reopen_run)
        self.results.resume.connect(self.resume_run)
        self.resize(1280, 860)
        self.set_config(config_io.load_preset("demo"))

    # ------------------------------------------------------------------ menus

    def _build_menus(self) -> None:
        files = self.menuBar().addMenu("&File")
        self._action(files, "&New experiment", self.new_config, QKeySequence.StandardKey.New)
        presets = files.addMenu("Open &preset")
        for name in config_io.preset_names():
            self._action(presets, name, lambda n=name: self.set_config(config_io.load_preset(n)))
        self._action(files, "&Open…", self.open_config_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = files.addMenu("Open &recent")
        self._action(files, "&Save", self.save_config, QKeySequence.StandardKey.Save)
        self._action(files, "Save &as…", self.save_config_as, QKeySequence.StandardKey.SaveAs)
        files.addSeparator()
        self._action(files, "Export &plots…", self.export_plots_dialog)
        self._action(files, "Export &table as CSV…", self.export_table_dialog)
        files.addSeparator()
        self._action(files, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        runs = self.menuBar().addMenu("&Run")
        self.start_action = self._action(runs, "&Start", self.start_run, QKeySequence("F5"))
        self.stop_action = self._action(runs, "S&top", self.stop_run, QKeySequence("Shift+F5"))
        self.stop_action.setEnabled(False)
        self._refresh_recent_menu()

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # ------------------------------------------------------------------ config

    def config(self) -> config_io.ExperimentConfig:
        """The experiment as edited: the form plus the trigger editor's section."""
        cfg = self.setup.config()
        cfg.trigger = self.trigger.trigger_config(cfg.trigger)
        return cfg

    def set_config(self, cfg: config_io.ExperimentConfig) -> None:
        self.setup.set_config(cfg)
        self.trigger.set_trigger_config(cfg.trigger)
        self._update_title()

    def new_config(self) -> None:
        self.config_path = None
        self.set_config(config_io.ExperimentConfig())

    def open_config(self, path: Path) -> bool:
        try:
            cfg = validation.validate(config_io.load(path))
        except SnnStudioError as exc:
            QMessageBox.warning(self, "Cannot open experiment", str(exc))
            return False
        self.config_path = Path(path)
        self.set_config(cfg)
        self._remember(self.config_path)
        return True

    def open_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", "", TOML_FILTER)
        if path:
            self.open_config(Path(path))

    def save_config(self) -> None:
        if self.config_path is None:
            self.save_config_as()
        else:
            self.write_config(self.config_path)

    def save_config_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save experiment", f"{self.config().name}.toml", TOML_FILTER
        )
        if path:
            self.write_config(Path(path))

    def write_config(self, path: Path) -> None:
        try:
            config_io.save(self.config(), path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save experiment", f"cannot write {path}: {exc}")
            return
        self.config_path = path
        self._remember(path)
        self._update_title()
        self.statusBar().showMessage(f"saved {path}", 5000)

    def _remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue(RECENT_KEY, recent[:MAX_RECENT])
        self._refresh_recent_menu()

    def recent_files(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        return [value] if isinstance(value, str) else list(value or [])

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            self._action(self.recent_menu, path, lambda p=path: self.open_config(Path(p)))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def _update_title(self) -> None:
        where = f" — {self.config_path}" if self.config_path else ""
        self.setWindowTitle(f"snnstudio — {self.setup.name.text()}{where}")

    def _on_config_edited(self) -> None:
        self._update_title()
        self._estimate_timer.start()
        self._refresh_start()

    def _refresh_start(self) -> None:
        problems = validation.problems(self.config())
        if not problems and not self.run_panel.estimate.fits:
            problems = [self.run_panel.estimate.toolTip()]
        idle = not self.runner.running
        self.run_panel.start_button.setEnabled(idle and not problems)
        self.start_action.setEnabled(idle and not problems)
        self.run_panel.start_button.setToolTip("\n".join(problems))

    def update_estimate(self) -> None:
        """The memory and time estimate beside Start, for the config as edited."""
        cfg = self.config()
        if validation.problems(cfg):
            self.run_panel.estimate.fits = True
            self.run_panel.estimate.setText("estimate: —")
        else:
            fitted = self.run_panel.estimate.fits
            if not self.run_panel.estimate.show_for(cfg) and fitted:
                self.run_panel.append_log(f"Start refused: {self.run_panel.estimate.toolTip()}")
        self._refresh_start()

    # ------------------------------------------------------------------ dataset check

    def check_dataset(self) -> None:
        """Load the chosen dataset with the core's loader, off the GUI thread."""
        if self._dataset_task is not None and not self._dataset_task.done():
            self._dataset_task.cancel()
        self.setup.set_dataset_status("checking the dataset…", ok=True)
        self._dataset_task = asyncio.ensure_future(self._check_dataset(self.setup.config()))

    async def _check_dataset(self, cfg: config_io.ExperimentConfig) -> None:
        loop = asyncio.get_event_loop()
        try:
            splits = await loop.run_in_executor(
                self._io_pool, load_dataset, cfg.data, cfg.train.seed, cfg.sim.timesteps
            )
        except SnnStudioError as exc:
            self.splits = None
            self.setup.set_dataset_status(str(exc), ok=False)
            if cfg.data.root.strip():
                QMessageBox.warning(self, "Dataset not usable", str(exc))
            return
        self.splits = splits
        self.setup.set_classes(splits.classes)
        self.setup.set_dataset_status(
            f"{splits.name}: {len(splits.train)} training and {len(splits.test)} test samples, "
            f"{splits.num_classes} classes, frames {splits.image_shape}", ok=True,
        )  # fmt: skip
        self.trigger.set_samples(
            splits.test.x[:PREVIEW_SAMPLES], splits.image_shape, splits.is_event
        )

    # ------------------------------------------------------------------ running

    def start_run(self) -> None:
        if self.runner.running:
            return
        cfg = self.config()
        problems = validation.problems(cfg)
        if problems:
            QMessageBox.warning(self, "Experiment not valid", "\n".join(problems))
            return
        try:
            out_dir = new_run_dir(self.runs_folder, cfg.name)
        except SnnStudioError as exc:
            QMessageBox.warning(self, "Cannot make the run folder", str(exc))
            return
        self.last_run_dir = out_dir
        self.run_panel.begin(cfg.name, str(out_dir))
        self.start_job("experiment", lambda cancel: run_experiment(cfg, out_dir, cancel))
        self.tabs.setCurrentWidget(self.run_panel)

    def resume_run(self, path: Path) -> None:
        """Continue a stopped or killed experiment in its own directory (Results > Resume)."""
        if self.runner.running:
            return
        self.last_run_dir = path
        self.run_panel.begin(f"{path.name} (resumed)", str(path))
        self.start_job("experiment", lambda cancel: resume_experiment(path, cancel))
        self.tabs.setCurrentWidget(self.run_panel)

    def start_job(self, kind: str, job) -> bool:  # type: ignore[no-untyped-def]
        """Start a job on the one worker; refused (with a message) while another runs."""
        if self.runner.running:
            QMessageBox.information(
                self, "Busy", f"a {self.job_kind} job is running; stop it or wait for it"
            )
            return False
        self.job_kind = kind
        self.runner.start(job)
        self._set_running(True)
        return True

    def stop_run(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.run_panel.status.setText("stopping after this batch…")

    def _set_running(self, running: bool) -> None:
        self.run_panel.set_running(running)
        self.stop_action.setEnabled(running)
        self._on_config_edited()

    def _on_event(self, event: object) -> None:
        if self.job_kind == "experiment":
            self.run_panel.show_event(event)
        elif self.job_kind == "sweep":
            self.sweep.panel.show_event(event)
        else:
            self.defense.show_event(self.job_kind, event)
        if isinstance(event, RunFinished):
            self.statusBar().showMessage(f"run {event.status}: {event.out_dir}", 10000)

    def _on_failed(self, message: str, details: str) -> None:
        self.run_panel.append_log(f"{self.job_kind} error: {message}")
        if details:
            self.run_panel.append_log(details)
        QMessageBox.critical(self, f"{self.job_kind.capitalize()} failed", message)

    def _on_finished(self) -> None:
        self._set_running(False)
        self.defense.job_finished()
        if self.job_kind == "experiment" and self.last_run_dir is not None:
            self.defense.last_run = self.last_run_dir
        self.job_kind = ""
        self.results.refresh()

    # ------------------------------------------------------------------ results

    def reopen_run(self, path: Path) -> None:
        """Show a past run's epoch curves and load its config into the form (a sweep opens
        in the Sweep tab)."""
        if self.sweep.reopen(path):
            return
        try:
            record = open_run(path)
            cfg = record.config()
            epochs, curves = record.epochs(), record.timestep_curves()
        except (SnnStudioError, OSError) as exc:
            QMessageBox.warning(self, "Cannot reopen run", str(exc))
            return
        self.config_path = None
        self.set_config(cfg)
        self.run_panel.curves.clear()
        for event in [*epochs, *curves]:
            self.run_panel.curves.add_event(event)
        self.run_panel.append_log(f"reopened {path}")
        self.tabs.setCurrentWidget(self.run_panel)

    # ------------------------------------------------------------------ export

    def current_figure(self) -> tuple[str, object]:
        """(file stem, plot layout) of the tab on screen; the run curves elsewhere."""
        page = self.tabs.currentWidget()
        if page is self.defense.detection:
            return "detection", self.defense.detection.plots.graphics.ci
        if page is self.defense.elimination:
            return "elimination", self.defense.elimination.graphics.ci
        return "curves", self.run_panel.curves.graphics.ci

    def current_table(self) -> tuple[str, object]:
        """(file stem, table) of the tab on screen: detection scores, else the past runs."""
        if self.tabs.currentWidget() is self.defense.detection:
            return "detection-scores", self.defense.detection.scores
        return "runs", self.results.table

    def export_plots_dialog(self) -> None:
        stem, figure = self.current_figure()
        path, _ = QFileDialog.getSaveFileName(self, "Export plots", f"{stem}.png", PLOT_FILTER)
        if path:
            self._report(lambda: export_graphics(figure, path))

    def export_table_dialog(self) -> None:
        stem, table = self.current_table()
        path, _ = QFileDialog.getSaveFileName(self, "Export table", f"{stem}.csv", TABLE_FILTER)
        if path:
            self._report(lambda: export_table_csv(table, path))

    def _report(self, write) -> None:  # type: ignore[no-untyped-def]
        try:
            written = write()
        except SnnStudioError as exc:
            QMessageBox.warning(self, "Export failed", str(exc))
            return
        self.statusBar().showMessage(f"wrote {written}", 5000)

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop a running job between batches and join its thread before closing."""
        if self.runner.running:
            self.statusBar().showMessage("stopping the run…")
            self.runner.stop_and_wait()
        if self._dataset_task is not None:
            self._dataset_task.cancel()
        self.defense.close()
        self._io_pool.shutdown(wait=False, cancel_futures=True)
        self.run_panel.curves.timer.stop()
        event.accept()


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    return area
