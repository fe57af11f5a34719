"""snnstudio's LR_B training stage against spikingjelly's documented plain loop, same everything.

Users who don't use snnstudio train a poisoned SNN with spikingjelly's recipe, as the Sneaky
Spikes code does: multi-step mode, `model(x_seq).mean(0)`, `functional.reset_net` after every
batch, a DataLoader, and after every epoch an evaluation pass. Both sides here get the same
poisoned training set and test sets (the demo's digits, or MNIST with --data mnist), the same
CSNN (LIF, tau 2, sigmoid surrogate), batch, T, epochs, Adam and thread count. Each side runs
in its own fresh process (the plain loop's process never imports snnstudio before torch, so
it gets none of snnstudio's process settings), the two alternated --rounds times per T;
medians. Data loading is outside the timed stage on both sides.

- snnstudio: `training.train_epochs` for --epochs epochs, as LR_B runs it: the product's
  default step mode, neurons and layout, after each epoch the batch-norm recalibration
  (`train.bn_recalibration`, 1024 samples by default) and its own evaluation of the clean
  and triggered test sets (`metrics.predict`, batch from T x N);
- plain loop: spikingjelly's LIFNode, multi-step, DataLoader, `net(x_seq).mean(0)`,
  cross-entropy, `reset_net` after every batch; after each epoch the same two test sets
  evaluated at --eval-batch.

`stage` is the seconds of the whole stage, training and every epoch's evaluation; its ratio
is plain loop / snnstudio seconds, a speed-up (target >= 1.3). Beside it, as samples/s with
ratios snnstudio / plain loop: training after the first --warmup batches (steady state) and
the end-of-epoch passes (evaluation, with snnstudio's recalibration) per test sample.

    python benchmarks/peer_loop.py [--timesteps 4 16] [--threads 1] [--rounds 3] [--epochs 3]
    python benchmarks/peer_loop.py --data mnist --root ../shared/data/mnist --samples 2048 \
        --test-samples 512 --timesteps 4 --threads 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIDES = ("snnstudio", "plain")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min)"


# ---------------------------------------------------------------- data (parent process)


def write_data(path: Path, args: argparse.Namespace, seed: int = 0) -> str:
    """The poisoned training set and the test sets, as one .npz both sides read."""
    import numpy as np

    from snnstudio.core import config as config_io
    from snnstudio.core.runner import prepare_data

    cfg = config_io.load_preset("demo")
    cfg.data.name, cfg.data.root, cfg.train.seed = args.data, args.root, seed
    cfg.data.train_limit, cfg.data.test_limit = args.samples, args.test_samples
    prepared = prepare_data(cfg)
    train, test, triggered = (
        prepared.poisoned_train,
        prepared.sets.test,
        prepared.sets.triggered_test,
    )
    np.savez(
        path, train_x=train.x, train_y=train.y, train_poison=train.is_poison,
        train_original=train.original_y, test_x=test.x, test_y=test.y,
        trig_x=triggered.x, trig_y=triggered.y, trig_original=triggered.original_y,
        target=np.int64(prepared.sets.target), classes=np.int64(prepared.splits.num_classes),
    )  # fmt: skip
    return f"{args.data}: {len(train)} training samples ({int(train.is_poison.sum())} " \
        f"poisoned), {len(test)} + {len(triggered)} test samples"  # fmt: skip


# ---------------------------------------------------------------- the two sides (workers)


def run_snnstudio(data: dict, timesteps: int, batch: int, epochs: int, warmup: int) -> dict:
    from snnstudio.core.threads import apply_thread_policy

    apply_thread_policy()  # SNNSTUDIO_THREADS from the parent: the same count as the peer
    import torch

    from snnstudio.core.batches import batch_bounds
    from snnstudio.core.config import ModelConfig, TrainConfig
    from snnstudio.core.data.base import SampleSet
    from snnstudio.core.events import BatchDone
    from snnstudio.core.models.registry import build_network
    from snnstudio.core.runner import resolve_step_mode
    from snnstudio.core.training import EvalSets, TrainSettings, train_epochs

    def samples(prefix: str) -> SampleSet:
        poison = data.get(f"{prefix}_poison")
        original = data.get(f"{prefix}_original", data[f"{prefix}_y"])
        flags = poison if poison is not None else original != data[f"{prefix}_y"]
        return SampleSet(data[f"{prefix}_x"], data[f"{prefix}_y"], original, flags)

    device = torch.device("cpu")
    torch.manual_seed(0)
    shape = tuple(data["train_x"].shape[1:])
    net = build_network(
        ModelConfig(), shape, int(data["classes"]), True, resolve_step_mode("auto", device)
    )
    sets = EvalSets(samples("test"), samples("trig"), int(data["target"]))
    settings = TrainSettings(
        epochs, 1e-3, batch, timesteps, "repeat", 0.5, 0.5, seed=0,
        bn_samples=TrainConfig().bn_recalibration,
    )  # fmt: skip
    train, batches, evaluations = samples("train"), [], []
    stamps = [time.perf_counter()]
    for event in train_epochs(net, train, sets, settings, device, "bench", None):
        stamps.append(time.perf_counter())
        # a BatchDone closes a training step; an EpochDone the epoch's recalibration and
        # evaluation, which came before it
        (batches if isinstance(event, BatchDone) else evaluations).append(stamps[-1] - stamps[-2])
    sizes = [stop - start for start, stop in batch_bounds(len(train), batch, True)] * epochs
    return timings(stamps, batches, sizes, evaluations, warmup) | {
        "eval_samples": epochs * (len(sets.test) + len(sets.triggered_test)),
        "step_mode": net.step_mode,
    }


def run_plain(
    data: dict, timesteps: int, batch: int, epochs: int, warmup: int, eval_batch: int
) -> dict:
    import torch  # before anything of snnstudio: this process is a plain spikingjelly user's
    import torch.nn.functional as F
    from spikingjelly.activation_based import functional, neuron, surrogate
    from torch.utils.data import DataLoader, TensorDataset

    from snnstudio.core.models.architectures import Parts, csnn

    torch.set_num_threads(int(os.environ["SNNSTUDIO_THREADS"]))
    torch.manual_seed(0)
    shape = data["train_x"].shape[1:]

    def lif() -> neuron.LIFNode:
        return neuron.LIFNode(tau=2.0, surrogate_function=surrogate.Sigmoid(alpha=4.0))

    net = csnn(shape[0], min(shape[1:]), int(data["classes"]), Parts(lif))
    functional.set_step_mode(net, "m")
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    train = TensorDataset(torch.from_numpy(data["train_x"]), torch.from_numpy(data["train_y"]))
    tests = [TensorDataset(torch.from_numpy(data[key])) for key in ("test_x", "trig_x")]
    batches, sizes, evaluations = [], [], []
    stamps = [time.perf_counter()]
    for _ in range(epochs):
        net.train()
        for x, y in DataLoader(train, batch_size=batch, shuffle=True):
            optimizer.zero_grad()
            x_seq = x.unsqueeze(0).repeat(timesteps, 1, 1, 1, 1)
            loss = F.cross_entropy(net(x_seq).mean(0), y)
            loss.backward()
            optimizer.step()
            functional.reset_net(net)
            stamps.append(time.perf_counter())
            batches.append(stamps[-1] - stamps[-2])
            sizes.append(len(x))
        net.eval()
        with torch.no_grad():
            for test in tests:
                for (x,) in DataLoader(test, eval_batch):
                    net(x.unsqueeze(0).repeat(timesteps, 1, 1, 1, 1)).mean(0).argmax(1)
                    functional.reset_net(net)
        stamps.append(time.perf_counter())
        evaluations.append(stamps[-1] - stamps[-2])
    return timings(stamps, batches, sizes, evaluations, warmup) | {
        "eval_samples": epochs * sum(len(test) for test in tests),
        "step_mode": "m",
    }


def timings(
    stamps: list[float],
    batches: list[float],
    sizes: list[int],
    evaluations: list[float],
    warmup: int,
) -> dict:
    """The stage's seconds; samples/s of its training steps after the first `warmup` (steady
    state; `batches` their seconds, `sizes` their samples) and of its end-of-epoch passes."""
    return {
        "stage": stamps[-1] - stamps[0],
        "steady": sum(sizes[warmup:]) / sum(batches[warmup:]),
        "eval_seconds": sum(evaluations),
    }


def worker(args: argparse.Namespace) -> None:
    import numpy as np

    data = dict(np.load(args.data_file))
    if args.worker == "snnstudio":
        result = run_snnstudio(data, args.t, args.batch, args.epochs, args.warmup)
    else:
        result = run_plain(data, args.t, args.batch, args.epochs, args.warmup, args.eval_batch)
    print(json.dumps(result))


# ---------------------------------------------------------------- parent


def measure(args: argparse.Namespace, side: str, timesteps: int, data_file: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), SNNSTUDIO_THREADS=str(args.threads))
    env.pop("OMP_NUM_THREADS", None)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", side, "--data-file",
        str(data_file), "--t", str(timesteps), "--batch", str(args.batch), "--warmup",
        str(args.warmup), "--eval-batch", str(args.eval_batch), "--epochs", str(args.epochs),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{side} worker failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result | {"eval": result["eval_samples"] / result["eval_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--eval-batch", type=int, default=256, help="the plain loop's")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3, help="batches left out of 'steady'")
    parser.add_argument("--data", default="digits", help="digits (embedded) or mnist")
    parser.add_argument("--root", default="", help="data.root for --data mnist")
    parser.add_argument("--samples", type=int, default=2048, help="training samples (at most)")
    parser.add_argument("--test-samples", type=int, default=0, help="test samples (0 = all)")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--data-file", help=argparse.SUPPRESS)
    parser.add_argument("--t", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory(prefix="peer-loop-") as tmp:
        data_file = Path(tmp) / "data.npz"
        print(write_data(data_file, args))
        print(
            f"batch {args.batch}, {args.epochs} epochs, {args.threads} torch thread(s) on both "
            f"sides; {load()}"
        )
        for timesteps in args.timesteps:
            compare(args, timesteps, data_file)
    print(load())


def compare(args: argparse.Namespace, timesteps: int, data_file: Path) -> None:
    """Both sides alternated args.rounds times at `timesteps`; per-round lines, then medians."""
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    for round_ in range(args.rounds):
        order = SIDES if round_ % 2 == 0 else SIDES[::-1]  # neither side always goes first
        for side in order:
            runs[side].append(measure(args, side, timesteps, data_file))
        ours, plain = runs["snnstudio"][-1], runs["plain"][-1]
        print(
            f"  T={timesteps} round {round_ + 1}: stage snnstudio {ours['stage']:.2f} s, plain "
            f"loop {plain['stage']:.2f} s (x{plain['stage'] / ours['stage']:.2f}); {load()}"
        )
    mode = runs["snnstudio"][0]["step_mode"]
    ours = statistics.median(r["stage"] for r in runs["snnstudio"])
    plain = statistics.median(r["stage"] for r in runs["plain"])
    print(
        f"T={timesteps:<3} whole stage        snnstudio {ours:7.2f} s (step mode {mode}), "
        f"plain loop {plain:7.2f} s: speed-up {plain / ours:.2f}"
    )
    for key, label in (("steady", "train, steady"), ("eval", "end of epoch")):
        ours = statistics.median(r[key] for r in runs["snnstudio"])
        plain = statistics.median(r[key] for r in runs["plain"])
        print(
            f"T={timesteps:<3} {label:<18} snnstudio {ours:7.0f} samples/s, "
            f"plain loop {plain:7.0f}: ratio {ours / plain:.2f}"
        )


if __name__ == "__main__":
    main()
