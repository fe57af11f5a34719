"""The Run tab's progress and ETA cover the whole run: every planned stage, weighted by its
estimated time, at the rate measured so far."""

from __future__ import annotations

import pytest

from snnstudio.core.events import BatchDone, PlannedStage, RunPlanned, StageStarted
from snnstudio.gui.run_panel import PROGRESS_STEPS, RunPanel
from snnstudio.gui.run_progress import RunProgress

TWO_STAGES = (PlannedStage("backdoored", 135, 30.0), PlannedStage("clean-twin", 135, 30.0))


def test_the_eta_covers_every_stage_not_the_one_running():
    progress = RunProgress(TWO_STAGES)
    progress.stage_started("backdoored")
    progress.batch_done(1, 135, now=0.0)
    progress.batch_done(124, 135, now=12.3)  # 0.1 s a batch
    assert progress.fraction == pytest.approx(124 / 270)
    assert progress.eta(12.3) == pytest.approx(0.1 * (270 - 124), rel=0.01)  # not 0:01
    progress.stage_started("clean-twin")
    assert progress.fraction == pytest.approx(0.5)  # the second stage starts half-way


def test_stages_weigh_by_their_estimated_time_and_unplanned_ones_get_a_share():
    plan = (PlannedStage("backdoored-ann", 100, 10.0), PlannedStage("backdoored", 0, 30.0))
    progress = RunProgress(plan)
    progress.stage_started("backdoored-ann")
    progress.batch_done(100, 100, now=1.0)
    assert progress.fraction == pytest.approx(0.25)  # the conversion is the longer part
    empty = RunProgress()
    empty.stage_started("finetune")
    empty.batch_done(5, 10, now=1.0)
    assert empty.fraction == pytest.approx(0.5) and empty.eta(1.0) is None  # one batch seen


def test_a_resumed_run_measures_its_rate_from_where_it_resumed():
    progress = RunProgress(TWO_STAGES)
    progress.stage_started("clean-twin")
    progress.batch_done(68, 135, now=100.0)  # resumed half-way through the second stage
    progress.batch_done(78, 135, now=101.0)  # 10 batches a second
    assert progress.eta(101.0) == pytest.approx((135 - 78) / 10, rel=0.01)


def test_the_run_tab_shows_the_whole_run(qtbot):
    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.begin("demo", "runs/demo")
    panel.show_event(RunPlanned(TWO_STAGES))
    panel.show_event(StageStarted("backdoored", 135))
    for step in (1, 135):
        panel.show_event(BatchDone("backdoored", 1, step, 135, 0.5, 0.9))
    assert panel.progress.value() == PROGRESS_STEPS // 2
    assert "run ETA" in panel.status.text() and "batch 135/135" in panel.status.text()
    panel.curves.timer.stop()
