"""Dataset folder checks, TOML save/open with recent files, exports."""

from __future__ import annotations

import csv

from helpers import click, field_widget
from PySide6.QtWidgets import QFileDialog

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.gui.exporting import export_graphics, export_table_csv


def test_invalid_dataset_folder_shows_a_message(window, qtbot, messages, tmp_path, monkeypatch):
    window.setup.dataset.setCurrentText("mnist")
    assert window.setup.browse.isEnabled()
    empty = tmp_path / "not-mnist"
    empty.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(empty))
    click(qtbot, window.setup.browse)
    qtbot.waitUntil(lambda: bool(messages.texts("warning")), timeout=10_000)
    assert "MNIST file" in messages.texts("warning")[-1]
    assert "not found" in window.setup.dataset_status.text()
    assert window.splits is None


def test_save_and_open_toml_with_recent_files(window, tmp_path, messages):
    field_widget(window, "poison.rate").setValue(0.05)
    field_widget(window, "train.epochs").setValue(3)
    window.setup.target.setCurrentIndex(7)
    path = tmp_path / "exp.toml"
    window.write_config(path)
    saved = config_io.load(path)  # the file `snnstudio run` takes
    assert validation.problems(saved) == []
    assert (saved.poison.rate, saved.train.epochs, saved.poison.target) == (0.05, 3, 7)

    window.new_config()
    assert window.config().poison.rate == config_io.ExperimentConfig().poison.rate
    assert window.recent_files()[0] == str(path)
    window.recent_menu.actions()[0].trigger()
    assert config_io.to_dict(window.config()) == config_io.to_dict(saved)

    broken = tmp_path / "broken.toml"
    broken.write_text("[poison]\nrate = 'lots'\n")
    assert not window.open_config(broken)
    assert "poison.rate" in messages.texts("warning")[-1]


def test_unknown_fields_survive_the_form(window):
    cfg = config_io.load_preset("demo")
    cfg.model.tau = 3.5
    window.set_config(cfg)
    assert config_io.to_dict(window.config()) == config_io.to_dict(cfg)


def test_the_eq10_weighting_opens_changes_and_saves(window, tmp_path):
    """The combo shows the file's weighting, and the one chosen is the one saved."""
    cfg = config_io.load_preset("demo")
    cfg.train.loss_weighting = "per_set"
    path = tmp_path / "per-set.toml"
    config_io.save(cfg, path)
    assert window.open_config(path)
    box = field_widget(window, "train.loss_weighting")
    assert box.currentText() == "per_set" and "per_sample" in box.toolTip()
    box.setCurrentText("per_sample")
    window.save_config()
    assert config_io.load(path).train.loss_weighting == "per_sample"


def test_export_plots_and_table(window, tmp_path, monkeypatch):
    curves = window.run_panel.curves
    curves.add_epoch_row("backdoored", 1, 0.5, 0.9)
    curves.refresh()
    png = export_graphics(curves.graphics.ci, tmp_path / "curves.png")
    svg = export_graphics(curves.plots["epoch"], tmp_path / "epoch.svg")
    assert png.stat().st_size > 1000 and "<svg" in svg.read_text()
    table = export_table_csv(window.results.table, tmp_path / "runs.csv")
    header = next(csv.reader(table.open()))
    assert header[:4] == ["run", "kind", "dataset", "rule"]

    window.tabs.setCurrentWidget(window.defense.detection)  # File > Export follows the tab
    scores = tmp_path / "scores.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(scores), ""))
    window.export_table_dialog()
    assert next(csv.reader(scores.open())) == ["score", "value"]


def row_visible(window, key: str) -> bool:
    form, widget = window.setup._rows[key]
    return form.isRowVisible(widget)


def test_rule_specific_options_only_where_they_apply(window):
    setup = window.setup
    assert not setup.conversion_box.isVisibleTo(window) and row_visible(window, "model.surrogate")
    setup.rule.setCurrentText("conversion")
    assert setup.conversion_box.isVisibleTo(window)
    assert row_visible(window, "rule.norm") and row_visible(window, "rule.reference")
    assert not row_visible(window, "rule.combo") and not row_visible(window, "model.surrogate")
    assert not row_visible(window, "rule.percentile")
    field_widget(window, "rule.norm").setCurrentText("robust")
    assert row_visible(window, "rule.percentile")
    setup.rule.setCurrentText("hybrid")
    assert row_visible(window, "rule.combo") and row_visible(window, "rule.stdb_alpha")
    assert not row_visible(window, "rule.reference")
    field_widget(window, "model.arch").setCurrentText("resnet18")  # converts
    assert "model.arch" not in setup.problems.text()
    field_widget(window, "data.name").setCurrentText("digits-dvs")  # event data: explained
    assert "converts an ANN trained on static images" in setup.problems.text()
    assert not window.run_panel.start_button.isEnabled()


def test_pooling_of_the_converted_net_is_a_conversion_setting(window):
    pool = field_widget(window, "model.pool")
    form, _ = window.setup._rows["model.pool"]
    window.setup.rule.setCurrentText("conversion")
    assert form.isRowVisible(pool)
    assert [pool.itemText(i) for i in range(pool.count())] == list(config_io.POOLS)
    pool.setCurrentText("plain_max")
    assert window.config().model.pool == "plain_max"
    window.setup.rule.setCurrentText("bptt")
    assert not form.isRowVisible(pool)
