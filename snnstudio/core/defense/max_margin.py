"""Reference-free model-level tests: the maximum margin of the output per class.

Two tests share one search. For every class k, gradient ascent on the input looks for
the largest margin m_k = S_k(x) - max_{j != k} S_j(x) of a statistic S of the output
layer; a backdoor gives its target class a shortcut that a small input change drives far
above every other class, so the target's maximum margin is an outlier among the classes.

- `max-margin` (MM-BD, Wang et al., IEEE S&P 2024): S = the output voltage at the end of
  the run, the readout integrated over the T timesteps (statistic `final`).
- `tmpbd` (TMPBD, Temporal Membrane Potential Backdoor Detection, from "Unsupervised
  Backdoor Detection and Mitigation for Spiking Neural Networks", 2025, the detection made
  for SNNs; its public code monitors the last layer's `v_seq`): S = the *temporal
  membrane potential* of the last layer, V_t = sum_{s <= t} out_s of the integrating
  output neurons, averaged over t = 1..T (statistic `tmp-mean`, TMPBD's default `v_avg`;
  `tmp-max` is its `v_max`). Early timesteps weigh more than in the final voltage, so a
  trigger that takes over the output from the first steps stands out. TMPBD's models end
  in a spiking voting layer pooled per class; ours end in an integrating readout, whose
  potential is already one value per class. Its code steps raw event counts with SGD; here
  inputs live in [0, 1] through a sigmoid and Adam steps them, as for MM-BD, so the two
  tests differ only in S.

The outlier test is MM-BD's (and TMPBD's): fit a Gamma null (scipy) to the K - 1 other
classes' statistics and take the order-statistic p-value of the largest,
1 - F(m_max)^(K-1); the model is flagged when it is below `alpha` (0.05) and the class is
named. The median absolute deviation index (m_k - median) / (1.4826 * MAD) is reported
beside it. Written here rather than taken from a library: no maintained package
implements either test.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.defense.settings import MARGIN_STATISTICS, MaxMarginSettings
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import BatchDone, CancelToken, Event, StageStarted, check_cancel
from snnstudio.core.models.network import SpikingNetwork

MAD_TO_STD = 1.4826  # MAD of a normal distribution times this is its standard deviation
DEFAULT_ALPHA = MaxMarginSettings.alpha
# Which reference-free test reads which statistic of the output's membrane potential.
TESTS = {"max-margin": "final", "tmpbd": "tmp-mean"}


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


def output_statistic(readout: torch.Tensor, statistic: str) -> torch.Tensor:
    """[T, N, K] readout per timestep -> [N, K]: the output membrane potential's statistic."""
    if statistic == "final":
        return readout.sum(0)
    potential = readout.cumsum(0)  # V_t of integrating (non-leaky, non-firing) output neurons
    if statistic == "tmp-mean":
        return potential.mean(0)
    if statistic == "tmp-max":
        return potential.amax(0)
    raise ConfigError(f"statistic '{statistic}' is not one of: {', '.join(MARGIN_STATISTICS)}")


def max_margins(
    net: SpikingNetwork,
    sample_shape: tuple[int, ...],
    num_classes: int,
    timesteps: int,
    device: torch.device,
    settings: MaxMarginSettings,
    cancel: CancelToken | None = None,
    stage: str = "max-margin",
    statistic: str = "final",
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
            value = output_statistic(net(encode_batch(x, timesteps, "repeat")), statistic)
            own = value.gather(1, classes[:, None]).squeeze(1)
            others = value.masked_fill(
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
