"""The three architectures, each built for an SNN or its ANN twin from the same layers.

Layers are spikingjelly's `layer.*` so the SNN runs in single- or multi-step mode; the
ANN twin has identical parameter names (ReLU in place of each spike layer), so its
state_dict loads into the SNN for conversion. A converted SNN (`Parts.converted`) differs
from the trained one only in parameter-free places: a max-pool after a spike layer pools
spike counts, and an identity shortcut carries the threshold gain (`conversion_layers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spikingjelly.activation_based import layer
from torch import nn

from snnstudio.core.models.conversion_layers import ScaledShortcut, SpikeCountMaxPool2d

Act = Callable[[], nn.Module]


@dataclass(frozen=True)
class Parts:
    """What the layer stacks are made of: the activation after each conv/FC layer (spike
    layer or ReLU), whether the net is a converted IF SNN, and its pools (model.pool)."""

    act: Act
    converted: bool = False
    bn_gain: float = 1.0  # initial batch-norm scale where an architecture asks for it (vgg11)
    pool: str = "spike_count"  # model.pool: spike_count | plain_max | avg

    def pool_after_act(self) -> nn.Module:
        """A 2x2 pool that reads an activation (a spike layer in the SNN): an average pool
        (`avg`), else a max-pool, of spike counts in a converted net (`spike_count`)."""
        if self.pool == "avg":
            return layer.AvgPool2d(2)
        if self.converted and self.pool == "spike_count":
            return SpikeCountMaxPool2d(2)
        return layer.MaxPool2d(2)

    def identity(self) -> nn.Module:
        return ScaledShortcut() if self.converted else nn.Identity()


def csnn(in_channels: int, side: int, num_classes: int, parts: Parts) -> nn.Sequential:
    """A small convolutional SNN that trains in seconds on a CPU: two conv-BN-spike blocks with
    max-pool, then FC-spike and the FC readout (spikingjelly's Fashion-MNIST recipe, smaller).
    """
    c1, c2, hidden = 16, 32, 128
    flat = c2 * (side // 4) ** 2
    act = parts.act
    return nn.Sequential(
        layer.Conv2d(in_channels, c1, 3, padding=1, bias=False),
        layer.BatchNorm2d(c1),
        act(),
        parts.pool_after_act(),
        layer.Conv2d(c1, c2, 3, padding=1, bias=False),
        layer.BatchNorm2d(c2),
        act(),
        parts.pool_after_act(),
        layer.Flatten(),
        layer.Linear(flat, hidden, bias=False),
        act(),
        layer.Linear(hidden, num_classes, bias=False),
    )


VGG11_PLAN = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def vgg11(
    in_channels: int,
    side: int,
    num_classes: int,
    parts: Parts,
    fc_width: int = 4096,
    dropout: float = 0.0,
) -> nn.Sequential:
    """Spike-based VGG11 (the paper's appendix): conv-BN-spike blocks with max-pool, then
    average pool and FC(`fc_width`)-BN-spike twice, then the FC readout.

    A max-pool that would shrink the map below 1x1 (small inputs such as MNIST) is skipped.

    Three changes to the paper's plain layer plan, so that LR_B (surrogate BPTT, LIF tau 2,
    threshold 1) learns at all. Measured at init on 64 of the 28x28 digits, T 4, training mode:

    - Batch norm after each hidden FC layer (as tdBN, Zheng et al. 2021, normalises every
      layer). Without it the 4096-wide FC layers' inputs (a few percent of 512 spikes times
      default-init weights, std ~0.2) never reach threshold: both FC spike layers and the
      readout were silent (rate 0.000, readout weight gradient exactly 0, first conv
      gradient 5e-5) and a 4-epoch run stayed at chance. With it: FC rates 0.035, first conv
      gradient 3e-2. Batch norm in the ANN twin stays in inference mode in the converted SNN
      after the Linear that threshold balancing rescales, so LR_C is unaffected.
    - Every batch norm's scale starts at `parts.bn_gain`, tdBN's threshold-dependent
      normalisation (pre-activations ~ N(0, (alpha V_th)^2)) written for spikingjelly's LIF,
      which integrates x / tau: gain tau * V_th (IF: V_th). Rates at init 0.04 -> 0.15-0.24;
      training loss after 4 epochs 2.14 -> 1.59.
    - No dropout by default (`dropout=0.5` gives the paper's head): dropout before a batch
      norm shifts its variance between training and inference (Li et al., CVPR 2019), and
      with 600 samples it halved the ACC reached (4 epochs, PR 0.1, seed 0: 0.145 with it,
      0.355 without; seed 1 without: 0.24). Dropout has no parameters, so both heads have
      the same state_dict.
    """
    act = parts.act
    layers: list[nn.Module] = []
    channels = in_channels
    for item in VGG11_PLAN:
        if item == "M":
            if side >= 2:
                layers.append(parts.pool_after_act())
                side //= 2
            continue
        layers += [
            layer.Conv2d(channels, int(item), 3, padding=1, bias=False),
            layer.BatchNorm2d(int(item)),
            act(),
        ]
        channels = int(item)
    layers += [layer.AdaptiveAvgPool2d((1, 1)), layer.Flatten()]
    for width in (channels, fc_width):
        layers += [
            layer.Linear(width, fc_width, bias=False),
            layer.BatchNorm1d(fc_width),
            act(),
        ]
        if dropout > 0:
            layers.append(layer.Dropout(dropout))
    layers.append(layer.Linear(fc_width, num_classes, bias=False))
    return initialised(nn.Sequential(*layers), parts.bn_gain)


def initialised(layers: nn.Sequential, bn_gain: float = 1.0) -> nn.Sequential:
    """torchvision's VGG/ResNet initialisation (spikingjelly's models keep it): convolutions
    He-normal over their fan-out, linear layers N(0, 0.01), batch-norm scales `bn_gain`.

    Batch norm makes a layer's output blind to its weights' scale, but not its learning:
    Adam moves every weight by about lr per step, so small weights turn faster. torch's
    default (uniform, std 1 / sqrt(3 fan_in): 0.0085 for VGG11's 512-channel convolutions)
    let Adam at the paper's lr 1e-3 change them by 12% a step; He-normal (0.021) by 5%.
    """
    for module in layers.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.01)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            nn.init.constant_(module.weight, bn_gain)
    return layers


class BasicBlock(nn.Module):
    """ResNet's two 3x3 conv-BN layers with a shortcut; a spike layer after each sum."""

    def __init__(self, in_channels: int, channels: int, stride: int, parts: Parts) -> None:
        super().__init__()
        self.conv1 = layer.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = layer.BatchNorm2d(channels)
        self.act1 = parts.act()
        self.conv2 = layer.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = layer.BatchNorm2d(channels)
        self.shortcut: nn.Module = parts.identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                layer.Conv2d(in_channels, channels, 1, stride, bias=False),
                layer.BatchNorm2d(channels),
            )
        self.act2 = parts.act()

    def forward(self, x):  # type: ignore[no-untyped-def]
        out = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet18(in_channels: int, side: int, num_classes: int, parts: Parts) -> nn.Sequential:
    """Spike-based ResNet18: conv-BN-spike, max-pool, 4 stages of 2 BasicBlocks, avg-pool, FC."""
    layers: list[nn.Module] = [
        layer.Conv2d(in_channels, 64, 3, 1, 1, bias=False),
        layer.BatchNorm2d(64),
        parts.act(),
        parts.pool_after_act(),
    ]
    channels = 64
    for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(channels, width, stride, parts), BasicBlock(width, width, 1, parts)]
        channels = width
    layers += [
        layer.AdaptiveAvgPool2d((1, 1)),
        layer.Flatten(),
        layer.Linear(channels, num_classes, bias=False),
    ]
    return initialised(nn.Sequential(*layers), parts.bn_gain)
