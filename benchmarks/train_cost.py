"""Training cost of the spiking CSNN against its ANN twin, measured in the same run.

For T in (4, 8, 16) and each spikingjelly step mode (single-step loop, multi-step layers) it
times full training steps (forward, Eq. 10 loss, backward, Adam) of the SNN on batches of
B samples x T timesteps, and of the ANN twin on batches of B x T images, and prints

    ratio = cost(SNN, T) / (T x cost(ANN))     (cost = seconds per training sample)

so 1.0 means a spiking timestep costs no more than one ANN image. How `train.step_mode = auto`
is chosen: snnstudio/core/runner.py, resolve_step_mode.

    python benchmarks/train_cost.py [--device cpu|cuda] [--batch 64] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from snnstudio.core.attack.encoding import encode_batch
from snnstudio.core.config import ModelConfig
from snnstudio.core.models.registry import build_network
from snnstudio.core.training import poison_weighted_loss


def seconds_per_step(
    net, x: torch.Tensor, y: torch.Tensor, timesteps: int, steps: int, repeats: int
) -> float:
    """The fastest of `repeats` blocks of `steps` training steps, per step: the minimum is the
    figure least disturbed by other work on a shared machine."""
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    flags = torch.zeros(len(y), dtype=torch.bool, device=y.device)
    flags[: len(y) // 10] = True

    def step() -> None:
        seq = encode_batch(x, timesteps, "repeat") if net.spiking else x.unsqueeze(0)
        loss = poison_weighted_loss(net.classify(seq), y, flags, 0.5, 0.5, "per_sample")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):  # warm-up: allocator, kernels, autotuning
        step()
    blocks = []
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            step()
        if x.is_cuda:
            torch.cuda.synchronize()
        blocks.append((time.perf_counter() - started) / steps)
    return min(blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timesteps", type=int, nargs="+", default=[4, 8, 16])
    args = parser.parse_args()
    device = torch.device(args.device)
    cfg = ModelConfig(arch="csnn")
    shape = (1, 28, 28)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, batch {args.batch}, "
        f"load average {load:.2f}"
    )
    print(f"{'T':>3} {'mode':>6} {'SNN ms/sample':>14} {'ANN ms/image':>13} {'ratio':>6}")
    best: dict[int, tuple[str, float]] = {}
    for timesteps in args.timesteps:
        torch.manual_seed(0)
        x = torch.rand(args.batch, *shape, device=device)
        y = torch.randint(0, 10, (args.batch,), device=device)
        ann = build_network(cfg, shape, 10, spiking=False).to(device)
        x_ann = torch.rand(args.batch * timesteps, *shape, device=device)
        y_ann = torch.randint(0, 10, (args.batch * timesteps,), device=device)
        ann_cost = seconds_per_step(ann, x_ann, y_ann, 1, args.steps, args.repeats) / len(y_ann)
        for mode in ("s", "m"):
            snn = build_network(cfg, shape, 10, spiking=True, step_mode=mode).to(device)
            snn_cost = seconds_per_step(snn, x, y, timesteps, args.steps, args.repeats) / args.batch
            ratio = snn_cost / (timesteps * ann_cost)
            name = {"s": "single", "m": "multi"}[mode]
            snn_ms, ann_ms = snn_cost * 1e3, ann_cost * 1e3
            print(f"{timesteps:>3} {name:>6} {snn_ms:>14.3f} {ann_ms:>13.4f} {ratio:>6.2f}")
            if timesteps not in best or ratio < best[timesteps][1]:
                best[timesteps] = (name, ratio)
    for timesteps, (name, ratio) in best.items():
        print(f"T={timesteps}: faster step mode on {device.type} is {name} (ratio {ratio:.2f})")


if __name__ == "__main__":
    main()
