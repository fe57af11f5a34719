"""Turn a batch of samples into the spike-input sequence [T, N, C, H, W] a spiking model reads."""

from __future__ import annotations

import torch


def encode_batch(
    x: torch.Tensor, timesteps: int, encoder: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Encode a batch.

    Static images (N, C, H, W) are repeated over `timesteps` (the paper's x^{1:T}) or, with
    'poisson', turned into Bernoulli spikes with the pixel value as firing probability.
    Event frames (N, T, C, H, W) already carry time and are only moved to time-first.
    """
    if x.dim() == 5:
        return x.transpose(0, 1).contiguous()
    if encoder == "repeat":
        return x.unsqueeze(0).expand(timesteps, *x.shape)
    if encoder == "poisson":
        probs = x.unsqueeze(0).expand(timesteps, *x.shape)
        return torch.bernoulli(probs, generator=generator)
    raise ValueError(f"unknown encoder '{encoder}'")
