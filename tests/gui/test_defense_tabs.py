"""Load a checkpoint, record the probe and show the rasters; detection scores; elimination."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import click

from snnstudio.cli import main
from snnstudio.core import config as config_io
from snnstudio.core.defense.settings import DEFAULT_METHOD
from snnstudio.core.events import RunFinished
from snnstudio.core.runner import run_experiment
from snnstudio.gui.detection_verdict import reference_free_line, verdict_html


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A tiny backdoored run with its clean twin, trained by the core headless."""
    cfg = config_io.load_preset("demo")
    cfg.data.train_limit, cfg.data.test_limit, cfg.train.epochs = 300, 80, 2
    out = tmp_path_factory.mktemp("run")
    events = list(run_experiment(cfg, out))
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    return out


def test_load_checkpoint_and_show_the_rasters(window, qtbot, messages, trained_run):
    window.defense.last_run = trained_run
    view = window.defense.detection
    window.tabs.setCurrentWidget(view)
    click(qtbot, view.use_last_run)
    assert view.reference.path() == trained_run / "clean-twin.pt"
    view.count.setValue(12)
    click(qtbot, view.record_button)  # loads the checkpoints first, then records
    qtbot.waitUntil(lambda: view.snapshot is not None, timeout=120_000)
    snap = view.snapshot
    assert view.layer_name() == snap.layer == view.layer.itemData(view.layer.count() - 1)
    labels = [view.layer.itemText(i) for i in range(view.layer.count())]
    assert labels == ["conv1 spikes (16×28×28)", "conv2 spikes (32×14×14)", "fc1 spikes (128)"]
    assert snap.clean.voltage.shape[:2] == (4, 12) and snap.reference_triggered is not None
    plots = view.plots
    shown = view.shown_neurons()  # fc1 has 128 neurons: the top 32 the trigger changes most
    assert len(shown) == 32 and len(set(shown.tolist())) == 32
    change = np.abs(snap.triggered.cumulative_voltage - snap.clean.cumulative_voltage).mean(0)
    assert change[shown].min() >= np.delete(change, shown).max()
    clean_spikes = int((snap.clean.spikes[:, 0, shown] > 0).sum())
    triggered_spikes = int((snap.triggered.spikes[:, 0, shown] > 0).sum())
    assert plots.spike_points(0) == clean_spikes and plots.spike_points(1) == triggered_spikes
    assert clean_spikes + triggered_spikes > 0
    np.testing.assert_array_equal(plots.heat_items[1].image, snap.triggered.voltage[:, 0, shown])
    assert plots.threshold.value() == pytest.approx(snap.threshold)
    for plot in plots.time_plots:  # one time axis, t = 1..T, on every time plot
        assert plot.viewRange()[0] == pytest.approx([0.5, 4.5])
    view.sample.setValue(3)  # another input redraws from the same recording
    np.testing.assert_array_equal(plots.heat_items[0].image, snap.clean.voltage[:, 3, shown])
    view.top_k.setValue(500)  # more than the layer has: every neuron, in order
    np.testing.assert_array_equal(view.shown_neurons(), np.arange(128))
    assert messages.calls == []


def test_detection_scores_from_the_core(window, qtbot, trained_run):
    view = window.defense.detection
    view.suspect.edit.setText(str(trained_run / "model.pt"))
    view.reference.edit.setText(str(trained_run / "clean-twin.pt"))
    view.options.fields["reference_free"].setChecked(False)  # the margin search is slow
    click(qtbot, view.detect_button)
    assert not view.suspect.isEnabled()  # the results coming are this path's
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=600_000)
    keys = [view.scores.item(r, 0).text() for r in range(view.scores.rowCount())]
    assert "AUROC fc1 spikes (128), both" in keys
    assert any(k.startswith("separation, fc1 spikes (128)") for k in keys)
    assert "training set, spectral: precision" in keys
    auroc = view.sections["sample-level"]["auroc"]
    assert f"test-input AUROC {auroc:.3f}" in view.verdict.text()
    assert "separation vs reference on fc1 spikes (128)" in view.verdict.text()
    plots = view.score_plots
    x, y = plots.roc_curve.getData()
    assert x[0] == 0.0 and y[-1] == 1.0  # the ROC curve is drawn in the window
    assert view.views.currentWidget() is plots
    # ... and on screen: its plots were once emptied out of the layout when a detection began
    assert plots.roc_curve.scene() is plots.graphics.scene() is not None
    assert {plots.roc, plots.histogram, plots.margins} <= set(plots.graphics.ci.items)
    image = plots.grab().toImage()
    points = [(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)]
    dark = sum(image.pixelColor(x, y).value() < 128 for x, y in points)
    assert dark > 20  # axes, ticks, labels and curves, not a white page
    assert "running the detection tests" not in view.verdict.text()  # finished, no margins
    assert "reference-free tests were off" in view.verdict.text()
    qtbot.waitUntil(lambda: not window.results.reading.running, timeout=10_000)
    assert [r.kind for r in window.results.records] == ["detection"]  # its run directory
    assert not view.next_step.isHidden()  # the next step: this checkpoint in Elimination
    click(qtbot, view.next_step)
    assert window.tabs.currentWidget() is window.defense.elimination
    assert window.defense.elimination.checkpoint.path() == trained_run / "model.pt"


def test_a_new_or_bad_checkpoint_clears_the_old_verdict(
    window, qtbot, messages, trained_run, notes
):
    """After a bad checkpoint the old verdict stayed beside the new path."""
    view = window.defense.detection
    view.suspect.edit.setText(str(trained_run / "model.pt"))
    view.options.fields["reference_free"].setChecked(False)
    view.options.fields["training_scores"].setChecked(False)
    click(qtbot, view.detect_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=300_000)
    assert "AUROC" in view.verdict.text() and view.scores.rowCount() > 0
    view.suspect.edit.setText(str(notes))  # another model chosen: not its verdict
    assert "AUROC" not in view.verdict.text() and view.scores.rowCount() == 0
    assert view.next_step.isHidden()
    assert view.score_plots.roc_curve.getData()[0] is None or not len(
        view.score_plots.roc_curve.getData()[0]
    )
    click(qtbot, view.load_button)
    qtbot.waitUntil(lambda: bool(messages.calls), timeout=10_000)
    assert view.verdict.text() == "load a checkpoint and run the detection tests"


def test_bad_checkpoint_shows_a_message(window, qtbot, messages, tmp_path):
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint")
    view = window.defense.detection
    view.suspect.edit.setText(str(bogus))
    click(qtbot, view.load_button)
    qtbot.waitUntil(lambda: bool(messages.texts("warning")), timeout=10_000)
    assert str(bogus) in messages.texts("warning")[-1]


@pytest.fixture
def notes(tmp_path) -> Path:
    """A text file chosen as a checkpoint (issue 12: it hung at "loading…", then drew the
    previous model's plots under its name)."""
    path = tmp_path / "notes.txt"
    path.write_text("experiment notes\nepoch 1: acc 0.91\n")
    return path


def test_text_file_as_checkpoint_is_an_error_in_the_detection_tab_and_clears_the_plots(
    window, qtbot, messages, trained_run, notes
):
    view = window.defense.detection
    view.suspect.edit.setText(str(trained_run / "model.pt"))
    view.count.setValue(8)
    click(qtbot, view.record_button)
    qtbot.waitUntil(lambda: view.snapshot is not None, timeout=30_000)
    assert view.plots.spike_points(0) + view.plots.spike_points(1) > 0
    assert window.defense.detection_caption.startswith("run")
    window.tabs.setCurrentWidget(window.results)
    view.suspect.edit.setText(str(notes))
    view.reference.edit.clear()
    click(qtbot, view.load_button)
    assert view.snapshot is None and window.defense.loaded is None  # nothing stale stays
    assert view.plots.spike_points(0) == view.plots.spike_points(1) == 0
    assert all(item.image is None for item in view.plots.heat_items)
    assert not view.plots.threshold.isVisible() and view.layer.count() == 0
    assert window.defense.detection_caption == ""
    qtbot.waitUntil(lambda: bool(messages.calls), timeout=10_000)
    assert messages.parents == [view] and window.tabs.currentWidget() is view
    # a CheckpointError naming the file, or (before the reader is hardened) a bug's traceback
    kind, _title, text = messages.calls[0]
    assert "notes.txt" in text if kind == "warning" else "Traceback" in messages.details[0]
    assert view.status.text() == messages.texts()[0]  # not "loading…"
    assert not window.defense.probe.running
    click(qtbot, view.record_button)  # Record loads again: the same error, no old plots
    qtbot.waitUntil(lambda: len(messages.calls) == 2, timeout=10_000)
    assert view.snapshot is None and view.plots.spike_points(0) == 0
    assert window.run_panel.log.toPlainText() == ""


def test_text_file_in_detection_and_elimination_jobs_is_an_error_in_their_tabs(
    window, qtbot, messages, notes
):
    view, panel = window.defense.detection, window.defense.elimination
    view.suspect.edit.setText(str(notes))
    click(qtbot, view.detect_button)
    qtbot.waitUntil(lambda: not window.jobs.running and bool(messages.calls), timeout=10_000)
    assert messages.parents == [view] and view.status.text() == messages.texts()[0]
    assert view.detect_button.isEnabled() and not view.stop_button.isEnabled()
    assert "Detection failed: no verdict" in view.verdict.text()
    panel.checkpoint.edit.setText(str(notes))
    window.tabs.setCurrentWidget(window.run_panel)
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not window.jobs.running and len(messages.calls) == 2, timeout=10_000)
    assert messages.parents[1] is panel and window.tabs.currentWidget() is panel
    assert panel.status.text() == messages.texts()[1]
    assert panel.start_button.isEnabled() and panel.bars == []
    assert window.run_panel.log.toPlainText() == ""  # nothing in the Run tab
    runs = window.runs_folder
    assert not runs.exists() or list(runs.iterdir()) == []  # no empty run folders left


def test_a_second_job_is_refused_in_the_tab_that_asked(window, qtbot, messages, trained_run):
    view = window.defense.detection
    view.suspect.edit.setText(str(trained_run / "model.pt"))
    click(qtbot, view.detect_button)
    assert window.jobs.running
    panel = window.defense.elimination
    panel.checkpoint.edit.setText(str(trained_run / "model.pt"))
    click(qtbot, panel.start_button)
    assert messages.parents == [panel] and "detection is still running" in messages.texts()[0]
    click(qtbot, view.stop_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=60_000)
    assert view.status.text().startswith("detection cancelled")


def test_elimination_shows_before_and_after(window, qtbot, trained_run):
    panel = window.defense.elimination
    panel.checkpoint.edit.setText(str(trained_run / "model.pt"))
    assert panel.method.currentText() == DEFAULT_METHOD  # the first choice is the default
    assert panel.method.itemText(0) == DEFAULT_METHOD
    panel.fields["epochs"].setValue(1)
    panel.fields["settle_epochs"].setValue(0)
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=300_000)
    heights = [list(item.opts["height"]) for item in panel.bars if hasattr(item, "opts")]
    assert len(heights) == 2 and all(0 <= v <= 1 for pair in heights for v in pair)


def test_reference_free_verdict_is_the_clis(window, qtbot, trained_run, tmp_path):
    """The GUI runs the reference-free tests with the CLI's settings and gets its verdict."""
    view = window.defense.detection
    view.suspect.edit.setText(str(trained_run / "model.pt"))
    view.reference.edit.setText("")
    fields = view.options.fields
    fields["training_scores"].setChecked(False)
    fields["max_margin.steps"].setValue(20)
    fields["max_margin.starts"].setValue(2)
    fields["max_test_samples"].setValue(40)
    progress: list[tuple[int, int]] = []
    view.progress.valueChanged.connect(lambda v: progress.append((v, view.progress.maximum())))
    click(qtbot, view.detect_button)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=600_000)
    assert progress[-1] == (40, 40)  # two tests of 20 steps on one model, to the end
    assert view.progress.isHidden()
    gui = view.sections["reference-free"]
    out = tmp_path / "cli-detect"
    args = ["detect", str(trained_run / "model.pt"), "--no-training-scores", "--margin-steps",
            "20", "--margin-starts", "2", "--max-test-samples", "40", "--out", str(out),
            "--quiet"]  # fmt: skip
    assert main(args) == 0
    cli = json.loads((out / "report.json").read_text())["reference_free"]
    for test in ("max-margin", "tmpbd"):
        mine, theirs = gui[test]["suspect"], cli[test]["suspect"]
        assert mine["flagged"] == theirs["flagged"]
        assert mine["suspect_class"] == theirs["suspect_class"]
        assert mine["p_value"] == pytest.approx(theirs["p_value"], rel=1e-3, abs=1e-9)
    verdict = view.verdict.text()
    assert ("Backdoor suspected" in verdict) == any(cli[t]["suspect"]["flagged"] for t in cli)
    assert " of 2 tests flag" in verdict and "&lt; 0.05)" in verdict  # the threshold, in words


def test_the_verdict_says_which_tests_flag_at_which_threshold():
    def outcome(p, flagged, suspect=0):
        return {"suspect": {"p_value": p, "flagged": flagged, "suspect_class": suspect,
                            "alpha": 0.05}}  # fmt: skip

    head, tests = reference_free_line(
        {"tmpbd": outcome(0.0647, False), "max-margin": outcome(0.0267, True)}
    )
    assert "Backdoor suspected: class 0" in head
    assert (
        tests
        == "TMPBD p = 0.065 (not < 0.05) · MM-BD p = 0.027 (< 0.05): 1 of 2 tests flag class 0"
    )
    head, tests = reference_free_line(
        {"tmpbd": outcome(0.5, False), "max-margin": outcome(0.3, False)}
    )
    assert "No backdoor flagged" in head and tests.endswith(": 0 of 2 tests flag a class")
    head, tests = reference_free_line(
        {"tmpbd": outcome(0.01, True, 3), "max-margin": outcome(0.02, True)}
    )
    assert "class 0 or 3" in head and tests.endswith(
        "2 of 2 tests flag a class: 3 (TMPBD), 0 (MM-BD)"
    )
    sections = {"sample-level": {"auroc": 0.866, "layer_label": "fc1 spikes (128)"}}
    text = verdict_html(sections, ended="completed")
    assert "0.5 chance, 1 all" in text and "no verdict" in text
    text = verdict_html({"reference-free": {"tmpbd": outcome(0.01, True)}}, target=0)
    assert "TMPBD p = 0.01 (&lt; 0.05): 1 of 1 test flag class 0; the checkpoint's" in text
