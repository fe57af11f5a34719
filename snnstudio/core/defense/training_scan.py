"""Poisoned-training-sample detection, as spectral signatures and activation clustering were
designed: on the training set, class by class (by the label each sample carries, so the
relabelled poisons sit in the target class).

- spectral signature (Tran et al., NeurIPS 2018): each class's features are centred and
  projected on their top singular vector; poisons gather at one end of that direction.
  Tran et al. score the squared projection, which works while poisons are a small share
  of the class; when they are about half of it (the demo: PR 0.1 of ten classes) both
  groups sit at +-a and the square cannot tell them apart, so the score here is the
  projection signed towards the candidate side.
- activation clustering (Chen et al., SafeAI 2019): each class's features reduced by PCA
  (Chen et al. use ICA; PCA keeps this deterministic) and split in two by 2-means; the
  poisons form a cluster of their own.

Deciding which end or which cluster is poisoned, and whether a class holds poisons at all,
uses the defender's trusted clean samples (the share `detect` already has): trusted clean
samples of a class fall on the clean side. A class is flagged when its candidate side
holds fewer of them than its size predicts, by a one-sided binomial test at `alpha`; only
then are its samples on that side flagged. Without trusted samples of a class, its
smaller side is the candidate and the class is not flagged.

Precision and recall of the flags, and the AUROC of the raw per-class scores, are measured
against the training set's known poison flags (`is_poison`): the defender never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from snnstudio.core.errors import ConfigError

ALPHA = 0.01  # binomial test: a side with this few trusted clean samples is poisoned
PCA_COMPONENTS = 10


@dataclass
class ClassSplit:
    """One class split in two sides; side True is the candidate poisoned side."""

    candidate: np.ndarray  # [n_c] bool: training samples on the candidate side
    trusted_on_candidate: int
    trusted: int
    p_value: float  # binomial: this few trusted samples on the candidate side, if clean


@dataclass
class TrainingScan:
    method: str  # spectral | clustering
    scores: np.ndarray  # [N] higher = more suspicious, comparable within a class
    flagged: np.ndarray  # [N] bool
    flagged_classes: list[int]
    class_p_values: dict[int, float]

    def quality(self, is_poison: np.ndarray) -> dict[str, float | int | None]:
        """Precision and recall of the flags against the true poison flags."""
        flagged, truth = self.flagged, is_poison.astype(bool)
        hits = int((flagged & truth).sum())
        return {
            "flagged": int(flagged.sum()),
            "poisoned": int(truth.sum()),
            "true_positives": hits,
            "precision": hits / int(flagged.sum()) if flagged.any() else None,
            "recall": hits / int(truth.sum()) if truth.any() else None,
        }


def _binomial(candidate_trusted: int, trusted: int, share: float) -> float:
    if trusted == 0:
        return 1.0
    return float(stats.binomtest(candidate_trusted, trusted, share, "less").pvalue)


def _decide(train_side: np.ndarray, trusted_side: np.ndarray) -> ClassSplit:
    """Choose the candidate side (True/False labels over the class's training samples) as
    the one with fewer trusted samples per training sample, and test it."""
    sides = []
    for side in (True, False):
        size = float((train_side == side).mean())
        on = int((trusted_side == side).sum())
        sides.append((_binomial(on, len(trusted_side), size), side, on))
    if len(trusted_side) == 0:  # no trusted sample: the smaller side, never flagged
        side = bool((train_side.mean()) < 0.5)
        return ClassSplit(train_side == side, 0, 0, 1.0)
    p_value, side, on = min(sides)
    return ClassSplit(train_side == side, on, len(trusted_side), p_value)


def _spectral_split(features: np.ndarray, trusted: np.ndarray) -> tuple[np.ndarray, ClassSplit]:
    mean = features.mean(0)
    _, _, vt = np.linalg.svd(features - mean, full_matrices=False)
    projection = (features - mean) @ vt[0]
    trusted_projection = (trusted - mean) @ vt[0] if len(trusted) else np.zeros(0)
    centres = KMeans(n_clusters=2, n_init=10, random_state=0).fit(projection[:, None])
    train_side = centres.labels_ == 1
    trusted_side = (
        centres.predict(trusted_projection[:, None]) == 1 if len(trusted) else np.zeros(0, bool)
    )
    split = _decide(train_side, trusted_side)
    candidate_label = 1 if np.array_equal(split.candidate, train_side) else 0
    direction = np.sign(centres.cluster_centers_[candidate_label, 0]) or 1.0
    return projection * direction, split


def _clustering_split(
    features: np.ndarray, trusted: np.ndarray, seed: int
) -> tuple[np.ndarray, ClassSplit]:
    dims = min(PCA_COMPONENTS, len(features) - 1, features.shape[1])
    pca = PCA(n_components=dims, random_state=seed).fit(features)
    kmeans = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(pca.transform(features))
    train_side = kmeans.labels_ == 1
    trusted_side = (
        kmeans.predict(pca.transform(trusted)) == 1 if len(trusted) else np.zeros(0, bool)
    )
    split = _decide(train_side, trusted_side)
    distances = kmeans.transform(pca.transform(features))  # [n, 2]
    own = 1 if np.array_equal(split.candidate, train_side) else 0
    scores = distances[:, 1 - own] - distances[:, own]  # nearer the candidate centre = higher
    return scores, split


def scan_training_set(
    method: str,
    features: np.ndarray,
    labels: np.ndarray,
    trusted_features: np.ndarray,
    trusted_labels: np.ndarray,
    alpha: float = ALPHA,
    seed: int = 0,
) -> TrainingScan:
    """Scan every class of the training set by `method` (spectral | clustering)."""
    if method not in ("spectral", "clustering"):
        raise ConfigError(f"training-set score '{method}' is not one of: spectral, clustering")
    scores = np.zeros(len(features))
    flagged = np.zeros(len(features), bool)
    flagged_classes, p_values = [], {}
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 4:
            continue
        trusted = trusted_features[trusted_labels == c]
        if method == "spectral":
            class_scores, split = _spectral_split(features[idx], trusted)
        else:
            class_scores, split = _clustering_split(features[idx], trusted, seed)
        scores[idx] = class_scores / max(float(np.median(np.abs(class_scores))), 1e-12)
        p_values[int(c)] = split.p_value
        if split.p_value < alpha:
            flagged[idx[split.candidate]] = True
            flagged_classes.append(int(c))
    return TrainingScan(method, scores, flagged, flagged_classes, p_values)


def scores_auroc(scores: np.ndarray, is_poison: np.ndarray, labels: np.ndarray) -> float | None:
    """AUROC of the scores at telling poisoned from clean samples within the classes that
    hold poisons (the scores are per class); None when there is nothing to tell apart."""
    classes = np.unique(labels[is_poison.astype(bool)])
    keep = np.isin(labels, classes)
    truth = is_poison.astype(bool)[keep]
    if truth.all() or not truth.any():
        return None
    return float(roc_auc_score(truth.astype(int), scores[keep]))
