"""The two layers a converted SNN has where its ANN twin has a parameter-free one.

`SpikeCountMaxPool2d` replaces a max-pool that reads a spike layer: it emits a spike at t when
the largest spike count in its window grows, so after any t its output count is exactly the
largest input count, and its rate the largest input rate: the max-pool of the ANN's ReLU
outputs, as rate coding needs. A plain max-pool of spike trains is an OR of them and
over-counts: a window of four inputs firing at rate r out of phase fires at up to 4r.

Chosen by measurement (the digits demo, LR_C, CSNN, MaxNorm on the poisoned reference, ANN
ACC 0.919 / ASR 1.0; `benchmarks/conversion_migration.py --pool-study`):

    max-pool handling                       ACC@T=32  ASR@T=32  ACC@T=128  rate error of
                                                                           spike layer 2, T=128
    plain max-pool after the spike layer    0.883     0.735     0.869      +220% (OR over-counts)
    max-pool before the spike layer         0.878     1.000     0.769      +220% (max of noisy
                                                                           currents)
    gated by running spike count            0.886     0.812     0.881      +105%
      (Rueckauer et al. 2017)
    spike-count max-pool (this layer)       0.922     1.000     0.928      -12% (1/T, -3% at 512)

Pooling before the spike layer is exact only where the input current is constant (the first
layer under repeat coding); deeper, the max of fluctuating currents is biased upwards and the
SNN drifts away from the ANN as T grows. The count max-pool is exact in the limit and keeps
the architecture's order (spike layer, then pool) and binary spikes.

`ScaledShortcut` is a ResNet identity shortcut with a scalar gain: the identity is a reader
of the spike layer before the block like the block's first conv, so threshold balancing
multiplies it by that layer's threshold (Hu et al. 2018's residual normalisation in
threshold form). In the ANN twin the gain is 1 and the layer is a plain `nn.Identity`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import base
from torch import nn

from snnstudio.core.models import pool_kernels


class SpikeCountMaxPool2d(base.MemoryModule):
    """Max-pool of spike counts: out(t) = maxpool(N(t)) - maxpool(N(t - 1)), N the running
    count of input spikes. Binary in, binary out; state reset with the network."""

    def __init__(self, kernel_size: int, step_mode: str = "s") -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.step_mode = step_mode
        self.register_memory("count", 0.0)  # running input spike count
        self.register_memory("peak", 0.0)  # running output spike count

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if pool_kernels.applies(x, self.kernel_size):
            return self._compiled_sequence(x.unsqueeze(0))[0]
        self.count = self.count + x
        peak = F.max_pool2d(self.count, self.kernel_size)
        out = peak - self.peak
        self.peak = peak
        return out

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if pool_kernels.applies(x_seq, self.kernel_size):
            return self._compiled_sequence(x_seq)
        counts = self.count + x_seq.cumsum(0)
        peaks = F.max_pool2d(counts.flatten(0, 1), self.kernel_size).unflatten(0, x_seq.shape[:2])
        out = torch.diff(peaks, dim=0, prepend=(peaks[:1] * 0 + self.peak))
        self.count, self.peak = counts[-1], peaks[-1]
        return out

    def _compiled_sequence(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The same, in pool_kernels' compiled loop (inference on the CPU)."""
        out, self.count, self.peak = pool_kernels.count_max_pool_sequence(
            x_seq, self.count, self.peak
        )
        return out

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, step_mode={self.step_mode}"


class ScaledShortcut(nn.Module):
    """Identity times a scalar gain (a buffer, so checkpoints keep it)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weight", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight
