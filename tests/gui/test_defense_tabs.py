"""Load a checkpoint, record the probe and show the rasters; detection scores; elimination."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import click

from snnstudio.core import config as config_io
from snnstudio.core.events import RunFinished
from snnstudio.core.runner import run_experiment


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
    qtbot.waitUntil(lambda: view.snapshot is not None, timeout=30_000)
    snap = view.snapshot
    assert view.layer.currentText() == snap.layer == view.layer.itemText(view.layer.count() - 1)
    assert snap.clean.voltage.shape[:2] == (4, 12) and snap.reference_triggered is not None
    plots = view.plots
    clean_spikes = int((snap.clean.spikes[:, 0, :] > 0).sum())
    triggered_spikes = int((snap.triggered.spikes[:, 0, :] > 0).sum())
    assert plots.spike_points(0) == clean_spikes and plots.spike_points(1) == triggered_spikes
    assert clean_spikes + triggered_spikes > 0
    np.testing.assert_array_equal(plots.heat_items[1].image, snap.triggered.voltage[:, 0, :])
    assert plots.threshold.value() == pytest.approx(snap.threshold)
    view.sample.setValue(3)  # another input redraws from the same recording
    np.testing.assert_array_equal(plots.heat_items[0].image, snap.clean.voltage[:, 3, :])
    assert messages.calls == []


def test_detection_scores_from_the_core(window, qtbot, trained_run):
    view = window.defense.detection
    view.suspect.edit.setText(str(trained_run / "model.pt"))
    view.reference.edit.setText(str(trained_run / "clean-twin.pt"))
    view.reference_free.setChecked(False)  # the max-margin test is the slow part
    click(qtbot, view.detect_button)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    keys = [view.scores.item(r, 0).text() for r in range(view.scores.rowCount())]
    assert "sample-level.auroc" in keys
    assert any(k.startswith("model-comparison.") for k in keys)
    assert [r.kind for r in window.results.records] == ["detection"]  # its run directory


def test_bad_checkpoint_shows_a_message(window, qtbot, messages, tmp_path):
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint")
    view = window.defense.detection
    view.suspect.edit.setText(str(bogus))
    click(qtbot, view.load_button)
    qtbot.waitUntil(lambda: bool(messages.texts("warning")), timeout=10_000)
    assert str(bogus) in messages.texts("warning")[-1]


def test_elimination_shows_before_and_after(window, qtbot, trained_run):
    panel = window.defense.elimination
    panel.checkpoint.edit.setText(str(trained_run / "model.pt"))
    panel.epochs.setValue(1)
    panel.settle_epochs.setValue(0)
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    heights = [list(item.opts["height"]) for item in panel.bars if hasattr(item, "opts")]
    assert len(heights) == 2 and all(0 <= v <= 1 for pair in heights for v in pair)
