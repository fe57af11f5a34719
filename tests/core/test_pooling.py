"""model.pool: how a converted net pools (spike counts, plain max over spikes, average)."""

from __future__ import annotations

import json

import pytest
import torch
from spikingjelly.activation_based import layer

from snnstudio.core import config as config_io
from snnstudio.core.checkpoint import load_checkpoint, network_from_checkpoint
from snnstudio.core.config import ModelConfig
from snnstudio.core.errors import ConfigError
from snnstudio.core.models.conversion_layers import SpikeCountMaxPool2d
from snnstudio.core.models.registry import build_ann_twin, build_network
from snnstudio.core.runner import prepare_data, run_experiment
from snnstudio.core.training import evaluate
from snnstudio.core.validation import validate

CONVERTED = {"neuron": "if", "reset": "soft", "converted": True}
SMALL = [
    "rule.name=conversion", "data.train_limit=600", "data.test_limit=100", "rule.ann_epochs=3",
    "rule.ann_optimizer=adam", "rule.ann_lr=0.001",
    "sim.eval_timesteps=8", "rule.reference_samples=100", "train.clean_twin=false",
]  # fmt: skip


def pools_of(net: torch.nn.Module) -> list[type]:
    kinds = (SpikeCountMaxPool2d, layer.MaxPool2d, layer.AvgPool2d)
    return [type(m) for m in net.modules() if isinstance(m, kinds)]


@pytest.mark.parametrize(
    ("pool", "kind"),
    [("spike_count", SpikeCountMaxPool2d), ("plain_max", layer.MaxPool2d),
     ("avg", layer.AvgPool2d)],
)  # fmt: skip
def test_each_pool_gives_its_layer_in_the_converted_net(pool: str, kind: type) -> None:
    snn = build_network(ModelConfig(pool=pool, **CONVERTED), (1, 16, 16), 10)
    assert pools_of(snn) == [kind, kind]
    twin = build_ann_twin(ModelConfig(pool=pool), (1, 16, 16), 10)
    assert pools_of(twin) == [layer.AvgPool2d if pool == "avg" else layer.MaxPool2d] * 2


def test_plain_max_over_spikes_differs_from_the_spike_count_pool() -> None:
    """The same weights, the same spikes: the OR of out-of-phase trains fires more often
    than the busiest input of its window."""
    torch.manual_seed(0)
    count, plain = (
        build_network(ModelConfig(pool=p, **CONVERTED), (1, 16, 16), 10, step_mode="m")
        for p in ("spike_count", "plain_max")
    )
    plain.load_state_dict(count.state_dict())
    spikes = (torch.rand(16, 4, 16, 2, 2) < 0.3).float()
    counted = count.layers[3](spikes)
    pooled = plain.layers[3](spikes)
    assert pooled.sum() > counted.sum()
    for out in (pooled, counted):
        assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_avg_pool_ann_twin_learns() -> None:
    cfg = config_io.with_overrides(config_io.load_preset("demo"), ["data.train_limit=200"])
    data = prepare_data(cfg)
    torch.manual_seed(0)
    twin = build_ann_twin(ModelConfig(pool="avg"), data.splits.image_shape, 10)
    x = torch.as_tensor(data.poisoned_train.x[:200])
    y = torch.as_tensor(data.poisoned_train.y[:200])
    optimizer = torch.optim.Adam(twin.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(twin(x.unsqueeze(0)).mean(0), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


@pytest.mark.parametrize("pool", ["spike_count", "plain_max", "avg"])
def test_each_pool_converts_classifies_and_rebuilds_from_its_checkpoint(tmp_path, pool) -> None:
    cfg = config_io.with_overrides(config_io.load_preset("demo"), [*SMALL, f"model.pool={pool}"])
    list(run_experiment(cfg, tmp_path))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    # ten classes: chance is 0.1 (plain_max over-counts and is slow to settle: 0.45 at T = 8)
    assert metrics["acc"] > 0.3
    ckpt = load_checkpoint(tmp_path / "model.pt")
    assert ckpt.config.model.pool == pool
    net = network_from_checkpoint(ckpt)
    assert len(set(pools_of(net))) == 1
    scores = evaluate(net, prepare_data(cfg).sets, 8, "repeat", torch.device("cpu"))
    assert (scores["acc"], scores["asr"]) == (metrics["acc"], metrics["asr"])


def test_an_unknown_pool_is_one_clear_error() -> None:
    cfg = config_io.with_overrides(config_io.ExperimentConfig(), ["model.pool=mean"])
    with pytest.raises(ConfigError, match=r"model\.pool = 'mean' is not one of: spike_count"):
        validate(cfg)
