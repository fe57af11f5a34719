"""The estimate beside Start refuses T = 2000 before anything starts; Resume in the Results
tab continues a cancelled run to its end, a drawn trigger's run too."""

from __future__ import annotations

import json
import os

from helpers import click, field_widget, press_cell, set_small_demo

from snnstudio.core import config as config_io
from snnstudio.core import estimate
from snnstudio.core.events import CancelToken, EpochDone, run_to_end
from snnstudio.core.runner import run_experiment
from tests.core.test_resume import without_timings

GB = 1024**3
SHOTS = os.environ.get("SNNSTUDIO_SHOTS", "")


def test_two_thousand_timesteps_disable_start_with_the_numbers(window, qtbot, monkeypatch):
    monkeypatch.setattr(estimate, "available_memory", lambda device: (16 * GB, "test: 16 GB"))
    window.update_estimate()  # off the GUI thread: the label changes when it has returned
    label = window.run_panel.estimate
    qtbot.waitUntil(lambda: not window.estimates.running, timeout=30_000)
    assert label.fits and label.text().startswith("estimate: ")
    assert window.run_panel.start_button.isEnabled()
    field_widget(window, "sim.timesteps").setValue(2000)
    qtbot.waitUntil(lambda: not label.fits, timeout=10_000)  # the debounced estimate
    assert label.text().startswith("will not fit: ")
    assert not window.run_panel.start_button.isEnabled()
    assert "lower sim.timesteps to" in window.run_panel.start_button.toolTip()
    assert "T = 2000 x batch" in label.toolTip()
    window.tabs.setCurrentWidget(window.run_panel)
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, "estimate-t2000-refused.png"))
    field_widget(window, "sim.timesteps").setValue(4)
    qtbot.waitUntil(lambda: label.fits, timeout=10_000)
    assert window.run_panel.start_button.isEnabled()


def test_resume_in_results_finishes_a_cancelled_run(window, qtbot, messages):
    set_small_demo(window, epochs=2, train=96, test=48)
    cfg = window.config()
    token, run = CancelToken(), window.runs_folder / "stopped"
    for event in run_experiment(cfg, run, token):
        if isinstance(event, EpochDone):
            token.cancel()
    assert json.loads((run / "metrics.json").read_text())["status"] == "cancelled"
    window.results.refresh()
    table = window.results
    qtbot.waitUntil(lambda: table.table.rowCount() == 1, timeout=10_000)
    assert not table.resume_button.isEnabled()
    table.table.selectRow(0)
    assert table.resume_button.isEnabled()
    window.tabs.setCurrentWidget(table)
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, "results-resume.png"))
    click(qtbot, table.resume_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=120_000)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and messages.calls == []
    assert config_io.load(run / "config.toml") == cfg
    qtbot.waitUntil(lambda: not table.reading.running, timeout=10_000)  # re-read at the end
    table.table.selectRow(0)
    assert not table.resume_button.isEnabled()  # completed: nothing left to resume


def test_a_drawn_trigger_run_stopped_in_the_window_resumes_to_the_uninterrupted_metrics(
    window, qtbot, messages, tmp_path
):
    set_small_demo(window, epochs=3, train=128, test=48)
    editor = window.trigger
    window.tabs.setCurrentWidget(editor)
    editor.kind.setCurrentIndex(editor.kind.findData("array"))
    for row, col in ((20, 20), (20, 22), (22, 21)):  # NaN (transparent) between them
        press_cell(qtbot, editor.grid, row, col)
    cfg = window.config()
    assert cfg.trigger.kind == "array" and any(v != v for v in cfg.trigger.pattern[0])
    epochs: list[EpochDone] = []
    window.jobs.yielded.connect(lambda e: epochs.append(e) if isinstance(e, EpochDone) else None)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: bool(epochs), timeout=120_000)
    click(qtbot, window.run_panel.stop_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=60_000)
    run = window.last_run_dir
    assert json.loads((run / "metrics.json").read_text())["status"] == "cancelled"

    window.results.refresh()  # read on a background task
    qtbot.waitUntil(lambda: not window.results.reading.running, timeout=10_000)
    window.results.table.selectRow(0)
    qtbot.waitUntil(window.results.resume_button.isEnabled, timeout=10_000)
    click(qtbot, window.results.resume_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=120_000)
    assert messages.calls == []
    assert json.loads((run / "metrics.json").read_text())["status"] == "completed"
    run_to_end(run_experiment(cfg, tmp_path / "full"))  # the same run, never stopped
    assert without_timings(run) == without_timings(tmp_path / "full")
