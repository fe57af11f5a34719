"""Run the demo by clicks, watch the curves, stop it, close the window during a run; every
error of a run in the Run tab; Start refused, with no run directory, for what cannot run."""

from __future__ import annotations

import json

import pytest
from helpers import click, field_widget, set_small_demo
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QMessageBox

from snnstudio.core.errors import DatasetError
from snnstudio.core.events import BatchDone, Log, RunFinished
from snnstudio.gui import main_window
from snnstudio.gui.screen_fit import FRAME_ALLOWANCE


def collect(window) -> list:
    events: list = []
    window.jobs.yielded.connect(events.append)
    return events


def test_demo_run_by_clicks_draws_acc_and_asr(window, qtbot, messages):
    set_small_demo(window, epochs=2)
    events = collect(window)
    click(qtbot, window.run_panel.start_button)
    assert window.jobs.running
    curves = window.run_panel.curves
    qtbot.waitUntil(
        lambda: curves.point_count("epoch", "acc") >= 2 and curves.point_count("epoch", "asr") >= 2,
        timeout=60_000,
    )
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=60_000)
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert finished and finished[0].status == "completed"
    qtbot.waitUntil(lambda: not window.results.reading.running, timeout=10_000)  # off-thread
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
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=60_000)
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert finished and finished[0].status == "cancelled"
    assert sum(isinstance(e, BatchDone) for e in events) < 50 * 8
    metrics = json.loads((window.last_run_dir / "metrics.json").read_text())
    assert metrics["status"] == "cancelled"
    assert (window.last_run_dir / "config.toml").is_file()


LAPTOP = QSize(1366, 768 - 40) - FRAME_ALLOWANCE  # a 1366x768 screen, its panel, the frame


def assert_fits_a_laptop_screen(window) -> None:
    for index in range(window.tabs.count()):  # every tab laid out, each its own minimum
        window.tabs.setCurrentIndex(index)
        hint = window.minimumSizeHint()
        assert hint.width() <= LAPTOP.width() and hint.height() <= LAPTOP.height(), (
            f"{window.tabs.tabText(index)}: the window needs at least {hint.toTuple()}"
        )


def test_the_window_fits_a_1366x768_screen_before_during_and_after_a_run(window, qtbot):
    """It opened at 1280x1044 on a 1000-pixel screen and grew to 1066 when a run started."""
    assert_fits_a_laptop_screen(window)
    opened = window.size()
    set_small_demo(window, epochs=50)
    events = collect(window)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: sum(isinstance(e, BatchDone) for e in events) >= 2, timeout=60_000)
    assert_fits_a_laptop_screen(window)
    assert window.size() == opened  # a run does not grow the window
    click(qtbot, window.run_panel.stop_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=60_000)
    assert_fits_a_laptop_screen(window)
    assert window.size() == opened


def test_closing_during_a_run_asks_then_stops_the_worker(window, qtbot, messages):
    set_small_demo(window, epochs=50)
    events = collect(window)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: any(isinstance(e, BatchDone) for e in events), timeout=60_000)
    messages.answer = QMessageBox.StandardButton.No
    window.close()
    assert [k for k, _t, _x in messages.calls] == ["question"]
    assert "experiment is still running" in messages.texts("question")[0]
    assert window.isVisible() and window.jobs.running  # the user said no: nothing stops
    messages.answer = QMessageBox.StandardButton.Yes
    window.close()
    assert not window.isVisible()
    assert not window.jobs.running  # joined inside closeEvent; the fixture checks threads
    metrics = json.loads((window.last_run_dir / "metrics.json").read_text())
    assert metrics["status"] == "cancelled"  # the core ended it cleanly, not killed


def test_closing_while_idle_does_not_ask(window, messages):
    window.close()
    assert not window.isVisible() and messages.calls == []


def failing_run(exc: Exception):
    def run(cfg, out_dir, cancel):
        yield Log("loading")
        raise exc

    return run


@pytest.mark.parametrize(
    ("exc", "kind", "has_traceback"),
    [(DatasetError("the MNIST files went away"), "warning", False),
     (KeyError(101), "critical", True)],
)  # fmt: skip
def test_any_error_of_a_run_is_shown_in_the_run_tab(
    window, qtbot, messages, monkeypatch, exc, kind, has_traceback
):
    monkeypatch.setattr(main_window, "run_experiment", failing_run(exc))
    window.tabs.setCurrentWidget(window.trigger)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=10_000)
    assert len(messages.calls) == 1 and messages.calls[0][0] == kind
    assert messages.parents == [window.run_panel]
    assert window.tabs.currentWidget() is window.run_panel
    assert str(exc) in messages.texts()[0] or "KeyError: 101" in messages.texts()[0]
    assert bool(messages.details[0]) == has_traceback
    log = window.run_panel.log.toPlainText()
    assert "error:" in log and ("Traceback" in log) == has_traceback
    assert window.run_panel.start_button.isEnabled()
    assert window.isVisible()  # no crash


def run_dirs(window) -> list:
    return list(window.runs_folder.glob("*")) if window.runs_folder.exists() else []


def test_start_refused_for_a_folder_that_failed_its_check(window, qtbot, messages, tmp_path):
    window.setup.dataset.setCurrentText("mnist")
    window.setup.root.setText(str(tmp_path))  # an empty folder, not checked yet
    click(qtbot, window.run_panel.start_button)  # Start checks it first, then refuses
    qtbot.waitUntil(lambda: bool(messages.calls), timeout=20_000)
    assert not window.jobs.running and run_dirs(window) == []  # no run, no run directory
    assert [k for k, _t, _x in messages.calls] == ["warning"]  # one message, not two
    assert "MNIST file" in messages.texts()[0]
    assert messages.parents == [window.setup]
    root = window.setup.root
    assert "MNIST file" in root.toolTip() and "b00020" in root.styleSheet()  # at its field
    assert "MNIST file" in window.setup.problems.text()
    assert not window.run_panel.start_button.isEnabled()
    window.start_run()  # F5 anyway: refused again, still no run directory
    assert len(messages.calls) == 2 and run_dirs(window) == []


def test_start_refused_for_a_trigger_larger_than_the_image(window, qtbot, messages):
    field = window.trigger.size
    field.setValue(40)  # the demo's images are 28 x 28
    assert not window.run_panel.start_button.isEnabled()
    window.start_run()
    assert not window.jobs.running and run_dirs(window) == []
    assert [k for k, _t, _x in messages.calls] == ["warning"]
    assert messages.parents == [window.trigger]
    assert window.tabs.currentWidget() is window.trigger
    assert "28" in messages.texts()[0]
    assert "28" in window.trigger.message.text()
    field.setValue(3)
    assert window.run_panel.start_button.isEnabled()
    assert window.setup.problems.text() == ""


def test_core_problems_are_marked_at_their_fields(window, messages):
    field_widget(window, "train.clean_weight").setValue(0)
    weight = field_widget(window, "train.poison_weight")
    weight.setValue(0)  # "train.poison_weight + train.clean_weight must be > 0": marked there
    assert "b00020" in weight.styleSheet() and "must be > 0" in weight.toolTip()
    assert field_widget(window, "train.lr").styleSheet() == ""  # only where the problem is
    assert not window.run_panel.start_button.isEnabled()
    window.start_run()
    assert messages.parents == [window.setup] and run_dirs(window) == []
    weight.setValue(0.5)
    assert weight.styleSheet() == "" and weight.toolTip() == ""


def test_conversion_run_draws_the_timestep_curve(window, qtbot):
    set_small_demo(window, epochs=1, train=200, test=60)
    window.setup.rule.setCurrentText("conversion")
    field_widget(window, "sim.eval_timesteps").setValue(8)
    field_widget(window, "rule.reference_samples").setValue(100)
    click(qtbot, window.run_panel.start_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=90_000)
    curves = window.run_panel.curves
    curves.refresh()
    assert curves.point_count("timestep", "acc") == 8
    assert curves.point_count("timestep", "asr") == 8

    curves.clear()  # reopened from the run directory's curve.csv files
    window.reopen_run(window.last_run_dir)
    curves.refresh()
    assert curves.point_count("timestep", "acc") == 8


def test_the_close_question_follows_a_run_that_ends_while_it_is_open(window, qtbot, messages):
    set_small_demo(window, epochs=1, train=96, test=32)
    click(qtbot, window.run_panel.start_button)
    asked: list[tuple[str, str]] = []

    def run_ends_while_asked(box) -> None:
        asked.append((box.windowTitle(), box.text()))
        qtbot.waitUntil(lambda: not window.jobs.running, timeout=60_000)  # the run goes on
        asked.append((box.windowTitle(), box.text()))

    messages.while_asked = run_ends_while_asked
    messages.answer = QMessageBox.StandardButton.No
    window.close()
    assert "still running" in asked[0][1]
    assert "still running" not in asked[1][1] and "has ended" in asked[1][1]  # not stale
    assert window.isVisible()
    metrics = json.loads((window.last_run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed"
