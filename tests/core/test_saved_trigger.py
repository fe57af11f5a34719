"""A dynamic trigger is saved with its run (trigger.pt) and every rebuild of the run's inputs
loads it: `snnstudio eliminate` measures the ASR the run reported, `snnstudio detect` and a
resume use the run's generator without training another, and a missing, damaged or foreign
generator file is one clear error before any file is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from snnstudio.cli import main
from snnstudio.core import config as config_io
from snnstudio.core.attack import kinds
from snnstudio.core.attack.dynamic_trigger import DynamicTrigger
from snnstudio.core.attack.saved_trigger import load_dynamic_trigger
from snnstudio.core.defense.loading import load_model
from snnstudio.core.errors import TriggerError
from snnstudio.core.events import CancelToken, EpochDone, run_to_end
from snnstudio.core.rundir import MODEL_FILE, TRIGGER_FILE
from snnstudio.core.runner import resume_experiment, run_experiment
from snnstudio.core.training import evaluate
from tests.core.backdoored_models import one_torch_thread  # noqa: F401
from tests.core.dynamic_run import dynamic_config, dynamic_run

QUICK_ELIMINATION = ["--method", "finetune", "--epochs", "1", "--settle-epochs", "0",
                     "--clean-fraction", "0.2", "--quiet"]  # fmt: skip
QUICK_DETECTION = ["--no-training-scores", "--no-reference-free", "--max-test-samples", "24",
                   "--quiet"]  # fmt: skip


def run_metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def forbid_new_generators(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, a rebuild of a trigger that trains a generator instead of loading the
    run's fails the test."""

    def refused(*args: object, **kwargs: object) -> DynamicTrigger:
        raise AssertionError("a new dynamic generator was trained where the run's belongs")

    monkeypatch.setattr(kinds, "train_dynamic_trigger", refused)


@pytest.fixture
def no_new_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    dynamic_run()  # trained before the patch
    forbid_new_generators(monkeypatch)


def copied_run(tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(dynamic_run(), copy)
    return copy


def test_the_run_saves_its_generator_and_a_loaded_model_scores_the_reported_asr(
    no_new_generator,
) -> None:
    run = dynamic_run()
    reported = run_metrics(run)
    assert 0.0 < reported["asr"] < 1.0
    assert (run / TRIGGER_FILE).is_file()
    assert "saved the dynamic trigger's generator" in (run / "log.txt").read_text()
    model = load_model(run / MODEL_FILE)  # what detection and the GUI's views load
    assert isinstance(model.trigger, DynamicTrigger)
    data = model.prepared_data()
    assert data.trigger is model.trigger
    cfg = model.config
    scores = evaluate(model.network, data.sets, cfg.sim.timesteps, cfg.sim.encoder, model.device)
    assert (scores["acc"], scores["asr"]) == (reported["acc"], reported["asr"])


def test_eliminate_measures_the_asr_the_run_reported(tmp_path, no_new_generator) -> None:
    run, out = dynamic_run(), tmp_path / "eliminated"
    assert main(["eliminate", str(run / MODEL_FILE), "--out", str(out), *QUICK_ELIMINATION]) == 0
    before, reported = run_metrics(out), run_metrics(run)
    assert (before["acc_before"], before["asr_before"]) == (reported["acc"], reported["asr"])
    # the cleaned model keeps the run's trigger beside it: it can be checked again
    again = load_model(out / "finetune.pt")
    assert again.trigger is not None
    state, saved = again.trigger.generator.state_dict(), load_model(run / MODEL_FILE).trigger
    assert saved is not None
    assert all(torch.equal(v, saved.generator.state_dict()[k]) for k, v in state.items())


def test_detect_uses_the_runs_generator(tmp_path, no_new_generator) -> None:
    run, out = dynamic_run(), tmp_path / "detected"
    assert main(["detect", str(run / MODEL_FILE), "--out", str(out), *QUICK_DETECTION]) == 0
    assert json.loads((out / "report.json").read_text())["sample_level"]["auroc"] >= 0


def spoil(run: Path, how: str) -> None:
    path = run / TRIGGER_FILE
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    else:  # another file where the generator belongs
        shutil.copyfile(run / MODEL_FILE, path)


@pytest.mark.parametrize("how", ["missing", "truncated", "foreign"])
@pytest.mark.parametrize("command", ["eliminate", "detect"])
def test_a_missing_or_damaged_generator_is_one_error_and_writes_nothing(
    tmp_path, capsys, no_new_generator, command: str, how: str
) -> None:
    run, out = copied_run(tmp_path), tmp_path / "out"
    spoil(run, how)
    assert main([command, str(run / MODEL_FILE), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and TRIGGER_FILE in err, err
    expected = {"missing": "is missing", "truncated": "damaged dynamic trigger",
                "foreign": "not a saved dynamic trigger"}  # fmt: skip
    assert expected[how] in err
    assert not out.exists()


def test_a_generator_trained_under_other_settings_is_refused(tmp_path) -> None:
    run = dynamic_run()
    out = tmp_path / "out"
    args = ["eliminate", str(run / MODEL_FILE), "--out", str(out), "--set", "trigger.gamma=0.05"]
    assert main(args) == 2
    other = config_io.with_overrides(dynamic_config(), ["trigger.gamma=0.05"])
    with pytest.raises(TriggerError, match=r"trained with trigger.gamma = 0.02, not 0.05"):
        load_dynamic_trigger(run / TRIGGER_FILE, other)


def every_file(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_a_resume_goes_on_with_the_saved_generator(tmp_path, monkeypatch) -> None:
    full = run_metrics(dynamic_run())
    cut, token = tmp_path / "cut", CancelToken()
    for event in run_experiment(dynamic_config(), cut, token):
        if isinstance(event, EpochDone):
            token.cancel()
    assert run_metrics(cut)["status"] == "cancelled"
    generator = (cut / TRIGGER_FILE).read_bytes()
    (cut / TRIGGER_FILE).unlink()
    before = every_file(cut)
    with pytest.raises(TriggerError, match="is missing"):
        run_to_end(resume_experiment(cut))
    assert every_file(cut) == before  # checked first: nothing of the run was touched
    (cut / TRIGGER_FILE).write_bytes(generator)
    forbid_new_generators(monkeypatch)
    run_to_end(resume_experiment(cut))
    resumed = run_metrics(cut)
    assert resumed["status"] == "completed"
    assert (resumed["acc"], resumed["asr"]) == (full["acc"], full["asr"])
