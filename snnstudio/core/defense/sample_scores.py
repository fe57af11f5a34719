"""Sample-level backdoor scores from a layer's voltage/spike features, without the trigger.

Each scorer maps a feature matrix [N, d] (one row per input: cumulative voltage and/or
spike counts of a spiking layer) to one score per input, higher = more suspicious.

- `clean_distance_scores`: Mahalanobis distance to the clean class-conditional mean of the
  predicted class (Lee et al. 2018), fitted on a small trusted clean set.
- `spectral_signature_scores`: squared projection on the top singular vector of each
  predicted class (Tran et al. 2018); needs no clean data.
- `activation_clustering_scores`: 2-means within each predicted class after PCA; members
  of the smaller cluster score high (Chen et al. 2018); needs no clean data.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from snnstudio.core.errors import ConfigError
from snnstudio.core.probe import LayerRecording

FEATURE_KINDS = ("voltage", "spikes", "both")
SCORERS = ("clean-distance", "spectral", "clustering")


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


def spectral_signature_scores(features: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Squared projection on each predicted class's top singular vector, divided by the
    class median so that scores of different classes share one scale."""
    scores = np.zeros(len(features))
    for c in np.unique(predicted):
        idx = np.flatnonzero(predicted == c)
        if len(idx) < 3:
            continue
        centred = features[idx] - features[idx].mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        proj = (centred @ vt[0]) ** 2
        scores[idx] = proj / max(float(np.median(proj)), 1e-12)
    return scores


def activation_clustering_scores(
    features: np.ndarray, predicted: np.ndarray, components: int = 10, seed: int = 0
) -> np.ndarray:
    """Within each predicted class: PCA to `components` dims, 2-means, and a score of
    1 - (share of the class in the sample's cluster), so a small cluster scores high."""
    scores = np.zeros(len(features))
    for c in np.unique(predicted):
        idx = np.flatnonzero(predicted == c)
        if len(idx) < 4:
            continue
        dims = min(components, len(idx) - 1, features.shape[1])
        reduced = PCA(n_components=dims, random_state=seed).fit_transform(features[idx])
        labels = KMeans(n_clusters=2, n_init=10, random_state=seed).fit_predict(reduced)
        share = np.bincount(labels, minlength=2) / len(idx)
        scores[idx] = 1.0 - share[labels]
    return scores


def sample_scores(
    method: str,
    features: np.ndarray,
    predicted: np.ndarray,
    clean_features: np.ndarray | None = None,
    clean_labels: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Scores by the named method (one of SCORERS)."""
    if method == "clean-distance":
        if clean_features is None or clean_labels is None:
            raise ConfigError("the clean-distance score needs trusted clean samples")
        return clean_distance_scores(clean_features, clean_labels, features, predicted)
    if method == "spectral":
        return spectral_signature_scores(features, predicted)
    if method == "clustering":
        return activation_clustering_scores(features, predicted, seed=seed)
    raise ConfigError(f"sample score '{method}' is not one of: {', '.join(SCORERS)}")


def detection_auroc(scores: np.ndarray, is_triggered: np.ndarray) -> float:
    """AUROC of the scores at telling triggered from clean inputs (0.5 = chance)."""
    if is_triggered.all() or not is_triggered.any():
        return float("nan")
    return float(roc_auc_score(is_triggered.astype(int), scores))
