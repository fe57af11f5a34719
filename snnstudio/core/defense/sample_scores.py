"""The sample-level backdoor score for test inputs, from a layer's voltage/spike features,
without the trigger.

`clean_distance_scores` maps a feature matrix [N, d] (one row per input: cumulative
voltage and/or spike counts of a spiking layer) to one score per input, higher = more
suspicious: the Mahalanobis distance to the clean class-conditional mean of the predicted
class (Lee et al. 2018), fitted on a small trusted clean set. It is the one score here
that applies to single test inputs; spectral signatures and activation clustering were
designed for the training set, class by class, and run there (`training_scan`).
"""

from __future__ import annotations

import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score

from snnstudio.core.defense.settings import FEATURE_KINDS
from snnstudio.core.errors import ConfigError
from snnstudio.core.probe import LayerRecording


def layer_features(recording: LayerRecording, kind: str = "both") -> np.ndarray:
    """[N, d] features of each input: cumulative voltage, spike counts or both side by side."""
    if kind == "voltage":
        return recording.cumulative_voltage.astype(np.float64)
    if kind == "spikes":
        return recording.spike_counts.astype(np.float64)
    if kind == "both":
        return np.concatenate(
            [recording.cumulative_voltage, recording.spike_counts], axis=1
        ).astype(np.float64)
    raise ConfigError(f"feature kind '{kind}' is not one of: {', '.join(FEATURE_KINDS)}")


def clean_distance_scores(
    clean_features: np.ndarray,
    clean_labels: np.ndarray,
    features: np.ndarray,
    predicted: np.ndarray,
) -> np.ndarray:
    """Mahalanobis distance of each input to the clean mean of its predicted class.

    One covariance shared by all classes (shrunk with Ledoit-Wolf), as a few clean samples
    per class cannot estimate a covariance per class. A class with no clean sample falls
    back to the distance to the nearest clean class mean.
    """
    classes = np.unique(clean_labels)
    means = np.stack([clean_features[clean_labels == c].mean(0) for c in classes])
    centred = clean_features - means[np.searchsorted(classes, clean_labels)]
    precision = LedoitWolf().fit(centred).precision_
    diffs = features[:, None, :] - means[None, :, :]  # [N, classes, d]
    dist = np.sqrt(np.maximum(np.einsum("ncd,de,nce->nc", diffs, precision, diffs), 0.0))
    index = np.searchsorted(classes, predicted)
    known = (index < len(classes)) & (classes[np.minimum(index, len(classes) - 1)] == predicted)
    scores = dist.min(1)
    scores[known] = dist[np.flatnonzero(known), index[known]]
    return scores


def detection_auroc(scores: np.ndarray, is_triggered: np.ndarray) -> float:
    """AUROC of the scores at telling triggered from clean inputs (0.5 = chance)."""
    if is_triggered.all() or not is_triggered.any():
        return float("nan")
    return float(roc_auc_score(is_triggered.astype(int), scores))
