"""The form is not replaced without asking (Open preset, Open, Reopen, a sweep point); "Use the
last run" finds a run with a model; a refused Start says why on the Run tab and on F5."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import field_widget
from PySide6.QtWidgets import QMessageBox

from snnstudio.core import config as config_io
from snnstudio.core.events import BatchDone, CancelToken, RunFinished
from snnstudio.core.runner import run_experiment

NO, YES = QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes


def tiny_config(name: str) -> config_io.ExperimentConfig:
    cfg = config_io.load_preset("demo")
    cfg.name = name
    cfg.data.train_limit, cfg.data.test_limit, cfg.train.epochs = 64, 32, 1
    cfg.train.clean_twin = False
    return cfg


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A completed run with its model, then a newer one stopped before it saved a model."""
    folder = tmp_path_factory.mktemp("runs")
    events = list(run_experiment(tiny_config("finished"), folder / "finished"))
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    token = CancelToken()
    for event in run_experiment(tiny_config("stopped"), folder / "stopped", token):
        if isinstance(event, BatchDone):
            token.cancel()
    assert not (folder / "stopped" / "model.pt").exists()
    return folder


def menu_action(window, *path: str):
    menu = window.menuBar()
    for title in path:
        action = next(a for a in menu.actions() if a.text().replace("&", "") == title)
        menu = action.menu() or action
    return menu


def questions(messages) -> list[str]:
    return messages.texts("question")


# ------------------------------------------------------------------ 7: the form


def test_open_preset_asks_before_replacing_edits_and_forgets_the_opened_file(
    window, messages, tmp_path
):
    saved = tmp_path / "mine.toml"
    window.write_config(saved)
    assert str(saved) in window.windowTitle()
    window.setup.name.setText("edited")
    assert "*" in window.windowTitle()  # unsaved edits are marked
    messages.answer = NO
    menu_action(window, "File", "Open preset", "nmnist").trigger()
    assert len(questions(messages)) == 1 and "unsaved edits" in questions(messages)[0]
    assert window.config().name == "edited" and window.config_path == saved  # kept
    messages.answer = YES
    menu_action(window, "File", "Open preset", "nmnist").trigger()
    assert window.config().name == "nmnist"
    assert window.config_path is None and str(saved) not in window.windowTitle()
    menu_action(window, "File", "Open preset", "demo").trigger()  # nothing unsaved: no question
    assert len(questions(messages)) == 2 and window.config().name == "demo"


def test_open_file_asks_before_replacing_edits(window, messages, tmp_path):
    other = tmp_path / "other.toml"
    config_io.save(tiny_config("other"), other)
    field_widget(window, "train.epochs").setValue(3)
    messages.answer = NO
    assert not window.open_config(other)
    assert window.config().train.epochs == 3 and window.config_path is None
    messages.answer = YES
    assert window.open_config(other) and window.config().name == "other"


def test_reopen_asks_before_replacing_the_form_and_resets_the_run_status(
    window, qtbot, messages, runs
):
    window.run_panel.status.setText("0/135 batches, failed")  # what a failed run left
    window.run_panel.progress.setValue(500)
    messages.answer = NO
    window.reopen_run(runs / "finished")
    assert len(questions(messages)) == 1
    assert window.config().name == "demo"  # the form was kept
    assert window.run_panel.status.text() == "reopened finished"
    assert window.run_panel.progress.value() == 0
    curves = window.run_panel.curves
    curves.refresh()
    assert curves.point_count("epoch", "acc") == 1  # the curves are shown either way
    assert "not saved" in curves.plots["loss"].titleLabel.text  # why the batch plots are empty
    messages.answer = YES
    window.reopen_run(runs / "finished")
    assert window.config().name == "finished" and len(questions(messages)) == 2
    window.reopen_run(runs / "finished")  # the form already holds it: nothing to ask
    assert len(questions(messages)) == 2


def test_a_sweep_point_does_not_replace_the_form_silently(window, messages, runs):
    panel = window.sweep.panel
    panel.sweep_dir = runs
    panel.rows = {0: {"poison.rate": 0.1, "seed": 0, "status": "completed",
                      "run_dir": "finished"}}  # fmt: skip
    panel._refresh()
    messages.answer = NO
    panel.points.cellDoubleClicked.emit(0, 0)
    assert questions(messages) and window.config().name == "demo"


# ------------------------------------------------------------------ 8: the last run


def test_use_the_last_run_passes_over_a_run_without_a_model(window, messages, runs):
    window.runs_folder = runs
    window.defense.last_run = runs / "stopped"  # the newest: cancelled before its model
    window.defense.detection.use_last_run.click()
    assert messages.calls == []
    model = str(runs / "finished" / "model.pt")
    assert window.defense.detection.suspect.edit.text() == model
    assert window.defense.elimination.checkpoint.edit.text() == model
    assert "finished" in window.defense.detection.status.text()


def test_use_the_last_run_says_when_no_run_has_a_model(window, messages, tmp_path):
    window.runs_folder = tmp_path / "none"
    window.defense.elimination.use_last_run.click()
    assert messages.texts("information") and "no experiment" in messages.texts()[0]


# ------------------------------------------------------------------ 10: refusals


def test_a_refused_start_says_why_beside_start_and_on_f5(window, qtbot, messages):
    window.tabs.setCurrentWidget(window.run_panel)
    window.trigger.size.setValue(40)  # the demo's images are 28 x 28
    panel = window.run_panel
    assert not panel.start_button.isEnabled()
    window.start_action.trigger()  # F5 is not silent
    assert "Start refused" in panel.log.toPlainText() and "28" in panel.log.toPlainText()
    assert messages.texts("warning") and not window.jobs.running
    window.tabs.setCurrentWidget(window.run_panel)
    assert panel.refusal.isVisibleTo(window) and "28" in panel.refusal.text()  # beside Start
    assert "Trigger tab" in panel.refusal.text()
    window.trigger.size.setValue(3)
    assert panel.start_button.isEnabled() and not panel.refusal.isVisibleTo(window)
