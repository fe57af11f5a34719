"""How visible a trigger is: MSE and SSIM between clean samples and their poisoned copies.

Sneaky Spikes reports both beside ASR. SSIM is written here (scikit-image is not a
dependency, and the formula is a dozen lines): Wang et al. 2004 with scikit-image's defaults,
a 7x7 uniform window, K1 = 0.01, K2 = 0.03, data range 1 (event frames and images are in
[0, 1]), sample covariances, averaged over the valid window positions of every 2-D plane
(each frame's each channel) and then over all samples. Identical inputs give SSIM 1, MSE 0.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from snnstudio.core.data.base import SampleSet

SSIM_WINDOW = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03
DATA_RANGE = 1.0
CHUNK_SAMPLES = 256  # samples per SSIM chunk (keeps 128x128 event sets small in memory)


def ssim_planes(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of each plane pair, inputs (M, H, W); returns (M,)."""
    win = min(SSIM_WINDOW, a.shape[-1], a.shape[-2])
    win -= 1 - win % 2  # odd
    x, y = a[:, None].double(), b[:, None].double()

    def mean(z: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(z, win, stride=1)

    n = win * win
    cov_norm = n / (n - 1) if n > 1 else 1.0
    mx, my = mean(x), mean(y)
    vx = cov_norm * (mean(x * x) - mx * mx)
    vy = cov_norm * (mean(y * y) - my * my)
    vxy = cov_norm * (mean(x * y) - mx * my)
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


def mse_and_ssim(clean: np.ndarray, poisoned: np.ndarray) -> tuple[float, float]:
    """Mean squared error and mean SSIM between two arrays of samples of the same shape,
    (N, C, H, W) images or (N, T, C, H, W) event frames."""
    if clean.shape != poisoned.shape:
        raise ValueError(f"shapes differ: {clean.shape} and {poisoned.shape}")
    if not len(clean):
        return float("nan"), float("nan")
    mse = float(np.mean((clean.astype(np.float64) - poisoned.astype(np.float64)) ** 2))
    scores = []
    for start in range(0, len(clean), CHUNK_SAMPLES):
        a = torch.from_numpy(np.ascontiguousarray(clean[start : start + CHUNK_SAMPLES]))
        b = torch.from_numpy(np.ascontiguousarray(poisoned[start : start + CHUNK_SAMPLES]))
        height, width = a.shape[-2:]
        scores.append(ssim_planes(a.reshape(-1, height, width), b.reshape(-1, height, width)))
    return mse, float(torch.cat(scores).mean())


def stealth_metrics(test: SampleSet, triggered_test: SampleSet, target: int) -> dict[str, float]:
    """`mse` and `ssim` of the triggered test set against the same samples clean (the test
    samples outside the target class, in order, as `triggered_test_set` makes them)."""
    clean = test.x[test.original_y != target]
    mse, ssim = mse_and_ssim(clean, triggered_test.x)
    return {"mse": mse, "ssim": ssim}
