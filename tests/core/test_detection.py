from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from snnstudio.core.checkpoint import load_checkpoint, save_checkpoint
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.defense.detection import DetectionSettings, run_detection
from snnstudio.core.defense.max_margin import max_margin_test, output_statistic
from snnstudio.core.defense.sample_scores import clean_distance_scores, detection_auroc
from snnstudio.core.defense.settings import MaxMarginSettings
from snnstudio.core.defense.training_scan import scan_training_set, scores_auroc
from snnstudio.core.errors import CheckpointError, ConfigError
from snnstudio.core.events import DetectionResult, RunFinished
from snnstudio.core.models.registry import build_network
from snnstudio.core.run_record import open_run
from snnstudio.core.rundir import RunKind
from tests.core.backdoored_models import one_torch_thread, tiny_backdoored_run  # noqa: F401

QUICK_MARGIN = MaxMarginSettings(starts=4, steps=100, lr=0.1)


def _finished(events) -> tuple[RunFinished, dict[str, dict]]:  # type: ignore[no-untyped-def]
    sections, last = {}, None
    for event in events:
        if isinstance(event, DetectionResult):
            sections[event.section] = event.summary
        last = event
    assert isinstance(last, RunFinished)
    return last, sections


def test_scores_separate_a_shifted_cluster() -> None:
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(200, 6))
    labels = np.repeat(np.arange(4), 50)
    clean += labels[:, None] * 3.0
    poisoned = rng.normal(size=(10, 6)) + 12.0  # a sixth of the inputs called class 0
    test = np.concatenate([clean[:100] + rng.normal(scale=0.1, size=(100, 6)), poisoned])
    predicted = np.r_[labels[:100], np.zeros(10, int)]
    truth = np.r_[np.zeros(100, bool), np.ones(10, bool)]
    assert detection_auroc(clean_distance_scores(clean, labels, test, predicted), truth) > 0.99
    assert np.isnan(detection_auroc(np.zeros(3), np.zeros(3, bool)))


@pytest.mark.parametrize("method", ["spectral", "clustering"])
def test_training_scan_flags_the_poisons_of_one_class(method: str) -> None:
    """Class 0 of the training set holds 40 poisons in a cluster of their own (as many as
    its clean samples); the trusted clean samples tell which side is clean."""
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=6.0, size=(4, 8))
    labels = np.repeat(np.arange(4), 40)
    features = centres[labels] + rng.normal(size=(160, 8))
    poisons = centres[2] + 8.0 + rng.normal(size=(40, 8))  # other inputs, labelled 0
    features = np.concatenate([features, poisons])
    labels = np.r_[labels, np.zeros(40, int)]
    is_poison = np.r_[np.zeros(160, bool), np.ones(40, bool)]
    trusted_labels = np.repeat(np.arange(4), 8)
    trusted = centres[trusted_labels] + rng.normal(size=(32, 8))
    scan = scan_training_set(method, features, labels, trusted, trusted_labels)
    quality = scan.quality(is_poison)
    assert scan.flagged_classes == [0]
    assert quality["precision"] > 0.9 and quality["recall"] > 0.9
    assert scores_auroc(scan.scores, is_poison, labels) > 0.9
    assert scan_training_set(method, features[:160], labels[:160], trusted,
                             trusted_labels).flagged_classes == []  # fmt: skip


def test_tmpbd_statistic_is_the_mean_temporal_membrane_potential() -> None:
    readout = torch.tensor([[[1.0, 0.0]], [[0.0, 2.0]], [[1.0, 0.0]]])  # [T=3, N=1, K=2]
    assert output_statistic(readout, "final").tolist() == [[2.0, 2.0]]
    # V_t = (1, 0), (1, 2), (2, 2): the mean favours the class that led from the start
    assert output_statistic(readout, "tmp-mean")[0].tolist() == pytest.approx([4 / 3, 4 / 3])
    assert output_statistic(readout, "tmp-max").tolist() == [[2.0, 2.0]]
    early = torch.tensor([[[2.0, 0.0]], [[0.0, 2.0]]])
    assert output_statistic(early, "tmp-mean").tolist() == [[2.0, 1.0]]


def test_max_margin_test_flags_only_an_outlier() -> None:
    even = np.array([20.0, 21, 19, 22, 20.5, 21.5, 19.5, 20.2, 21.2, 20.8])
    flagged = max_margin_test(np.r_[even[:3], 40.0, even[4:]])
    assert flagged.flagged and flagged.suspect_class == 3 and flagged.p_value < 1e-3
    assert not max_margin_test(even).flagged


def test_detection_on_a_backdoored_model(tmp_path) -> None:
    run = tiny_backdoored_run()
    assert run.metrics["asr"] > 0.9  # the fixture really is backdoored
    settings = DetectionSettings(reference_free=False)
    finished, sections = _finished(
        run_detection(run.backdoored, run.clean_twin, tmp_path / "det", settings)
    )
    assert finished.status == "completed"
    sample = sections["sample-level"]
    assert sample["layer"] == "layers.10" and sample["auroc"] >= 0.9
    assert sample["layer_label"] == "fc1 spikes (128)" and sample["method"] == "clean-distance"
    assert sample["roc_fpr"][0] == 0.0 and sample["roc_tpr"][-1] == 1.0
    assert sum(sample["histogram_triggered"]) == sample["triggered_inputs"]
    training = sections["training-set"]
    assert training["poisoned_samples"] > 0
    for method in ("spectral", "clustering"):
        assert {"precision", "recall", "auroc", "flagged_classes"} <= set(training[method])
    last = sections["model-comparison"]["layers"][-1]
    assert last["separation"]["voltage"] > 0.5 and last["separation"]["spikes"] > 0.5
    report = json.loads((tmp_path / "det" / "report.json").read_text())
    assert report["sample_level"]["auroc"] == sample["auroc"]
    for name in ("sample_scores.png", "model_comparison.png"):
        assert (tmp_path / "det" / name).stat().st_size > 1000 and name in report["figures"]
    metrics = json.loads((tmp_path / "det" / "metrics.json").read_text())
    assert metrics["sample_auroc"] == sample["auroc"]
    assert metrics["seconds"]["total"] > 0 and report["seconds"] == metrics["seconds"]
    assert open_run(tmp_path / "det").kind is RunKind.DETECTION


def test_a_model_against_itself_has_no_separation() -> None:
    run = tiny_backdoored_run()
    settings = DetectionSettings(reference_free=False, max_test_samples=60)
    _, sections = _finished(run_detection(run.clean_twin, run.clean_twin, None, settings))
    for layer in sections["model-comparison"]["layers"]:
        assert layer["separation"] == {"spikes": 0.0, "voltage": 0.0}
        assert layer["mean_abs_rate_diff_triggered"] == 0.0


def test_reference_free_test_names_the_target_class() -> None:
    run = tiny_backdoored_run()
    settings = DetectionSettings(max_test_samples=40, max_margin=QUICK_MARGIN)
    finished, sections = _finished(run_detection(run.backdoored, run.clean_twin, None, settings))
    suspect, reference = (
        sections["reference-free"]["max-margin"]["suspect"],
        sections["reference-free"]["max-margin"]["reference"],
    )
    assert suspect["suspect_class"] == 0  # the demo's target
    assert finished.metrics["max_margin_suspect_p_value"] == suspect["p_value"]
    tmpbd = sections["reference-free"]["tmpbd"]
    assert tmpbd["suspect"]["suspect_class"] == 0
    assert tmpbd["suspect"]["p_value"] < tmpbd["reference"]["p_value"]
    # On this 4-epoch model the verdicts can sit near the cut-off (p from 1e-5 to 0.04 across
    # thread counts), so the contrast with the clean twin is asserted, not the verdicts; the
    # verdict logic is tested above and the report gives full-size runs.
    assert suspect["p_value"] < reference["p_value"]

    def lead(margins: list[float]) -> float:  # largest margin minus the runner-up
        top, second = sorted(margins)[-2:][::-1]
        return top - second

    assert lead(suspect["margins"]) > 2 * lead(reference["margins"])


def test_bad_checkpoints_and_settings_are_clear_errors(tmp_path) -> None:
    run = tiny_backdoored_run()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pt"):
        next(run_detection(tmp_path / "junk.pt"))
    whole = run.backdoored.read_bytes()
    (tmp_path / "cut.pt").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt"):
        next(run_detection(tmp_path / "cut.pt"))
    ckpt = load_checkpoint(run.backdoored)
    ckpt.header["config"]["model"]["arch"] = "vgg11"
    torch.save({"header": ckpt.header, "state_dict": ckpt.state_dict}, tmp_path / "vgg.pt")
    with pytest.raises(CheckpointError, match="do not fit a vgg11 network"):
        next(run_detection(tmp_path / "vgg.pt"))
    cfg = ExperimentConfig()
    three = build_network(cfg.model, (1, 28, 28), 3)
    save_checkpoint(tmp_path / "three.pt", three, cfg, (1, 28, 28), ["a", "b", "c"])
    with pytest.raises(CheckpointError, match="does not match the suspect model: classes"):
        next(run_detection(run.backdoored, tmp_path / "three.pt"))
    with pytest.raises(ConfigError, match=r"no spiking layer named 'layers\.4'"):
        list(run_detection(run.backdoored, None, None, DetectionSettings(layer="layers.4")))
    with pytest.raises(ConfigError, match="feature = 'bogus' is not one of"):
        next(run_detection(run.backdoored, settings=DetectionSettings(feature="bogus")))
