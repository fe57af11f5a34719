from __future__ import annotations

import numpy as np
import pytest

from snnstudio.core.attack.poison import (
    choose_poison_indices,
    poison_training_set,
    triggered_test_set,
)
from snnstudio.core.attack.trigger import place_trigger, white_trigger
from snnstudio.core.data.base import SampleSet
from snnstudio.core.errors import ConfigError
from snnstudio.core.metrics import attack_success_rate


def toy_set(n: int = 200) -> SampleSet:
    rng = np.random.default_rng(0)
    return SampleSet.clean(rng.random((n, 1, 8, 8), dtype=np.float32) * 0.5, np.arange(n) % 10)


def test_poison_count_and_seeding() -> None:
    labels = np.arange(1000) % 10
    a = choose_poison_indices(labels, 0.1, target=3, seed=1)
    assert len(a) == 100 and len(set(a)) == 100
    assert not np.any(labels[a] == 3)  # target-class samples are never chosen
    np.testing.assert_array_equal(a, choose_poison_indices(labels, 0.1, 3, seed=1))
    assert not np.array_equal(a, choose_poison_indices(labels, 0.1, 3, seed=2))
    assert len(choose_poison_indices(labels, 0.0, 3, 1)) == 0
    assert len(choose_poison_indices(labels, 0.01, 3, 1)) == 10


def test_rate_too_high_for_the_non_target_samples() -> None:
    with pytest.raises(ConfigError, match="only 900 training samples are outside"):
        choose_poison_indices(np.arange(1000) % 10, 1.0, target=0, seed=0)


def test_poisoned_set_keeps_original_labels_and_flags() -> None:
    samples = toy_set()
    trigger = place_trigger(white_trigger(2), (1, 8, 8), "bottom-right")
    poisoned = poison_training_set(samples, trigger, target=0, rate=0.1, seed=0)
    flagged = poisoned.is_poison
    assert flagged.sum() == 20
    assert np.all(poisoned.y[flagged] == 0)
    np.testing.assert_array_equal(poisoned.original_y, samples.original_y)
    np.testing.assert_array_equal(poisoned.y[~flagged], samples.y[~flagged])
    assert np.all(poisoned.x[flagged][:, 0, 6:, 6:] == 1.0)
    np.testing.assert_array_equal(poisoned.x[~flagged], samples.x[~flagged])
    assert samples.x.max() <= 0.5  # the clean set is untouched


def test_triggered_test_set_holds_only_non_target_samples() -> None:
    samples = toy_set()
    trigger = place_trigger(white_trigger(2), (1, 8, 8), "top-left")
    triggered = triggered_test_set(samples, trigger, target=4)
    assert len(triggered) == 180
    assert not np.any(triggered.original_y == 4)
    assert np.all(triggered.y == 4) and triggered.is_poison.all()
    assert np.all(triggered.x[:, 0, :2, :2] == 1.0)


def test_asr_excludes_the_target_class_unless_asked() -> None:
    original = np.array([0, 0, 1, 2, 3])
    predictions = np.array([0, 0, 0, 5, 5])
    assert attack_success_rate(predictions, original, target=0) == pytest.approx(1 / 3)
    assert attack_success_rate(predictions, original, 0, include_target=True) == pytest.approx(
        3 / 5
    )


def test_eq10_per_sample_is_the_plain_mean_and_per_set_weighs_each_set_half() -> None:
    import torch
    import torch.nn.functional as F

    from snnstudio.core.training import poison_weighted_loss

    torch.manual_seed(0)
    logits, labels = torch.randn(64, 10), torch.randint(0, 10, (64,))
    is_poison = torch.zeros(64, dtype=torch.bool)
    is_poison[0] = True  # PR ~0.02: one poisoned sample in a batch of 64
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    plain = poison_weighted_loss(logits, labels, is_poison, 0.5, 0.5, "per_sample")
    assert plain.item() == pytest.approx(per_sample.mean().item())
    per_set = poison_weighted_loss(logits, labels, is_poison, 0.5, 0.5, "per_set")
    assert per_set.item() == pytest.approx(0.5 * per_sample[0] + 0.5 * per_sample[1:].mean())
    # lambda = 3 mu, per sample: the poisoned sample counts three times
    weighted = poison_weighted_loss(logits, labels, is_poison, 0.75, 0.25, "per_sample")
    expected = (3 * per_sample[0] + per_sample[1:].sum()) / 66
    assert weighted.item() == pytest.approx(expected.item())
