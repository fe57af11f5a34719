"""Wiring of the Detection and Elimination tabs: checkpoint loading and probe recording as
short tasks of the Detection tab, the detection tests and elimination as the window's one long
job. Each tab starts its own work with its own callbacks, so its events, results and failures
come back to it (gui/tasks.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from snnstudio.core.defense.detection import run_detection
from snnstudio.core.defense.elimination import run_elimination
from snnstudio.core.defense.max_margin import TESTS as REFERENCE_FREE_TESTS
from snnstudio.core.events import (
    BatchDone,
    CancelToken,
    DetectionResult,
    Event,
    Log,
    RunFinished,
    StageStarted,
    check_cancel,
)
from snnstudio.core.run_record import RunRecord, list_runs, open_run
from snnstudio.core.rundir import (
    CLEAN_TWIN_STAGE,
    MODEL_STAGE,
    RunDirError,
    RunKind,
    dropped_if_empty,
    new_run_dir,
)
from snnstudio.gui.detection_view import DetectionView
from snnstudio.gui.elimination_panel import EliminationPanel
from snnstudio.gui.exporting import figure_caption, run_dir_caption
from snnstudio.gui.probe_snapshot import (
    LoadedCheckpoints,
    ProbeSnapshot,
    load_checkpoints,
    record_snapshot,
)
from snnstudio.gui.tasks import Failure, TaskSlot, show_failure


class DefenseTabs:
    """Owns the two tabs' behaviour; the window gives it its job slot, runs folder and how
    to bring a tab to the front (`show`)."""

    def __init__(
        self,
        jobs: TaskSlot,
        runs_folder: Callable[[], Path],
        show: Callable[[QWidget], None] = lambda page: None,
    ) -> None:
        self.jobs = jobs
        self.runs_folder = runs_folder
        self.show = show
        self.detection = DetectionView()
        self.elimination = EliminationPanel()
        self.probe = TaskSlot(self.detection, replace=True)  # load and record
        self.loaded: LoadedCheckpoints | None = None
        self.last_run: Path | None = None
        self.detection_caption = ""
        self.elimination_caption = ""
        d, e = self.detection, self.elimination
        d.use_last_run.clicked.connect(self.use_last_run)
        d.load_button.clicked.connect(self.load)
        d.record_button.clicked.connect(self.record)
        d.detect_button.clicked.connect(self.start_detection)
        d.stop_button.clicked.connect(self.jobs.cancel)
        d.next_step.clicked.connect(self.eliminate_detected)
        e.use_last_run.clicked.connect(self.use_last_run)
        e.start_button.clicked.connect(self.start_elimination)
        e.stop_button.clicked.connect(self.jobs.cancel)

    # ------------------------------------------------------------------ failures, per tab

    def detection_failed(self, title: str, failure: Failure) -> None:
        self.detection.set_running(False)
        self.detection.status.setText(failure.message)
        show_failure(self.detection, title, failure)

    def elimination_failed(self, title: str, failure: Failure) -> None:
        self.elimination.set_running(False)
        self.elimination.status.setText(failure.message)
        show_failure(self.elimination, title, failure)

    # ------------------------------------------------------------------ checkpoints and probe

    def use_last_run(self) -> None:
        """Point both tabs at the newest experiment that has a trained model.pt (and its clean
        twin as reference): a newer run stopped before its model was saved is passed over."""
        folder = self.runs_folder()
        run = latest_model_run(folder, self.last_run)
        if run is None:
            QMessageBox.information(
                self.detection, "No trained model",
                f"no experiment in {folder} has a trained model yet: run one to the end first",
            )  # fmt: skip
            return
        model, twin = run.checkpoint(MODEL_STAGE), run.checkpoint(CLEAN_TWIN_STAGE)
        self.detection.suspect.edit.setText(str(model))
        self.detection.reference.edit.setText("" if twin is None else str(twin))
        self.elimination.checkpoint.edit.setText(str(model))
        for status in (self.detection.status, self.elimination.status):
            status.setText(f"{run.name}: the newest run with a trained model")

    def _chosen(self) -> tuple[Path, Path | None] | None:
        suspect, reference = self.detection.suspect.path(), self.detection.reference.path()
        if suspect is None:
            self.detection_failed("No checkpoint", Failure("choose the suspect checkpoint first"))
            return None
        return suspect, reference

    def _is_loaded(self, suspect: Path, reference: Path | None) -> bool:
        if self.loaded is None:
            return False
        ref = self.loaded.reference
        return self.loaded.suspect.path == suspect and (ref.path if ref else None) == reference

    def _forget(self, status: str) -> None:
        """A new model is coming (or none): nothing of the previous one stays on screen."""
        self.loaded = None
        self.detection_caption = ""
        self.detection.clear_snapshot(status)

    def load(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        suspect, reference = chosen
        self._forget(f"loading {suspect} …")
        self.probe.start(
            "checkpoint loading",
            lambda cancel: load_checkpoints(suspect, reference, cancel),
            on_returned=self._show_loaded,
            on_failed=self._load_failed,
        )

    def record(self) -> None:
        """Record the chosen layer for clean and triggered inputs, loading first if needed."""
        chosen = self._chosen()
        if chosen is None:
            return
        suspect, reference = chosen
        loaded = self.loaded if self._is_loaded(suspect, reference) else None
        if loaded is None:
            self._forget(f"loading {suspect} …")
        layer, count = self.detection.layer_name(), self.detection.count.value()

        def work(cancel: CancelToken) -> tuple[LoadedCheckpoints, ProbeSnapshot]:
            ready = loaded or load_checkpoints(suspect, reference, cancel)
            check_cancel(cancel)
            spiking = [name for name in ready.layers if name != "output"] or ready.layers
            name = layer if layer in ready.layers else spiking[-1]  # as set_layers chooses
            return ready, record_snapshot(ready, name, count, cancel)

        label = self.detection.labels.get(layer, layer) or "the last spiking layer"
        self.detection.status.setText(f"recording {label} for {count} inputs …")
        self.probe.start(
            "probe recording", work, on_returned=self._show_recorded, on_failed=self._record_failed
        )

    def _load_failed(self, failure: Failure) -> None:
        self._forget(failure.message)
        self.detection.clear_scores()  # no verdict stays beside a checkpoint that failed
        self.detection_failed("Cannot load the checkpoint", failure)

    def _record_failed(self, failure: Failure) -> None:
        if self.loaded is None:  # it had to load the checkpoint first
            self._load_failed(failure)
        else:
            self.detection_failed("Cannot record", failure)

    def _show_loaded(self, loaded: LoadedCheckpoints) -> None:
        self.loaded = loaded
        layers, labels = loaded.layers, loaded.labels
        cfg = loaded.suspect.config
        self.detection.set_layers(labels, cfg.poison.target)
        self.elimination.set_layers({k: v for k, v in labels.items() if k in layers})
        suspect, reference = loaded.suspect.path, loaded.reference
        self.elimination.checkpoint.edit.setText(str(suspect))
        self.detection_caption = figure_caption(cfg, f"{suspect.parent.name}/{suspect.name}")
        self.detection.status.setText(
            f"loaded {suspect.name}: {cfg.model.arch} on {cfg.data.name}, target class "
            f"{cfg.poison.target}; {len(layers)} spiking layers"
            + ("" if reference is None else f"; reference {reference.path.name}")
        )

    def _show_recorded(self, result: tuple[LoadedCheckpoints, ProbeSnapshot]) -> None:
        loaded, snapshot = result
        if loaded is not self.loaded:
            self._show_loaded(loaded)
        self.detection.layer.setCurrentIndex(self.detection.layer.findData(snapshot.layer))
        self.detection.set_snapshot(snapshot)

    # ------------------------------------------------------------------ jobs

    def start_detection(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        suspect, reference = chosen
        if not self._is_loaded(suspect, reference):  # no plots of another model stay shown
            self._forget("")
        settings, runs = self.detection.settings(), self.runs_folder()
        models = 1 if reference is None else 2
        self.detection.begin(
            suspect, reference, len(REFERENCE_FREE_TESTS) * models if settings.reference_free else 0
        )

        def job(cancel: CancelToken) -> Iterator[Event]:  # the folder is made when it starts
            out = new_run_dir(runs, "detect")
            return dropped_if_empty(
                run_detection(suspect, reference, out, settings, None, cancel), out
            )

        started = self.jobs.try_start(
            self.detection, "detection", job,
            on_yielded=self._detection_event,
            on_failed=self._detection_job_failed,
            on_finished=lambda: self.detection.set_running(False),
        )  # fmt: skip
        if started:
            self.detection.set_running(True)
            self.detection.status.setText(f"detecting on {suspect} …")

    def start_elimination(self) -> None:
        path = self.elimination.checkpoint.path()
        if path is None:
            failure = Failure("choose the checkpoint to clean first")
            self.elimination_failed("No checkpoint", failure)
            return
        settings, runs = self.elimination.settings(), self.runs_folder()

        def job(cancel: CancelToken) -> Iterator[Event]:
            out = new_run_dir(runs, "eliminate")
            return dropped_if_empty(run_elimination(path, out, settings, None, cancel), out)

        started = self.jobs.try_start(
            self.elimination, "elimination", job,
            on_yielded=self._elimination_event,
            on_failed=lambda f: self.elimination_failed("Elimination failed", f),
            on_finished=lambda: self.elimination.set_running(False),
        )  # fmt: skip
        if started:
            self.elimination_caption = ""
            self.elimination.clear_result()
            self.elimination.set_running(True)
            self.elimination.progress.setValue(0)
            self.elimination.status.setText(f"eliminating from {path} …")

    def _detection_event(self, event: object) -> None:
        view = self.detection
        if isinstance(event, DetectionResult):
            view.show_result(event.section, event.summary)
        elif isinstance(event, StageStarted):  # a reference-free margin search
            view.search_started(event.stage, event.total_steps)
        elif isinstance(event, BatchDone):
            view.search_step(event.step, event.total_steps)
        elif isinstance(event, Log):
            view.status.setText(event.message)
        elif isinstance(event, RunFinished):
            view.status.setText(f"detection {event.status}: {event.out_dir}")
            view.finish(event.status)

    def _detection_job_failed(self, failure: Failure) -> None:
        self.detection.finish("failed")
        self.detection_failed("Detection failed", failure)

    def eliminate_detected(self) -> None:
        """The verdict's next step: the detected checkpoint in the Elimination tab."""
        if self.detection.result_for is None:
            return
        self.elimination.checkpoint.edit.setText(str(self.detection.result_for[0]))
        self.show(self.elimination)

    def _elimination_event(self, event: object) -> None:
        panel = self.elimination
        if isinstance(event, StageStarted):
            panel.progress.setRange(0, max(1, event.total_steps))
        elif isinstance(event, BatchDone):
            panel.progress.setValue(event.step)
        elif isinstance(event, Log):
            panel.status.setText(event.message)
        elif isinstance(event, RunFinished):
            panel.status.setText(f"elimination {event.status}: {event.out_dir}")
            if "acc" in event.metrics:
                panel.show_result(event.metrics)
            if event.out_dir is not None:
                self.elimination_caption = run_dir_caption(Path(event.out_dir))


def latest_model_run(folder: Path, last: Path | None = None) -> RunRecord | None:
    """The newest experiment in `folder` (or `last`, the window's last run, wherever it is)
    whose model.pt exists."""
    runs = list_runs(folder)
    if last is not None and all(r.path != last for r in runs):
        with contextlib.suppress(RunDirError):
            runs.insert(0, open_run(last))
    for run in runs:
        if run.kind is RunKind.EXPERIMENT and run.checkpoint(MODEL_STAGE) is not None:
            return run
    return None
