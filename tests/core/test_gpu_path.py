"""The GPU path's options, exercised on the CPU: bf16 autocast, pinned copies, compile."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from snnstudio.core import config as config_io
from snnstudio.core.batches import pins_memory, to_device
from snnstudio.core.config import ModelConfig
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import BatchDone, EpochDone
from snnstudio.core.models.neurons import FusedCpuStep
from snnstudio.core.models.registry import build_network
from snnstudio.core.runner import prepare_data
from snnstudio.core.training import TrainSettings, autocast, train_epochs, training_forward
from snnstudio.core.validation import validate


def test_batches_are_pinned_only_for_a_gpu() -> None:
    assert pins_memory(torch.device("cuda")) and not pins_memory(torch.device("cpu"))
    array = np.arange(6, dtype=np.float32)
    tensor = to_device(array, torch.device("cpu"))
    array[0] = 42.0
    assert tensor[0] == 42.0  # on the CPU a view: no copy, no pinning


def test_bf16_autocast_trains_on_the_cpu() -> None:
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"), ["data.train_limit=64", "data.test_limit=32"]
    )
    data = prepare_data(cfg)
    torch.manual_seed(0)
    net = build_network(ModelConfig(), data.splits.image_shape, 10, True, "m")
    x = torch.from_numpy(data.poisoned_train.x[:4]).unsqueeze(0).expand(2, 4, 1, 28, 28)
    with autocast(torch.device("cpu"), "bf16"):
        assert net.classify(x).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert net.classify(x).dtype == torch.float32
    settings = TrainSettings(1, 1e-3, 32, 2, "repeat", 0.5, 0.5, 0, precision="bf16")
    events = list(
        train_epochs(net, data.poisoned_train, data.sets, settings, torch.device("cpu"), "t", None)
    )
    kinds = [type(e) for e in events if isinstance(e, BatchDone | EpochDone)]
    assert kinds == [BatchDone, BatchDone, EpochDone]
    assert all(math.isfinite(e.loss) for e in events if isinstance(e, BatchDone))
    assert all(p.dtype == torch.float32 for p in net.parameters())


def test_compile_option_hands_torch_compile_spikingjelly_neurons() -> None:
    net = build_network(ModelConfig(), (1, 12, 12), 4, True, "m")
    plain = TrainSettings(1, 1e-3, 8, 2, "repeat", 0.5, 0.5, 0)
    assert training_forward(net, plain) == net.classify
    compiled = training_forward(
        net, TrainSettings(1, 1e-3, 8, 2, "repeat", 0.5, 0.5, 0, compile=True)
    )
    assert compiled != net.classify and callable(compiled)  # compiles lazily, on first call
    assert not any(m.fused for m in net.modules() if isinstance(m, FusedCpuStep))


def test_unknown_precision_is_refused() -> None:
    cfg = config_io.with_overrides(config_io.load_preset("demo"), ["train.precision=fp8"])
    with pytest.raises(ConfigError, match=r"train\.precision"):
        validate(cfg)
