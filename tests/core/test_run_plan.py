"""A run announces its stages (RunPlanned) before the first starts, as StageStarted then
names and counts them: the GUI's progress and ETA over the whole run rely on it."""

from __future__ import annotations

import pytest

from snnstudio.core import config as config_io
from snnstudio.core.events import RunPlanned, StageStarted
from snnstudio.core.runner import run_experiment


def tiny(rule: str, twin: bool) -> config_io.ExperimentConfig:
    cfg = config_io.load_preset("demo")
    cfg.data.train_limit, cfg.data.test_limit, cfg.train.epochs = 65, 32, 2  # 65: a tail of 1
    cfg.train.clean_twin, cfg.rule.name = twin, rule
    cfg.sim.eval_timesteps, cfg.rule.reference_samples = 4, 32
    return cfg


@pytest.mark.parametrize(("rule", "twin"), [("bptt", True), ("conversion", False)])
def test_the_plan_names_and_counts_the_stages_that_run(rule, twin):
    events = list(run_experiment(tiny(rule, twin)))
    plans = [e for e in events if isinstance(e, RunPlanned)]
    started = [(e.stage, e.total_steps) for e in events if isinstance(e, StageStarted)]
    assert len(plans) == 1 and events.index(plans[0]) < events.index(
        next(e for e in events if isinstance(e, StageStarted))
    )
    planned = plans[0].stages
    assert [(s.stage, s.steps) for s in planned if s.steps] == started
    assert all(s.seconds > 0 for s in planned)
    if rule == "conversion":  # the calibration has no batches but takes time
        assert [s.stage for s in planned] == ["backdoored-ann", "backdoored"]
        assert planned[1].steps == 0
