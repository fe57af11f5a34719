"""The embedded default dataset: scikit-learn's handwritten digits, shaped like MNIST.

The 1797 real 8x8 scans ship inside scikit-learn, so a run needs no files. They are
upsampled bilinearly to 28x28 (MNIST's size) so that the same models, trigger sizes
(2x2, about 10% of the side) and presets serve both datasets.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from snnstudio.core.data.base import DatasetSplits, SampleSet

DIGITS_SIDE = 28
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0  # fixed: the test set is part of the dataset, not of the experiment


def load_digits_dataset(side: int = DIGITS_SIDE) -> DatasetSplits:
    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0  # pixel values are 0..16
    upsampled = F.interpolate(
        torch.from_numpy(images)[:, None], size=(side, side), mode="bilinear", align_corners=False
    ).clamp_(0.0, 1.0)
    x = upsampled.numpy()
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=DIGITS_SPLIT_SEED
    )
    return DatasetSplits(
        name="digits",
        train=SampleSet.clean(x_train, y_train),
        test=SampleSet.clean(x_test, y_test),
        classes=[str(d) for d in range(10)],
    )
