"""The trigger drawn on the grid is exactly the trigger the core stamps into the data."""

from __future__ import annotations

import math
import shutil

import numpy as np
import torch
from helpers import press_cell, set_small_demo
from PySide6.QtCore import QPoint, Qt

from snnstudio.core import config as config_io
from snnstudio.core.attack.trigger import placed_trigger_from_config
from snnstudio.core.runner import prepare_data


def test_drawn_trigger_equals_the_core_trigger(window, qtbot, tmp_path):
    editor = window.trigger
    window.tabs.setCurrentWidget(editor)
    editor.kind.setCurrentIndex(editor.kind.findData("array"))
    editor.grid.clear()
    editor.intensity.setValue(0.8)
    grid = editor.grid
    press_cell(qtbot, grid, 3, 5)
    qtbot.mousePress(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(4, 5).center())
    qtbot.mouseMove(grid, pos=grid.cell_rect(4, 6).center())  # the drag paints (4, 6) ...
    qtbot.mouseMove(grid, pos=grid.cell_rect(4, 7).center())  # ... and (4, 7)
    qtbot.mouseRelease(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(4, 7).center())
    press_cell(qtbot, grid, 3, 8)
    press_cell(qtbot, grid, 3, 8, Qt.MouseButton.RightButton)  # right click erases it again

    expected_mask = np.zeros((28, 28), bool)
    expected_mask[3, 5] = True
    expected_mask[4, 5:8] = True
    drawn = ~np.isnan(grid.drawing[0])
    np.testing.assert_array_equal(drawn, expected_mask)

    cfg = window.config()
    assert cfg.trigger.kind == "array" and cfg.trigger.position == "xy"
    assert (cfg.trigger.x, cfg.trigger.y) == (5, 3)
    assert math.isnan(cfg.trigger.pattern[0][1])  # (3, 6) is transparent
    core = prepare_data(cfg).trigger  # what a run really stamps
    np.testing.assert_array_equal(core.mask[0] > 0, expected_mask)
    np.testing.assert_allclose(core.pattern[0][expected_mask], 0.8, rtol=1e-6)
    assert np.all(core.pattern[0][~expected_mask] == 0)

    path = tmp_path / "drawn.toml"  # the same trigger survives the TOML file `snnstudio run` takes
    window.write_config(path)
    again = placed_trigger_from_config(config_io.load(path).trigger, (1, 28, 28))
    np.testing.assert_array_equal(again.mask, core.mask)
    np.testing.assert_array_equal(again.pattern, core.pattern)


def test_preview_strip_is_the_core_stamping(window):
    editor = window.trigger
    editor.kind.setCurrentIndex(editor.kind.findData("white"))
    editor.position.setCurrentText("top-left")
    placed = editor.placed_trigger()
    assert (placed.top, placed.left) == (0, 0)
    samples = editor.strip.samples
    stamped = placed.apply(samples)
    assert np.all(stamped[:, 0, :2, :2] == 1.0)
    image = editor.strip.triggered[0].pixmap().toImage()
    zoom = editor.strip.triggered[0].zoom
    assert image.pixelColor(zoom // 2, zoom // 2).red() == 255  # the white square is drawn
    assert image.pixelColor(13 * zoom, 13 * zoom).red() == round(float(samples[0, 0, 13, 13]) * 255)


def test_painting_a_white_trigger_turns_it_into_a_drawing(window, qtbot):
    editor = window.trigger
    editor.kind.setCurrentIndex(editor.kind.findData("white"))  # 2x2 bottom-right
    press_cell(qtbot, editor.grid, 0, 0)
    cfg = window.config()
    assert cfg.trigger.kind == "array"
    placed = placed_trigger_from_config(cfg.trigger, (1, 28, 28))
    assert placed.mask[0, 0, 0] == 1 and placed.mask[0, 27, 27] == 1 and placed.mask.sum() == 5


def test_dragging_on_the_preview_moves_the_trigger(window, qtbot):
    editor = window.trigger
    editor.kind.setCurrentIndex(editor.kind.findData("white"))
    image = editor.strip.triggered[1]
    zoom = image.zoom
    point = QPoint(1 + 10 * zoom + zoom // 2, 1 + 6 * zoom + zoom // 2)  # column 10, row 6
    qtbot.mousePress(image, Qt.MouseButton.LeftButton, pos=point)
    placed = editor.placed_trigger()
    assert (placed.top, placed.left) == (6, 10)
    assert window.config().trigger.position == "xy"


def test_event_data_trigger_has_polarity_and_frames(window, qtbot):
    editor = window.trigger
    set_small_demo(window, train=100, test=40)  # the event loader frames only these
    window.setup.dataset.setCurrentText("digits-dvs")
    qtbot.waitUntil(lambda: window.splits is not None and window.splits.is_event, timeout=60_000)
    assert editor.is_event and editor.options_form.isRowVisible(editor.polarity)
    assert editor.brush_form.isRowVisible(editor.brush_polarity)
    editor.kind.setCurrentIndex(editor.kind.findData("white"))
    editor.polarity.setCurrentIndex(editor.polarity.findData(1))
    editor.frame_start.setValue(1)
    cfg = window.config()
    assert (cfg.trigger.polarity, cfg.trigger.frame_start) == (1, 1)
    placed = prepare_data(cfg).trigger  # the core's event trigger for this config
    shown = editor.placed_trigger()
    np.testing.assert_array_equal(shown.pattern, placed.pattern)
    assert shown.frames == placed.frames == (1, 0)
    assert placed.pattern[1].max() == 1 and placed.pattern[0].max() == 0  # polarity 1: channel 1


def test_choosing_drawn_starts_from_an_empty_grid_and_names_the_pattern_size(window, qtbot):
    """The white square the grid showed stayed in the drawing, a patch nobody drew; and the
    label counted only rows and columns with a set pixel ('6x6' for a 26x26 pattern)."""
    editor = window.trigger
    editor.kind.setCurrentIndex(editor.kind.findData("white"))  # 2x2 bottom-right, shown
    assert not np.isnan(editor.grid.drawing[0, 27, 27])
    editor.kind.setCurrentIndex(editor.kind.findData("array"))
    assert np.isnan(editor.grid.drawing).all()
    assert editor.message.text().startswith("nothing drawn yet")
    press_cell(qtbot, editor.grid, 2, 2)
    cfg = window.config().trigger
    assert (cfg.x, cfg.y, cfg.pattern) == (2, 2, [[1.0]])  # one pixel, no hidden square
    press_cell(qtbot, editor.grid, 5, 7)
    press_cell(qtbot, editor.grid, 27, 27)
    assert editor.message.text() == "26x26 trigger (3 of 676 pixels set) at row 2, column 2"
    editor.kind.setCurrentIndex(editor.kind.findData("white"))
    assert editor.message.text() == "2x2 trigger at row 26, column 26"
    editor.kind.setCurrentIndex(editor.kind.findData("array"))  # the drawing comes back
    assert int((~np.isnan(editor.grid.drawing[0])).sum()) == 3
    editor.kind.setCurrentIndex(editor.kind.findData("white"))
    editor.from_current.click()  # asked for: the white square becomes the drawing
    assert str(editor.kind.currentData()) == "array"
    assert int((~np.isnan(editor.grid.drawing[0])).sum()) == 4


def test_every_event_kind_is_shown_frame_by_frame(window, qtbot, tmp_path):
    """The Trigger tab shows each event kind over time: clean beside poisoned under a frame
    slider, the poisoned frames the core's own; a dynamic trigger adds its generator output."""
    editor = window.trigger
    set_small_demo(window, train=100, test=40)
    window.setup.dataset.setCurrentText("digits-dvs")
    qtbot.waitUntil(lambda: window.splits is not None and window.splits.is_event, timeout=60_000)
    window.tabs.setCurrentWidget(editor)
    view = editor.event_view
    assert view.isVisible() and editor.previews.currentWidget() is view
    for kind in ("white", "moving", "smart", "strobing", "framed", "flashy", "dynamic"):
        editor.kind.setCurrentIndex(editor.kind.findData(kind))
        assert window.config().trigger.kind == kind
        if kind == "dynamic":  # its preview generator trains off the GUI thread
            assert "training the dynamic trigger's preview generator" in editor.message.text()
            qtbot.waitUntil(lambda: view.clean is not None, timeout=60_000)
        assert view.clean is not None and view.poisoned is not None, kind
        expected = editor.sample_trigger().apply(editor.strip.samples)
        np.testing.assert_array_equal(view.poisoned, expected)
        assert np.any(view.poisoned != view.clean), kind
        assert view.images[2].isVisible() == (kind == "dynamic")
    assert np.abs(view.delta).max() <= window.config().trigger.gamma + 1e-6
    editor.kind.setCurrentIndex(editor.kind.findData("moving"))
    assert editor.options_form.isRowVisible(editor.direction)
    assert not editor.options_form.isRowVisible(editor.gamma)
    editor.speed.setValue(4)
    assert window.config().trigger.speed == 4
    first = view.images[1].pixmap().toImage()
    view.frame.setValue(2)  # the square has moved 8 pixels to the right
    assert view.frame_label.text() == "3 / 4"
    assert view.images[1].pixmap().toImage() != first
    view.play.setChecked(True)
    qtbot.waitUntil(lambda: view.frame.value() != 2, timeout=5_000)  # Play animates the frames
    view.play.setChecked(False)
    view.grab().save(str(tmp_path / "event-trigger-view.png"))


def test_a_reopened_dynamic_run_shows_its_own_generator(window, qtbot, messages, tmp_path):
    """Reopening a dynamic-trigger run shows the generator it saved (trigger.pt), not one the
    preview trains; editing the attack goes back to the preview's; a run whose generator is
    missing says so in a dialog."""
    from snnstudio.core.attack.saved_trigger import load_dynamic_trigger
    from snnstudio.core.rundir import TRIGGER_FILE
    from tests.core.dynamic_run import dynamic_run

    run = tmp_path / "runs" / "dynamic"
    shutil.copytree(dynamic_run(), run)
    editor = window.trigger
    window.reopen_run(run)
    assert window.config().trigger.kind == "dynamic"
    view = editor.event_view
    qtbot.waitUntil(lambda: editor.is_event and view.clean is not None, timeout=60_000)
    saved = load_dynamic_trigger(run / TRIGGER_FILE, window.config())
    shown = editor.sample_trigger()
    assert shown is not None and shown is editor.dynamic_preview.run.trigger  # type: ignore[union-attr]
    for key, value in saved.generator.state_dict().items():
        assert torch.equal(shown.generator.state_dict()[key], value)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(view.poisoned, saved.apply(editor.strip.samples))
    assert "the run dynamic trained and saved" in view.note.text()
    assert not editor.generator_task.running  # no preview generator was trained
    editor.gamma.setValue(0.05)  # another attack: not the run's generator any more
    assert editor.run_generator() is None
    qtbot.waitUntil(lambda: not editor.generator_task.running, timeout=60_000)  # the preview's
    assert messages.texts("warning") == []
    (run / TRIGGER_FILE).unlink()
    window.new_config()
    window.reopen_run(run)
    warned = messages.texts("warning")
    assert len(warned) == 1 and f"{TRIGGER_FILE} is missing" in warned[0]
    assert editor.dynamic_preview.run is None


def test_a_zero_perturbation_is_grey_and_each_event_channel_keeps_its_colour():
    from snnstudio.gui.event_trigger_view import perturbation_frame
    from snnstudio.gui.image_render import to_rgb8

    delta = np.zeros((2, 3, 3), dtype=np.float32)
    delta[0, 0, 0], delta[1, 1, 1] = 0.05, 0.05  # OFF raised at (0, 0), ON at (1, 1)
    rgb = to_rgb8(perturbation_frame(delta)).astype(int)
    assert tuple(rgb[2, 2]) == (127, 127, 127)  # no change: grey
    assert rgb[0, 0, 0] > rgb[0, 0, 1] and rgb[0, 0, 0] > rgb[0, 0, 2]  # redder
    assert rgb[1, 1, 1] > rgb[1, 1, 0] and rgb[1, 1, 1] > rgb[1, 1, 2]  # greener
