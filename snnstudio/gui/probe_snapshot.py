"""What the detection view draws: one spiking layer recorded by the core's probe for the same
test samples, clean and with the checkpoint's trigger, in the suspect (and a reference) model.

Blocking (it loads a dataset and runs the networks): the Detection tab runs it as a
`tasks.Task` on its own QThread, with a cancel token checked between the loads and recordings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnstudio.core.defense.layer_names import layer_labels
from snnstudio.core.defense.loading import LoadedModel, load_model, load_reference
from snnstudio.core.events import CancelToken, check_cancel
from snnstudio.core.probe import LayerRecording, record_dataset, spiking_layer_names
from snnstudio.core.runner import PreparedData


@dataclass
class LoadedCheckpoints:
    """A suspect checkpoint (and optionally a clean reference) with the data it was attacked
    with."""

    suspect: LoadedModel
    reference: LoadedModel | None
    data: PreparedData
    labels: dict[str, str]  # readable layer names ("conv2 spikes (32×14×14)") by module name

    @property
    def layers(self) -> list[str]:
        return spiking_layer_names(self.suspect.network)


@dataclass
class ProbeSnapshot:
    """Recordings [T, N, neurons] of one layer for N clean inputs and their triggered twins."""

    layer: str
    threshold: float
    clean: LayerRecording
    triggered: LayerRecording
    reference_clean: LayerRecording | None
    reference_triggered: LayerRecording | None
    labels: np.ndarray  # true classes of the N inputs
    target: int


def load_checkpoints(
    suspect: Path, reference: Path | None, cancel: CancelToken | None = None
) -> LoadedCheckpoints:
    """Load the models (the core's checks) and the attacked data the suspect's config names;
    `cancel` is checked between the three loads."""
    model = load_model(suspect)
    check_cancel(cancel)
    ref = load_reference(reference, model) if reference is not None else None
    check_cancel(cancel)
    data = model.prepared_data()
    labels = layer_labels(model.network, tuple(data.splits.sample_shape))
    return LoadedCheckpoints(model, ref, data, labels)


def record_snapshot(
    loaded: LoadedCheckpoints, layer: str, count: int, cancel: CancelToken | None = None
) -> ProbeSnapshot:
    """Record `layer` for the first `count` test samples outside the target class, clean and
    triggered (the triggered test set keeps those samples in the same order); `cancel` is
    checked before each of the (up to four) recordings."""
    sets = loaded.data.sets
    keep = np.flatnonzero(sets.test.original_y != sets.target)[:count]
    clean = sets.test.subset(keep)
    triggered = sets.triggered_test.subset(np.arange(len(keep)))

    def record(model: LoadedModel, samples) -> LayerRecording:  # type: ignore[no-untyped-def]
        check_cancel(cancel)
        cfg = model.config
        rec = record_dataset(
            model.network, samples, cfg.sim.timesteps, cfg.sim.encoder, model.device, [layer]
        )
        return rec.layers[layer]

    suspect_clean = record(loaded.suspect, clean)
    ref = loaded.reference
    return ProbeSnapshot(
        layer=layer,
        threshold=suspect_clean.threshold,
        clean=suspect_clean,
        triggered=record(loaded.suspect, triggered),
        reference_clean=record(ref, clean) if ref is not None else None,
        reference_triggered=record(ref, triggered) if ref is not None else None,
        labels=clean.original_y,
        target=sets.target,
    )


def top_changed_neurons(snapshot: ProbeSnapshot, count: int) -> np.ndarray:
    """The `count` neurons whose cumulative voltage the trigger changes most, averaged over
    the recorded inputs, most changed first (every neuron, in order, when the layer has no
    more than `count`)."""
    total = snapshot.clean.num_neurons
    if total <= count:
        return np.arange(total)
    change = np.abs(snapshot.triggered.cumulative_voltage - snapshot.clean.cumulative_voltage).mean(
        0
    )
    return np.argsort(change)[::-1][:count]
