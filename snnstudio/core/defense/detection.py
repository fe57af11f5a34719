"""Backdoor detection from voltages and spikes, as one generator of events.

Four tests on a suspect checkpoint, written as report.json + PNG figures:

- sample level on test inputs (no trigger knowledge): the clean-distance score of each
  input from a spiking layer's cumulative voltage / spike counts, and its AUROC on clean
  vs triggered test inputs (`sample_scores`);
- training set (`training_scan`): spectral signatures and activation clustering, per
  class of the poisoned training set, as they were designed, flagging poisoned training
  samples; precision and recall against the known poison flags;
- model level against a trusted clean reference on the same clean and triggered inputs
  (`model_comparison`), when a reference checkpoint is given;
- model level without a reference: MM-BD's and TMPBD's maximum-margin tests on the
  output layer's membrane potential (`max_margin`), which name the suspect target class.

The triggered inputs are built from the trigger in the checkpoint's config (the attack
the model was trained with); only the evaluation uses them, never the scores.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from snnstudio.core.atomic_files import atomic_path, write_json_atomic
from snnstudio.core.data.base import SampleSet, seeded_subset
from snnstudio.core.defense.layer_names import layer_labels
from snnstudio.core.defense.loading import (
    LoadedModel,
    clean_fraction_subset,
    join_sets,
    load_model,
    load_reference,
)
from snnstudio.core.defense.max_margin import TESTS, max_margin_test, max_margins
from snnstudio.core.defense.model_comparison import compare_models, output_voltage_by_class
from snnstudio.core.defense.report_figures import (
    max_margin_figure,
    model_comparison_figure,
    sample_scores_figure,
)
from snnstudio.core.defense.sample_scores import (
    clean_distance_scores,
    detection_auroc,
    layer_features,
)
from snnstudio.core.defense.settings import FEATURE_KINDS, TRAINING_SCORERS, DetectionSettings
from snnstudio.core.defense.training_scan import scan_training_set, scores_auroc
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken, DetectionResult, Event, Log, check_cancel
from snnstudio.core.jobs import Job, run_job
from snnstudio.core.probe import DatasetRecording, record_dataset, spiking_layer_names
from snnstudio.core.rundir import REPORT_FILE, RunKind
from snnstudio.core.runner import PreparedData

__all__ = ["DetectionSettings", "run_detection"]

HISTOGRAM_BINS = 40
NEURON_DIFFS = (
    "rate_diff_clean",
    "rate_diff_triggered",
    "voltage_diff_clean",
    "voltage_diff_triggered",
)


def run_detection(
    suspect_path: str | Path,
    reference_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    settings: DetectionSettings | None = None,
    overrides: list[str] | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Event]:
    """Run the detection tests on a checkpoint, yielding events; with `out_dir`, write
    report.json, metrics.json (the headline numbers), figures, config.toml and log.txt.

    Raises SnnStudioError (CheckpointError, ConfigError, DatasetError) for bad input.
    """
    settings = settings or DetectionSettings()
    settings.check()
    suspect = load_model(suspect_path, overrides)
    report: dict[str, Any] = {
        "suspect": str(suspect.path),
        "reference": str(reference_path) if reference_path else None,
        "settings": asdict(settings),
        "target": suspect.config.poison.target,
    }
    figures: list[str] = []
    body = functools.partial(_detection, suspect, reference_path, settings, report, figures)
    finish = functools.partial(_write_report, report, figures)
    yield from run_job(
        body, "detection", out_dir, suspect.config, RunKind.DETECTION, cancel, finish=finish
    )


@dataclass
class _Pool:
    """The sample-level test inputs: clean test samples and triggered ones."""

    samples: SampleSet
    is_triggered: np.ndarray


def _test_pool(data: PreparedData, settings: DetectionSettings) -> _Pool:
    clean = seeded_subset(data.sets.test, settings.max_test_samples, settings.seed)
    share = settings.triggered_share
    wanted = round(share / (1.0 - share) * len(clean))
    triggered = seeded_subset(data.sets.triggered_test, wanted, settings.seed + 1)
    samples = join_sets(clean, triggered)
    is_triggered = np.r_[np.zeros(len(clean), bool), np.ones(len(triggered), bool)]
    return _Pool(samples, is_triggered)


def _record(model: LoadedModel, samples: SampleSet, batch_size: int) -> DatasetRecording:
    cfg = model.config
    return record_dataset(
        model.network, samples, cfg.sim.timesteps, cfg.sim.encoder, model.device,
        spiking_layer_names(model.network), per_channel=True, batch_size=batch_size,
    )  # fmt: skip


def _check_layer(layer: str, recording: DatasetRecording) -> str:
    layer = layer or list(recording.layers)[-1]
    if layer not in recording.layers:
        raise ConfigError(
            f"no spiking layer named '{layer}' (known: {', '.join(recording.layers)})"
        )
    return layer


def _roc_and_histogram(scores: np.ndarray, is_triggered: np.ndarray) -> dict[str, Any]:
    """The ROC curve's points and the score histograms per group: what the GUI and the
    report's PNG (report_figures.sample_scores_figure) draw."""
    fpr, tpr, _ = roc_curve(is_triggered.astype(int), scores)
    edges = np.histogram_bin_edges(scores, bins=HISTOGRAM_BINS)
    return {
        "roc_fpr": fpr.tolist(),
        "roc_tpr": tpr.tolist(),
        "histogram_edges": edges.tolist(),
        "histogram_clean": np.histogram(scores[~is_triggered], edges)[0].tolist(),
        "histogram_triggered": np.histogram(scores[is_triggered], edges)[0].tolist(),
    }


def _sample_level(
    pool: _Pool,
    suspect_rec: DatasetRecording,
    clean_rec: DatasetRecording,
    clean_labels: np.ndarray,
    settings: DetectionSettings,
    labels: dict[str, str],
) -> tuple[dict[str, Any], str]:
    """The clean-distance score on test inputs (the one sample score that applies to them:
    spectral signatures and activation clustering are training-set scores)."""
    layer = _check_layer(settings.layer, suspect_rec)
    predicted = suspect_rec.predictions
    table: dict[str, dict[str, float]] = {}
    headline = np.zeros(len(predicted))
    for name in suspect_rec.layers:
        table[labels.get(name, name)] = row = {}
        for kind in FEATURE_KINDS:
            scores = clean_distance_scores(
                layer_features(clean_rec.layers[name], kind), clean_labels,
                layer_features(suspect_rec.layers[name], kind), predicted,
            )  # fmt: skip
            row[kind] = detection_auroc(scores, pool.is_triggered)
            if (name, kind) == (layer, settings.feature):
                headline = scores
    summary = {
        "layer": layer,
        "layer_label": labels.get(layer, layer),
        "feature": settings.feature,
        "method": "clean-distance",
        "auroc": table[labels.get(layer, layer)][settings.feature],
        "clean_inputs": int((~pool.is_triggered).sum()),
        "triggered_inputs": int(pool.is_triggered.sum()),
        "clean_reference_samples": len(clean_labels),
        "auroc_by_layer_feature": table,
        **_roc_and_histogram(headline, pool.is_triggered),
    }
    return summary, layer


def _training_scan(
    model: LoadedModel, data: PreparedData, clean_rec: DatasetRecording, clean_labels: np.ndarray,
    layer: str, settings: DetectionSettings, label: str,
) -> dict[str, Any]:  # fmt: skip
    """Spectral signatures and activation clustering on the poisoned training set, per
    class, as designed; precision / recall of the flags against the known poison flags."""
    train = seeded_subset(data.poisoned_train, settings.max_train_samples, settings.seed)
    cfg = model.config
    recording = record_dataset(
        model.network, train, cfg.sim.timesteps, cfg.sim.encoder, model.device, [layer],
        per_channel=True, batch_size=settings.batch_size,
    )  # fmt: skip
    features = layer_features(recording.layers[layer], settings.feature)
    trusted = layer_features(clean_rec.layers[layer], settings.feature)
    summary: dict[str, Any] = {
        "layer": layer, "layer_label": label, "feature": settings.feature,
        "training_samples": len(train), "poisoned_samples": int(train.is_poison.sum()),
        "trusted_clean_samples": len(clean_labels),
    }  # fmt: skip
    for method in TRAINING_SCORERS:
        scan = scan_training_set(
            method, features, train.y, trusted, clean_labels, seed=settings.seed
        )
        summary[method] = {
            **scan.quality(train.is_poison),
            "flagged_classes": scan.flagged_classes,
            "auroc": scores_auroc(scan.scores, train.is_poison, train.y),
            "class_p_values": scan.class_p_values,
        }
    return summary


def _reference_free(
    model: LoadedModel, image_shape: tuple[int, ...], classes: int, settings: DetectionSettings,
    cancel: CancelToken | None, stage: str, statistic: str,
) -> Generator[Event, None, Any]:  # fmt: skip
    margins = yield from max_margins(
        model.network, image_shape, classes, model.config.sim.timesteps, model.device,
        settings.max_margin, cancel, stage, statistic,
    )  # fmt: skip
    return max_margin_test(margins, settings.max_margin.alpha)


def _detection(
    suspect: LoadedModel,
    reference_path: str | Path | None,
    settings: DetectionSettings,
    report: dict[str, Any],
    figures: list[str],
    job: Job,
) -> Generator[Event, None, None]:
    reference = load_reference(reference_path, suspect) if reference_path else None
    yield Log(f"loading dataset '{suspect.config.data.name}' and the checkpoint's trigger")
    data = suspect.prepared_data()
    pool = _test_pool(data, settings)
    clean_set = clean_fraction_subset(data.splits.train, settings.clean_fraction, settings.seed)
    job.lap("data")
    yield Log(
        f"recording {len(pool.samples)} test inputs ({int(pool.is_triggered.sum())} "
        f"triggered) and {len(clean_set)} trusted clean training samples"
    )
    check_cancel(job.cancel)
    suspect_rec = _record(suspect, pool.samples, settings.batch_size)
    clean_rec = _record(suspect, clean_set, settings.batch_size)
    check_cancel(job.cancel)

    labels = layer_labels(suspect.network, tuple(data.splits.sample_shape))
    report["layer_labels"] = labels
    summary, layer = _sample_level(pool, suspect_rec, clean_rec, clean_set.y, settings, labels)
    report["sample_level"] = summary
    if job.rundir is not None:
        title = f"clean distance on {labels[layer]} ({settings.feature})"
        path = job.rundir.file("sample_scores.png")
        figures.append(sample_scores_figure(summary, title, path))
    yield Log(f"sample level: AUROC {summary['auroc']:.4f} (clean distance, {labels[layer]})")
    yield DetectionResult("sample-level", summary)
    job.lap("sample-level")

    if settings.training_scores:
        check_cancel(job.cancel)
        yield Log("scoring the poisoned training set per class (spectral, clustering)")
        scan = _training_scan(suspect, data, clean_rec, clean_set.y, layer, settings, labels[layer])
        report["training_set"] = scan
        yield Log(
            "training set: "
            + "; ".join(
                f"{m} precision {_fmt(scan[m]['precision'])} recall {_fmt(scan[m]['recall'])}"
                for m in TRAINING_SCORERS
            )
        )
        yield DetectionResult("training-set", scan)
        job.lap("training-set")

    if reference is not None:
        check_cancel(job.cancel)
        reference_rec = _record(reference, pool.samples, settings.batch_size)
        clean_idx, trig_idx = ~pool.is_triggered, pool.is_triggered
        comparisons = compare_models(
            suspect_rec.subset(clean_idx), suspect_rec.subset(trig_idx),
            reference_rec.subset(clean_idx), reference_rec.subset(trig_idx),
        )  # fmt: skip
        comparison = {
            "layers": [{**c.summary(), "label": labels.get(c.layer, c.layer)} for c in comparisons],
            "output_voltage_triggered_suspect": output_voltage_by_class(
                suspect_rec.subset(trig_idx)
            ).tolist(),
            "output_voltage_triggered_reference": output_voltage_by_class(
                reference_rec.subset(trig_idx)
            ).tolist(),
        }
        report["model_comparison"] = comparison
        if job.rundir is not None:
            path = job.rundir.file("model_comparison.png")
            figures.append(model_comparison_figure(comparisons, path))
            arrays = {
                f"{c.layer}/{key}": getattr(c, key) for c in comparisons for key in NEURON_DIFFS
            }
            with atomic_path(job.rundir.file("neuron_differences.npz")) as temporary:
                np.savez_compressed(temporary, **arrays)
        last = comparisons[-1]
        yield Log(
            f"model level vs reference: separation on {labels.get(last.layer, last.layer)} "
            f"spikes {last.separation['spikes']:.3f}, voltage {last.separation['voltage']:.3f}"
        )
        yield DetectionResult("model-comparison", comparison)
        job.lap("model-comparison")

    if settings.reference_free:
        shape = tuple(data.splits.sample_shape)
        models = [("suspect", suspect)] + ([("reference", reference)] if reference else [])
        verdicts: dict[str, dict[str, Any]] = {}
        for test, statistic in TESTS.items():
            verdicts[test] = {}
            for role, model in models:
                yield Log(f"reference-free {test} test on the {role} model")
                result = yield from _reference_free(
                    model, shape, data.splits.num_classes, settings, job.cancel,
                    f"{test} {role}", statistic,
                )  # fmt: skip
                verdicts[test][role] = result.to_dict()
                if job.rundir is not None:
                    path = job.rundir.file(f"{test.replace('-', '_')}_{role}.png")
                    figures.append(max_margin_figure(result, f"{test}, {role}", path))
                yield Log(
                    f"{test}, {role}: {'FLAGGED' if result.flagged else 'not flagged'}, "
                    f"suspect class {result.suspect_class}, p = {result.p_value:.3g}"
                )
        report["reference_free"] = verdicts
        yield DetectionResult("reference-free", verdicts)
        job.lap("reference-free")


def _write_report(report: dict[str, Any], figures: list[str], job: Job, status: str) -> None:
    """report.json and the headline metrics from what the detection got done."""
    report["figures"] = figures
    report["seconds"] = job.seconds
    job.metrics.update(_headline(report))
    if job.rundir is not None:
        write_json_atomic(job.rundir.file(REPORT_FILE), report)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers metrics.json and the CLI show."""
    out: dict[str, Any] = {"seconds": report["seconds"]}
    if "sample_level" in report:
        out["sample_auroc"] = report["sample_level"]["auroc"]
    for method in TRAINING_SCORERS:
        if "training_set" in report:
            out[f"{method}_precision"] = report["training_set"][method]["precision"]
            out[f"{method}_recall"] = report["training_set"][method]["recall"]
    if "model_comparison" in report:
        last = report["model_comparison"]["layers"][-1]
        out["separation_last_layer"] = last["separation"]
    for test, roles in report.get("reference_free", {}).items():
        key = test.replace("-", "_")
        for role, verdict in roles.items():
            out[f"{key}_{role}_flagged"] = verdict["flagged"]
            out[f"{key}_{role}_suspect_class"] = verdict["suspect_class"]
            out[f"{key}_{role}_p_value"] = verdict["p_value"]
    return out
