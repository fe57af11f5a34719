"""Backdoor detection from voltages and spikes, as one generator of events.

Three tests on a suspect checkpoint, written as report.json + PNG figures:

- sample level (no trigger knowledge): a score per input from a spiking layer's
  cumulative voltage / spike counts, and its AUROC on clean vs triggered test inputs
  (`sample_scores`);
- model level against a trusted clean reference on the same clean and triggered inputs
  (`model_comparison`), when a reference checkpoint is given;
- model level without a reference: the max-margin test on the output voltage
  (`max_margin`), which names the suspect target class.

The triggered inputs are built from the trigger in the checkpoint's config (the attack
the model was trained with); only the evaluation uses them, never the sample scores.
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnstudio.core.data.base import SampleSet, seeded_subset
from snnstudio.core.defense.loading import (
    LoadedModel,
    clean_fraction_subset,
    join_sets,
    load_data,
    load_model,
    load_reference,
)
from snnstudio.core.defense.max_margin import MaxMarginSettings, max_margin_test, max_margins
from snnstudio.core.defense.model_comparison import compare_models, output_voltage_by_class
from snnstudio.core.defense.report_figures import (
    max_margin_figure,
    model_comparison_figure,
    sample_scores_figure,
)
from snnstudio.core.defense.sample_scores import (
    FEATURE_KINDS,
    SCORERS,
    detection_auroc,
    layer_features,
    sample_scores,
)
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import (
    CancelToken,
    DetectionResult,
    Event,
    Log,
    check_cancel,
)
from snnstudio.core.jobs import Job, run_job
from snnstudio.core.probe import DatasetRecording, record_dataset, spiking_layer_names
from snnstudio.core.rundir import REPORT_FILE, RunKind, atomic_path, write_json_atomic
from snnstudio.core.runner import PreparedData

__all__ = ["DetectionSettings", "run_detection"]

NEURON_DIFFS = (
    "rate_diff_clean",
    "rate_diff_triggered",
    "voltage_diff_clean",
    "voltage_diff_triggered",
)


@dataclass
class DetectionSettings:
    layer: str = ""  # spiking layer for the sample-level score; "" = the last one
    feature: str = "both"  # voltage | spikes | both
    method: str = "clean-distance"  # the headline sample score (all are reported)
    clean_fraction: float = 0.1  # share of the clean training set the defender trusts
    triggered_share: float = 0.5  # share of triggered inputs in the sample-level test pool
    max_test_samples: int = 1000  # clean test inputs used (0 = all)
    reference_free: bool = True  # run the max-margin test
    max_margin: MaxMarginSettings = field(default_factory=MaxMarginSettings)
    seed: int = 0
    batch_size: int = 256

    def check(self) -> None:
        if self.feature not in FEATURE_KINDS:
            raise ConfigError(f"feature '{self.feature}' is not one of: {', '.join(FEATURE_KINDS)}")
        if self.method not in SCORERS:
            raise ConfigError(f"method '{self.method}' is not one of: {', '.join(SCORERS)}")
        if not 0.0 < self.triggered_share < 1.0:
            raise ConfigError(f"triggered share = {self.triggered_share} must be in (0, 1)")


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


def _sample_level(
    pool: _Pool,
    suspect_rec: DatasetRecording,
    clean_rec: DatasetRecording,
    clean_labels: np.ndarray,
    settings: DetectionSettings,
) -> tuple[dict[str, Any], np.ndarray, str]:
    layer = settings.layer or list(suspect_rec.layers)[-1]
    if layer not in suspect_rec.layers:
        raise ConfigError(
            f"no spiking layer named '{layer}' (known: {', '.join(suspect_rec.layers)})"
        )
    predicted = suspect_rec.predictions
    table: dict[str, dict[str, dict[str, float]]] = {}
    headline = np.zeros(len(predicted))
    for name in suspect_rec.layers:
        table[name] = {}
        for kind in FEATURE_KINDS:
            feats = layer_features(suspect_rec.layers[name], kind)
            clean_feats = layer_features(clean_rec.layers[name], kind)
            row = {}
            for method in SCORERS:
                scores = sample_scores(
                    method, feats, predicted, clean_feats, clean_labels, settings.seed
                )
                row[method] = detection_auroc(scores, pool.is_triggered)
                if (name, kind, method) == (layer, settings.feature, settings.method):
                    headline = scores
            table[name][kind] = row
    summary = {
        "layer": layer,
        "feature": settings.feature,
        "method": settings.method,
        "auroc": table[layer][settings.feature][settings.method],
        "clean_inputs": int((~pool.is_triggered).sum()),
        "triggered_inputs": int(pool.is_triggered.sum()),
        "clean_reference_samples": len(clean_labels),
        "auroc_by_layer_feature_method": table,
    }
    return summary, headline, layer


def _reference_free(
    model: LoadedModel, image_shape: tuple[int, ...], classes: int, settings: DetectionSettings,
    cancel: CancelToken | None, stage: str,
) -> Generator[Event, None, Any]:  # fmt: skip
    margins = yield from max_margins(
        model.network, image_shape, classes, model.config.sim.timesteps, model.device,
        settings.max_margin, cancel, stage,
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
    data = load_data(suspect)
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

    summary, scores, layer = _sample_level(pool, suspect_rec, clean_rec, clean_set.y, settings)
    report["sample_level"] = summary
    if job.rundir is not None:
        title = f"{settings.method} on {layer} ({settings.feature})"
        path = job.rundir.file("sample_scores.png")
        figures.append(sample_scores_figure(scores, pool.is_triggered, title, path))
    yield Log(f"sample level: AUROC {summary['auroc']:.4f} ({settings.method}, {layer})")
    yield DetectionResult("sample-level", summary)
    job.lap("sample-level")

    if reference is not None:
        check_cancel(job.cancel)
        reference_rec = _record(reference, pool.samples, settings.batch_size)
        clean_idx, trig_idx = ~pool.is_triggered, pool.is_triggered
        comparisons = compare_models(
            suspect_rec.subset(clean_idx), suspect_rec.subset(trig_idx),
            reference_rec.subset(clean_idx), reference_rec.subset(trig_idx),
        )  # fmt: skip
        comparison = {
            "layers": [c.summary() for c in comparisons],
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
            f"model level vs reference: separation on {last.layer} "
            f"spikes {last.separation['spikes']:.3f}, voltage {last.separation['voltage']:.3f}"
        )
        yield DetectionResult("model-comparison", comparison)
        job.lap("model-comparison")

    if settings.reference_free:
        shape = tuple(data.splits.sample_shape)
        models = [("suspect", suspect)] + ([("reference", reference)] if reference else [])
        verdicts = {}
        for role, model in models:
            yield Log(f"reference-free max-margin test on the {role} model")
            result = yield from _reference_free(
                model, shape, data.splits.num_classes, settings, job.cancel, f"max-margin {role}"
            )
            verdicts[role] = result.to_dict()
            if job.rundir is not None:
                path = job.rundir.file(f"max_margin_{role}.png")
                figures.append(max_margin_figure(result, role, path))
            yield Log(
                f"{role}: {'FLAGGED' if result.flagged else 'not flagged'}, suspect class "
                f"{result.suspect_class}, p = {result.p_value:.3g}"
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


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers metrics.json and the CLI show."""
    out: dict[str, Any] = {"seconds": report["seconds"]}
    if "sample_level" in report:
        out["sample_auroc"] = report["sample_level"]["auroc"]
    if "model_comparison" in report:
        last = report["model_comparison"]["layers"][-1]
        out["separation_last_layer"] = last["separation"]
    for role, verdict in report.get("reference_free", {}).items():
        out[f"{role}_flagged"] = verdict["flagged"]
        out[f"{role}_suspect_class"] = verdict["suspect_class"]
        out[f"{role}_p_value"] = verdict["p_value"]
    return out
