"""Run the demo by clicks, watch the curves, stop it, close the window during a run."""

from __future__ import annotations

import json

from helpers import click, field_widget, set_small_demo

from snnstudio.core.events import BatchDone, RunFinished


def collect(window) -> list:
    events: list = []
    window.runner.event.connect(events.append)
    return events


def test_demo_run_by_clicks_draws_acc_and_asr(window, qtbot, messages):
    set_small_demo(window, epochs=2)
    events = collect(window)
    click(qtbot, window.run_panel.start_button)
    assert window.runner.running
    curves = window.run_panel.curves
    qtbot.waitUntil(
        lambda: curves.point_count("epoch", "acc") >= 2 and curves.point_count("epoch", "asr") >= 2,
        timeout=60_000,
    )
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert finished and finished[0].status == "completed"
    assert curves.point_count("loss", "loss") == sum(isinstance(e, BatchDone) for e in events)
    metrics = json.loads((window.last_run_dir / "metrics.json").read_text())
    assert 0 <= metrics["acc"] <= 1 and 0 <= metrics["asr"] <= 1
    assert window.results.table.rowCount() == 1  # the results table read the run directory
    assert window.results.records[0].kind == "experiment"
    assert window.run_panel.start_button.isEnabled()
    assert messages.calls == []

    window.results.table.selectRow(0)
    curves.clear()
    click(qtbot, window.results.reopen_button)
    curves.refresh()
    assert curves.point_count("epoch", "acc") == 2  # reopened from history.csv
    assert window.config().name == "demo"


def test_stop_mid_run_keeps_what_was_saved(window, qtbot):
    set_small_demo(window, epochs=50)
    events = collect(window)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: sum(isinstance(e, BatchDone) for e in events) >= 2, timeout=60_000)
    click(qtbot, window.run_panel.stop_button)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert finished and finished[0].status == "cancelled"
    assert sum(isinstance(e, BatchDone) for e in events) < 50 * 8
    metrics = json.loads((window.last_run_dir / "metrics.json").read_text())
    assert metrics["status"] == "cancelled"
    assert (window.last_run_dir / "config.toml").is_file()


def test_closing_during_a_run_stops_the_worker(window, qtbot):
    set_small_demo(window, epochs=50)
    events = collect(window)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: any(isinstance(e, BatchDone) for e in events), timeout=60_000)
    window.close()
    assert not window.runner.running  # joined inside closeEvent; the fixture checks threads


def test_core_error_appears_as_a_dialog(window, qtbot, messages, tmp_path):
    window.setup.dataset.setCurrentText("mnist")
    window.setup.root.setText(str(tmp_path))  # an empty folder: the core's loader refuses it
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    errors = messages.texts("critical")
    assert len(errors) == 1 and "MNIST file" in errors[0]
    assert window.isVisible()  # no crash


def test_conversion_run_draws_the_timestep_curve(window, qtbot):
    set_small_demo(window, epochs=1, train=200, test=60)
    window.setup.rule.setCurrentText("conversion")
    field_widget(window, "sim.eval_timesteps").setValue(8)
    field_widget(window, "rule.reference_samples").setValue(100)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=90_000)
    curves = window.run_panel.curves
    curves.refresh()
    assert curves.point_count("timestep", "acc") == 8
    assert curves.point_count("timestep", "asr") == 8

    curves.clear()  # reopened from the run directory's curve.csv files
    window.reopen_run(window.last_run_dir)
    curves.refresh()
    assert curves.point_count("timestep", "acc") == 8
