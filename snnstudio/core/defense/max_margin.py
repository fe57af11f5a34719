"""Reference-free model-level test: the maximum margin of the output voltage per class.

The idea of MM-BD (Wang et al., IEEE S&P 2024), carried to SNNs as TMPBD does with the
membrane potential of the output layer: for every class k, search the input space for the
largest margin V_k(x) - max_{j != k} V_j(x) of the cumulative output voltage V (the
readout summed over the T timesteps). A backdoor gives its target class a shortcut that
a small input change can drive far above every other class, so the target's maximum
margin is an outlier among the classes.

The outlier test is MM-BD's: fit a Gamma null (scipy) to the K - 1 other classes'
statistics and take the order-statistic p-value of the largest, 1 - F(m_max)^(K-1); the
model is flagged when it is below `alpha` (0.05) and the class is named. The median
absolute deviation index (m_k - median) / (1.4826 * MAD) is reported beside it.
Written here rather than taken from a library: no maintained package implements it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.events import BatchDone, CancelToken, Event, StageStarted, check_cancel
from snnstudio.core.models.network import SpikingNetwork

MAD_TO_STD = 1.4826  # MAD of a normal distribution times this is its standard deviation
DEFAULT_ALPHA = 0.05


@dataclass
class MaxMarginSettings:
    starts: int = 8  # random starting inputs per class
    steps: int = 150  # gradient ascent steps
    lr: float = 0.1  # Adam step on the input's logit parametrisation
    alpha: float = DEFAULT_ALPHA  # flag when the p-value of the largest margin is below
    seed: int = 0


@dataclass
class MaxMarginResult:
    margins: np.ndarray  # [K]: the largest margin found per class
    anomaly_index: np.ndarray  # [K]: (m_k - median) / (1.4826 * MAD)
    p_value: float  # of the largest margin under the null fitted to the others
    flagged: bool
    suspect_class: int  # the class with the largest margin
    alpha: float

    def to_dict(self) -> dict[str, object]:
        return {
            "margins": [float(m) for m in self.margins],
            "anomaly_index": [float(a) for a in self.anomaly_index],
            "p_value": self.p_value,
            "flagged": self.flagged,
            "suspect_class": self.suspect_class,
            "max_anomaly_index": float(self.anomaly_index[self.suspect_class]),
            "alpha": self.alpha,
        }


def null_p_value(margins: np.ndarray) -> float:
    """MM-BD's p-value of the largest statistic: a Gamma null (location 0) fitted to the
    others, or a normal null when some are not positive; order statistic of K - 1 draws."""
    top = int(np.argmax(margins))
    rest = np.delete(margins, top)
    if len(rest) < 2 or np.ptp(rest) == 0:
        return 1.0 if margins[top] <= rest.max(initial=-np.inf) else 0.0
    if rest.min() > 0:
        shape, loc, scale = stats.gamma.fit(rest, floc=0)
        cdf = float(stats.gamma.cdf(margins[top], shape, loc, scale))
    else:
        cdf = float(stats.norm.cdf(margins[top], rest.mean(), rest.std(ddof=1)))
    return float(1.0 - cdf ** len(rest))


def max_margin_test(margins: np.ndarray, alpha: float = DEFAULT_ALPHA) -> MaxMarginResult:
    """Is the largest per-class margin an outlier? p-value verdict plus the MAD index."""
    median = float(np.median(margins))
    mad = MAD_TO_STD * float(np.median(np.abs(margins - median)))
    index = (margins - median) / max(mad, 1e-12)
    suspect = int(np.argmax(margins))
    p_value = null_p_value(margins)
    return MaxMarginResult(margins, index, p_value, p_value < alpha, suspect, alpha)


def max_margins(
    net: SpikingNetwork,
    sample_shape: tuple[int, ...],
    num_classes: int,
    timesteps: int,
    device: torch.device,
    settings: MaxMarginSettings,
    cancel: CancelToken | None = None,
    stage: str = "max-margin",
) -> Generator[Event, None, np.ndarray]:
    """Gradient ascent on the margin of every class at once; returns the best margin per class.

    Inputs live in [0, 1] through a sigmoid; static images are repeated over T (the
    analogue of any encoder), event frames [T, C, H, W] are optimised frame by frame.
    Only the inputs receive gradients; the network's weights are untouched.
    """
    generator = torch.Generator().manual_seed(settings.seed)
    shape = (num_classes * settings.starts, *sample_shape)
    logits = torch.randn(shape, generator=generator).mul_(2.0).to(device).requires_grad_(True)
    classes = torch.arange(num_classes, device=device).repeat_interleave(settings.starts)
    optimizer = torch.optim.Adam([logits], lr=settings.lr)
    was_training = net.training
    net.eval()
    best = torch.full((num_classes,), -float("inf"))
    yield StageStarted(stage, settings.steps)
    try:
        for step in range(1, settings.steps + 1):
            check_cancel(cancel)
            x = torch.sigmoid(logits)
            voltage = net(encode_batch(x, timesteps, "repeat")).sum(0)  # [B, K]
            own = voltage.gather(1, classes[:, None]).squeeze(1)
            others = voltage.masked_fill(
                torch.nn.functional.one_hot(classes, num_classes).bool(), -float("inf")
            ).amax(1)
            margin = own - others
            per_class = margin.detach().cpu().view(num_classes, settings.starts).amax(1)
            best = torch.maximum(best, per_class)
            (grad,) = torch.autograd.grad(-margin.sum(), logits)
            logits.grad = grad
            optimizer.step()
            yield BatchDone(stage, 1, step, settings.steps, float(-margin.detach().mean()), 0.0)
    finally:
        net.train(was_training)
    return best.numpy().astype(np.float64)
