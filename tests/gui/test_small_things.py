"""The small things of issue 21 item 12: the threshold label, whole-number epoch ticks,
legends beside the plots, the sweep axis without an SI prefix, Results sorted after Refresh,
a readable last log line."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from snnstudio.core.events import EpochDone, RunFinished
from snnstudio.core.probe import LayerRecording
from snnstudio.gui.detection_plots import DetectionPlots
from snnstudio.gui.live_curves import LiveCurves
from snnstudio.gui.plot_items import IntegerAxis
from snnstudio.gui.probe_snapshot import ProbeSnapshot
from snnstudio.gui.run_panel import metrics_line
from snnstudio.gui.sweep_tab import sweep_folder_name


def snapshot(threshold: float) -> ProbeSnapshot:
    rng = np.random.default_rng(0)

    def recording() -> LayerRecording:
        voltage = rng.random((4, 2, 6), dtype=np.float32)
        return LayerRecording("layers.1", voltage, (voltage > 0.5).astype(np.float32),
                              threshold, (6,))  # fmt: skip

    return ProbeSnapshot("layers.1", threshold, recording(), recording(), None, None,
                         np.array([1, 2]), 0)  # fmt: skip


def test_the_threshold_line_is_labelled_with_its_value(qtbot):
    plots = DetectionPlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.clear()  # hides the line, as before the first recording
    plots.show_snapshot(snapshot(1.0), 0, [0, 1], np.arange(6))
    assert plots.threshold.value() == 1.0
    assert plots.threshold.label.toPlainText() == "threshold 1.00"  # was "threshold 0.00"


def test_epoch_ticks_are_whole_numbers():
    axis = IntegerAxis("bottom")
    for low, high in ((0.8, 3.2), (0.5, 2.5), (1, 80)):
        values = [v for _spacing, vs in axis.tickValues(low, high, 400) for v in vs]
        assert values and all(float(v).is_integer() for v in values)
        assert len(values) == len(set(values))


def test_legends_sit_beside_the_curves_not_over_their_ends(qtbot):
    curves = LiveCurves()
    qtbot.addWidget(curves)
    curves.resize(1000, 600)
    curves.show()
    for epoch in (1, 2, 3):
        curves.add_event(EpochDone("backdoored", epoch, 0.99, 0.98, 0.1, 1.0))
    curves.refresh()
    qtbot.wait(50)
    plot = curves.plots["epoch"]
    legend, view = plot.legend.sceneBoundingRect(), plot.vb.sceneBoundingRect()
    assert legend.width() > 0 and legend.left() >= view.right() - 1  # right of the view box
    curves.timer.stop()


def test_the_sweep_axis_shows_fractions_and_its_folder_says_sweep_once(qtbot, window):
    panel = window.sweep.panel
    panel.axes.item(0, 1).setText("0.05, 0.075, 0.1")
    spec = panel.build_spec(window.config())
    panel.begin(spec, window.runs_folder / "s")
    plot = panel.graphics.ci.getItem(0, 0)
    assert not plot.getAxis("bottom").autoSIPrefix  # no "(x0.001)" with ticks 50-100
    assert sweep_folder_name("sweep") == "sweep" and sweep_folder_name("pr") == "sweep-pr"


def test_results_keep_the_users_sort_after_refresh(window, qtbot, tmp_path):
    from snnstudio.core.run_record import open_run
    from snnstudio.gui.results_table import COLUMNS, RunRow

    def row(name: str, acc: float, modified: float) -> RunRow:
        path = tmp_path / name
        path.mkdir()
        (path / "run.json").write_text('{"kind": "experiment", "created": ""}')
        return RunRow(open_run(path), {"acc": acc, "status": "completed"}, modified)

    table = window.results
    rows = [row("a", 0.5, 3.0), row("b", -0.02, 2.0), row("c", -0.01, 1.0)]
    table.show_rows(rows)

    def names() -> list[str]:
        return [table.table.item(r, 0).text() for r in range(table.table.rowCount())]

    assert names() == ["a", "b", "c"]  # newest first
    table.table.sortByColumn(COLUMNS.index("acc"), Qt.SortOrder.AscendingOrder)  # as numbers
    assert names() == ["b", "c", "a"]
    table.table.selectRow(2)
    table.show_rows([*rows, row("d", 0.0, 4.0)])  # Refresh with a new run
    assert names() == ["b", "c", "d", "a"]  # sorted as the user chose
    assert table.selected_row().record.name == "a"  # still selected


def test_the_last_log_line_is_not_json():
    finished = RunFinished("completed", {"acc": 0.953125, "asr": 0.1, "seconds": {"total": 3}})
    assert metrics_line(finished.metrics) == "acc 0.9531, asr 0.1"
