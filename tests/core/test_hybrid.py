"""LR_H: the STDB surrogate gradient by hand, STDB fine-tuning that does not diverge, and the
demo preset with rule.name = hybrid."""

from __future__ import annotations

import json
import math

import pytest
import torch
from spikingjelly.activation_based import functional

from snnstudio.cli import main
from snnstudio.core.checkpoint import load_checkpoint, network_from_checkpoint
from snnstudio.core.config import load_preset, with_overrides
from snnstudio.core.events import EpochDone
from snnstudio.core.models.neurons import FusedIFNode, is_spiking_layer
from snnstudio.core.rules.stdb import NEVER_SPIKED, STDBIFNode
from snnstudio.core.runner import run_experiment


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_stdb_gradient_decays_with_the_time_since_the_last_spike(step_mode) -> None:
    # theta = 0.5, inputs 0.6, 0.2, 0.6 (soft reset): v = 0.6 -> spike (no earlier spike,
    # dt = NEVER_SPIKED), v = 0.1 + 0.2 = 0.3 -> none (dt = 1), v = 0.9 -> spike (dt = 2).
    # d spike_t / d v_t = alpha * exp(-beta * dt) / theta; the reset is detached, so
    # d spike_t / d x_k = that for every k <= t.
    alpha, beta, theta = 0.3, 0.01, 0.5
    node = STDBIFNode(theta, alpha, beta, step_mode)
    x = torch.tensor([[0.6], [0.2], [0.6]], requires_grad=True)
    spikes = node(x) if step_mode == "m" else torch.stack([node(x_t) for x_t in x])
    assert spikes.flatten().tolist() == [1.0, 0.0, 1.0]
    spikes.sum().backward()
    g = [alpha * math.exp(-beta * dt) / theta for dt in (NEVER_SPIKED, 1.0, 2.0)]
    expected = [g[0] + g[1] + g[2], g[1] + g[2], g[2]]
    torch.testing.assert_close(x.grad.flatten(), torch.tensor(expected))
    functional.reset_net(node)
    assert node.since_spike == NEVER_SPIKED


def test_a_saturated_neuron_gets_no_stdb_gradient() -> None:
    # theta = 0.5, inputs 0.6, 1.5, -0.9 (soft reset): v = 0.6 -> spike (dt = NEVER_SPIKED),
    # v = 0.1 + 1.5 = 1.6 >= 2 * theta -> spike, saturated: no gradient; v = 1.1 - 0.9 = 0.2
    # -> none (dt = 1). Without the cut, step 2 would add alpha * exp(-beta) / theta.
    alpha, beta, theta = 0.3, 0.01, 0.5
    node = STDBIFNode(theta, alpha, beta, "m")
    x = torch.tensor([[0.6], [1.5], [-0.9]], requires_grad=True)
    spikes = node(x)
    assert spikes.flatten().tolist() == [1.0, 1.0, 0.0]
    spikes.sum().backward()
    g_never, g1 = (alpha * math.exp(-beta * dt) / theta for dt in (NEVER_SPIKED, 1.0))
    torch.testing.assert_close(x.grad.flatten(), torch.tensor([g_never + g1, g1, g1]))


def test_stdb_at_the_demo_learning_rate_does_not_diverge() -> None:
    # Without the saturation cut, Adam at the demo's lr drove the firing rates up until the
    # net saturated: on this tiny clean set the STDB loss went from about 0.7 to 1.9 and ACC
    # from about 0.7 to below 0.2 over these three epochs; with it, 0.37 -> 0.13, 0.95 -> 1.0.
    cfg = with_overrides(load_preset("demo"), [
        "rule.name=hybrid", "poison.rate=0", "train.clean_twin=false", "data.train_limit=240",
        "data.test_limit=40", "rule.ann_epochs=3", "train.epochs=3", "train.batch_size=16",
        "rule.scale=0.5", "rule.reference_samples=100", "sim.eval_timesteps=4",
        "rule.stdb_lr=0.002",
    ])  # fmt: skip
    assert cfg.train.lr == cfg.rule.stdb_lr == 0.002
    epochs = [
        e for e in run_experiment(cfg) if isinstance(e, EpochDone) and e.stage == "backdoored"
    ]
    assert len(epochs) == 3
    assert epochs[-1].loss < epochs[0].loss and epochs[-1].loss < 0.3
    assert epochs[-1].acc >= 0.85


def test_demo_preset_with_hybrid_finishes_and_reloads_as_plain_if(tmp_path) -> None:
    args = ["run", "--preset", "demo", "--set", "rule.name=hybrid", "--quiet"]
    tiny = ["data.train_limit=150", "data.test_limit=40", "train.epochs=1",
            "sim.eval_timesteps=6", "rule.reference_samples=64", "rule.combo=com3",
            "train.clean_twin=true"]  # fmt: skip
    for item in tiny:
        args += ["--set", item]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("acc", "asr", "ann_acc", "ann_asr", "mr", "converted_acc", "converted_mr"):
        assert key in metrics
    assert metrics["seconds"]["backdoored"]["snn_training"] > 0
    # the log says what each model trained on: the clean twin is Com1 whatever the combo
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "backdoored: com3: ANN on poisoned data" in log
    assert "clean reference samples, STDB on clean data" in log
    assert "clean-twin: com1 (clean twin): ANN on clean data" in log
    # scored at the trained T (the demo's sim.timesteps = 4); the curve runs on to T_max = 6
    assert metrics["eval_timesteps"] == 4
    curve = (tmp_path / "run" / "curve.csv").read_text().splitlines()
    assert len(curve) == 1 + 6 and curve[4].startswith("4,")
    ckpt = load_checkpoint(tmp_path / "run" / "model.pt")
    net = network_from_checkpoint(ckpt)
    layers = [m for m in net.modules() if is_spiking_layer(m)]
    assert all(type(m) is FusedIFNode and m.v_reset is None for m in layers)  # not STDB
    assert [m.v_threshold for m in layers] == ckpt.header["thresholds"]
