"""Model-level detection against a trusted clean reference (the paper's "Defences").

Both models see the same clean and triggered inputs; every spiking layer is recorded (conv
layers one neuron per channel). Per neuron: the firing-rate and cumulative-voltage
differences suspect - reference. Per layer and model: the trigger effect, the root mean
square over neurons of the standardised shift (Cohen's d) that the trigger causes in the
layer's spike counts or cumulative voltage. It does not depend on how neurons are ordered,
so it compares two independently trained models. The layer's separation score is the
suspect's trigger effect minus the reference's: near 0 for two clean models, large when
the suspect has learned to respond to the trigger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnstudio.core.errors import CheckpointError
from snnstudio.core.probe import DatasetRecording, LayerRecording


def trigger_effect(clean: np.ndarray, triggered: np.ndarray) -> float:
    """RMS over neurons of (mean_triggered - mean_clean) / pooled std, features [N, neurons]."""
    pooled = np.sqrt((clean.var(0) + triggered.var(0)) / 2.0)
    shift = triggered.mean(0) - clean.mean(0)
    d = shift / np.maximum(pooled, 1e-6)
    d[(pooled < 1e-6) & (np.abs(shift) < 1e-6)] = 0.0  # silent in both: no effect
    return float(np.sqrt(np.mean(d**2)))


@dataclass
class LayerComparison:
    """One spiking layer of the suspect against the same layer of the reference."""

    layer: str
    rate_diff_clean: np.ndarray  # [neurons] firing rate suspect - reference, clean inputs
    rate_diff_triggered: np.ndarray  # same on triggered inputs
    voltage_diff_clean: np.ndarray  # [neurons] mean cumulative voltage suspect - reference
    voltage_diff_triggered: np.ndarray
    effect_suspect: dict[str, float]  # trigger effect by feature ('spikes', 'voltage')
    effect_reference: dict[str, float]

    @property
    def separation(self) -> dict[str, float]:
        return {k: self.effect_suspect[k] - self.effect_reference[k] for k in self.effect_suspect}

    def summary(self) -> dict[str, object]:
        return {
            "layer": self.layer,
            "neurons": len(self.rate_diff_clean),
            "separation": self.separation,
            "trigger_effect_suspect": self.effect_suspect,
            "trigger_effect_reference": self.effect_reference,
            "mean_abs_rate_diff_clean": float(np.abs(self.rate_diff_clean).mean()),
            "mean_abs_rate_diff_triggered": float(np.abs(self.rate_diff_triggered).mean()),
            "mean_abs_voltage_diff_clean": float(np.abs(self.voltage_diff_clean).mean()),
            "mean_abs_voltage_diff_triggered": float(np.abs(self.voltage_diff_triggered).mean()),
        }


def _effects(clean: LayerRecording, triggered: LayerRecording) -> dict[str, float]:
    return {
        "spikes": trigger_effect(clean.spike_counts, triggered.spike_counts),
        "voltage": trigger_effect(clean.cumulative_voltage, triggered.cumulative_voltage),
    }


def compare_layer(
    name: str,
    suspect_clean: LayerRecording,
    suspect_triggered: LayerRecording,
    reference_clean: LayerRecording,
    reference_triggered: LayerRecording,
) -> LayerComparison:
    if suspect_clean.num_neurons != reference_clean.num_neurons:
        raise CheckpointError(
            f"layer {name} has {suspect_clean.num_neurons} neurons in the suspect model but "
            f"{reference_clean.num_neurons} in the reference"
        )

    def rate(r: LayerRecording) -> np.ndarray:
        return r.firing_rate.mean(0)

    def volt(r: LayerRecording) -> np.ndarray:
        return r.cumulative_voltage.mean(0)

    return LayerComparison(
        name,
        rate(suspect_clean) - rate(reference_clean),
        rate(suspect_triggered) - rate(reference_triggered),
        volt(suspect_clean) - volt(reference_clean),
        volt(suspect_triggered) - volt(reference_triggered),
        _effects(suspect_clean, suspect_triggered),
        _effects(reference_clean, reference_triggered),
    )


def compare_models(
    suspect_clean: DatasetRecording,
    suspect_triggered: DatasetRecording,
    reference_clean: DatasetRecording,
    reference_triggered: DatasetRecording,
) -> list[LayerComparison]:
    """Compare every spiking layer the two models share, input to output.

    The four recordings must hold the same layers (same architecture); the clean and the
    triggered recordings of both models must be of the same inputs.
    """
    names = list(suspect_clean.layers)
    if names != list(reference_clean.layers):
        raise CheckpointError(
            "the reference model's spiking layers "
            f"({', '.join(reference_clean.layers)}) differ from the suspect's ({', '.join(names)})"
        )
    return [
        compare_layer(
            name,
            suspect_clean.layers[name],
            suspect_triggered.layers[name],
            reference_clean.layers[name],
            reference_triggered.layers[name],
        )
        for name in names
    ]


def output_voltage_by_class(recording: DatasetRecording) -> np.ndarray:
    """[K]: mean cumulative output voltage (readout summed over T) per class."""
    return recording.readout.sum(0).mean(0)
