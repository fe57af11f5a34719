from __future__ import annotations

import os

import pytest
import torch

from snnstudio.core.checkpoint import load_checkpoint, network_from_checkpoint, save_checkpoint
from snnstudio.core.config import ExperimentConfig
from snnstudio.core.errors import CheckpointError
from snnstudio.core.models.registry import build_network


def test_round_trip_rebuilds_the_same_network(tmp_path) -> None:
    cfg = ExperimentConfig()
    torch.manual_seed(0)
    net = build_network(cfg.model, (1, 28, 28), 10)
    save_checkpoint(tmp_path / "m.pt", net, cfg, (1, 28, 28), [str(i) for i in range(10)])
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt.header["arch"] == "csnn" and ckpt.config == cfg
    again = network_from_checkpoint(ckpt)
    x = torch.rand(4, 2, 1, 28, 28)
    net.eval()
    again.eval()
    torch.testing.assert_close(net(x), again(x))


class Payload:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo pwned > /dev/null",))


def test_a_checkpoint_cannot_run_code(tmp_path) -> None:
    torch.save({"header": {"format": "x"}, "evil": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"refused to load \(it asks to run posix.system\)"):
        load_checkpoint(tmp_path / "evil.pt")


def test_corrupt_foreign_and_mismatched_checkpoints(tmp_path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"garbage")
    with pytest.raises(
        CheckpointError, match=r"junk.pt: not a checkpoint \(not a torch.save zip archive\)"
    ):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an snnstudio checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    cfg = ExperimentConfig()
    net = build_network(cfg.model, (1, 28, 28), 10)
    save_checkpoint(tmp_path / "m.pt", net, cfg, (1, 28, 28), [str(i) for i in range(10)])
    ckpt = load_checkpoint(tmp_path / "m.pt")
    ckpt.header["config"]["model"]["arch"] = "vgg11"
    with pytest.raises(CheckpointError, match="do not fit a vgg11 network"):
        network_from_checkpoint(ckpt)
