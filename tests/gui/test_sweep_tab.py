"""The Sweep tab: a small sweep over the edited experiment, live table and plot, bad input
as a dialog in the tab, reopening from Results and opening a point."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QComboBox

from tests.core.sweep_specs import fake_fig12_sweep
from tests.gui.helpers import click, field_widget, set_small_demo

SHOTS = Path(os.environ.get("SNNSTUDIO_SHOTS", "")) if os.environ.get("SNNSTUDIO_SHOTS") else None


def set_axes(panel, axes: list[tuple[str, str]]) -> None:
    while panel.axes.rowCount():
        panel.axes.removeRow(0)
    for key, values in axes:
        panel.add_axis(key, values)


def test_sweep_runs_from_the_tab_and_reopens_from_results(qtbot, window, messages) -> None:
    set_small_demo(window, epochs=2, train=300, test=60)  # as tests/core/sweep_specs.py
    field_widget(window, "train.batch_size").setValue(16)
    field_widget(window, "train.lr").setValue(0.01)
    panel = window.sweep.panel
    window.tabs.setCurrentWidget(panel)
    set_axes(
        panel, [("poison.rate", "0.1:0.2:0.1"), ("trigger.position", "top-left, bottom-right")]
    )
    panel.workers.setValue(2)
    click(qtbot, panel.start_button)
    assert window.jobs.running and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=240_000)
    assert panel.sweep_dir.name.startswith("sweep-") and "sweep-sweep" not in panel.sweep_dir.name
    assert messages.calls == []
    statuses = [panel.points.item(r, 3).text() for r in range(panel.points.rowCount())]
    assert statuses == ["completed"] * 4
    assert 0.5 < float(panel.points.item(0, 4).text()) <= 1  # ACC, a fraction as in Results
    assert len(panel.graphics.ci.items) == 2  # two axes: ACC and ASR heat maps
    assert "sweep completed" in panel.status.text()
    if SHOTS:
        window.grab().save(str(SHOTS / "sweep-tab.png"))

    # a point opens in the Run tab's curves, like a run reopened from Results
    panel._open_row(0)
    assert window.tabs.currentWidget() is window.run_panel
    # the finished sweep is listed in Results as kind `sweep` and reopens in the Sweep tab
    window.results.refresh()
    qtbot.waitUntil(lambda: window.results.table.rowCount() > 0, timeout=10_000)
    kinds = [window.results.table.item(r, 1).text() for r in range(window.results.table.rowCount())]
    assert "sweep" in kinds
    row = kinds.index("sweep")
    panel.rows = {}
    window.results._reopen_row(row)
    assert window.tabs.currentWidget() is panel and len(panel.rows) == 4


def test_bad_axis_is_a_dialog_in_the_tab_and_nothing_starts(qtbot, window, messages) -> None:
    panel = window.sweep.panel
    set_axes(panel, [("poison.rate", "0.1, 1.5")])
    click(qtbot, panel.start_button)  # every point is checked in the job, off the GUI thread
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=20_000)
    assert any("poison.rate = 1.5 must be in [0, 1]" in t for t in messages.texts("warning"))
    assert messages.calls[-1][1] == "Sweep not valid"
    assert not list(window.runs_folder.glob("sweep*"))  # no folder for a sweep that cannot run
    set_axes(panel, [("poison.rate", "")])
    click(qtbot, panel.start_button)
    assert any("axis poison.rate: no values" in t for t in messages.texts("warning"))
    assert not window.jobs.running
    assert isinstance(panel.axes.cellWidget(0, 0), QComboBox)


def test_a_reopened_fig12_sweep_shows_the_elimination_columns(qtbot, window, tmp_path) -> None:
    panel = window.sweep.panel
    window.tabs.setCurrentWidget(panel)
    fake_fig12_sweep(tmp_path / "fig12")
    panel.load_sweep(tmp_path / "fig12")
    header = [
        panel.points.horizontalHeaderItem(c).text() for c in range(panel.points.columnCount())
    ]
    assert header == ["model.arch", "poison.rate", "seed", "status", "ACC", "ASR", "MR",
                      "ACC after", "ASR after", "ASR drop"]  # fmt: skip
    first = [panel.points.item(0, c).text() for c in range(len(header))]
    assert first == ["vgg11", "0.01", "0", "completed", "0.8000", "0.9000", "", "0.8500",
                     "0.5000", "0.4000"]  # fmt: skip
    assert len(panel.graphics.ci.items) == 2  # two axes: ACC and ASR heat maps
    if SHOTS:
        window.grab().save(str(SHOTS / "sweep-tab-fig12.png"))


def test_a_new_sweep_relabels_the_plots_made_with_the_tab(window) -> None:
    """No plot item is made at a sweep's start (it froze the window for ~30 ms each time):
    lines and heat maps are made once and laid out, re-labelled and re-used."""
    panel = window.sweep.panel
    lines = panel.plots.lines.plot
    heat_maps = [heat_map.plot for heat_map in panel.plots.heat_maps]

    def begin(axes: list[tuple[str, str]]) -> list:
        set_axes(panel, axes)
        panel.begin(panel.build_spec(window.config()), window.runs_folder / "s")
        layout = panel.graphics.ci
        return [layout.getItem(0, col) for col in range(len(layout.items))]

    three = [("poison.rate", "0.1, 0.2"), ("trigger.position", "top-left, bottom-right"),
             ("poison.target", "0, 1")]  # fmt: skip
    assert begin(three) == [lines]
    assert len(lines.legend.items) == 8  # ACC and ASR of 4 lines (position x target)
    assert begin(three[::2]) == heat_maps
    assert begin(three[:1]) == [lines]
    assert len(lines.legend.items) == 2
    assert len([c for c in lines.listDataItems() if c.isVisible()]) == 2
    assert "against poison.rate" in lines.titleLabel.text


def test_estimate_time_shows_the_sweeps_total_and_each_point(qtbot, window, messages, tmp_path):
    """Estimate time: the `sweep --dry-run` figures in the tab's status line (each point in
    its tooltip), nothing run, no folder made; a bad axis is a dialog instead."""
    set_small_demo(window, epochs=2, train=300, test=60)
    panel = window.sweep.panel
    window.tabs.setCurrentWidget(panel)
    set_axes(panel, [("poison.rate", "0.05, 0.1"), ("trigger.position", "top-left, top-right")])
    panel.workers.setValue(2)
    click(qtbot, panel.estimate_button)
    qtbot.waitUntil(lambda: "points, about" in panel.status.text(), timeout=60_000)
    assert panel.status.text().startswith("sweep: 4 points, about ")
    assert "with 2 workers" in panel.status.text()
    assert len(panel.status.toolTip().splitlines()) == 4 and panel.status.styleSheet() == ""
    assert not window.jobs.running and not list(window.runs_folder.glob("sweep*"))
    if SHOTS:
        window.grab().save(str(SHOTS / "sweep-estimate.png"))
    set_axes(panel, [("poison.rate", "0.1, 1.5")])
    click(qtbot, panel.estimate_button)
    qtbot.waitUntil(lambda: bool(messages.calls), timeout=20_000)
    assert messages.calls[-1][1] == "No estimate"
    assert any("poison.rate = 1.5 must be in [0, 1]" in t for t in messages.texts("warning"))
    assert (
        panel.status.text().startswith("no estimate: ")
        and "poison.rate = 1.5" in panel.status.text()
    )
