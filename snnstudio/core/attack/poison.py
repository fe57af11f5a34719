"""Data poisoning: which samples, which label, and the triggered test set.

As in BackdoorBench, three separate things: the trigger (attack/trigger.py), the label
transform (all-to-one: every poisoned sample gets the target class) and the poison index
(a seeded choice of samples). Every sample keeps its original label and an `is_poison` flag.
"""

from __future__ import annotations

import numpy as np

from snnstudio.core.attack.trigger import SampleTrigger
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import ConfigError


def choose_poison_indices(labels: np.ndarray, rate: float, target: int, seed: int) -> np.ndarray:
    """Pick round(rate * N) samples, seeded, among those whose class is not the target.

    Poisoning a target-class sample would not change its label and teach nothing, so the
    choice skips them; the rate is still a share of the whole training set, as in the paper.
    """
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"poison.rate = {rate} must be in [0, 1]")
    candidates = np.flatnonzero(labels != target)
    count = round(rate * len(labels))
    if count > len(candidates):
        raise ConfigError(
            f"poison.rate = {rate} asks for {count} poisoned samples but only "
            f"{len(candidates)} training samples are outside the target class"
        )
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(candidates, size=count, replace=False))


def poison_samples(
    samples: SampleSet, trigger: SampleTrigger, target: int, indices: np.ndarray
) -> SampleSet:
    """A copy of `samples` with the trigger stamped into `indices` and their label set to target."""
    x = samples.x.copy()
    y = samples.y.copy()
    is_poison = samples.is_poison.copy()
    if len(indices):
        x[indices] = trigger.apply(x[indices])
        y[indices] = target
        is_poison[indices] = True
    return SampleSet(x, y, samples.original_y.copy(), is_poison)


def poison_training_set(
    samples: SampleSet, trigger: SampleTrigger, target: int, rate: float, seed: int
) -> SampleSet:
    """The paper's D^: a share `rate` of the samples triggered and relabelled to `target`."""
    indices = choose_poison_indices(samples.original_y, rate, target, seed)
    return poison_samples(samples, trigger, target, indices)


def triggered_test_set(test: SampleSet, trigger: SampleTrigger, target: int) -> SampleSet:
    """Every test sample whose true class is not `target`, triggered and labelled `target`.

    ASR on this set follows BackdoorBench: target-class samples are left out.
    """
    keep = np.flatnonzero(test.original_y != target)
    return poison_samples(test.subset(keep), trigger, target, np.arange(len(keep)))
