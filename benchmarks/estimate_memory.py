"""The run estimate (core/estimate.py) against the measured peak memory of the same run.

Each configuration runs in its own child process: it computes the estimate (as
`run_experiment` does before allocating anything), runs the experiment to its end, and
reports its peak resident size (resource.getrusage ru_maxrss, Linux: KiB). Prints
estimate / measured for each. One torch thread.

    python3 benchmarks/estimate_memory.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, torch
torch.set_num_threads(1)
from snnstudio.core import config as config_io
from snnstudio.core.estimate import estimate_run
from snnstudio.core.events import run_to_end
from snnstudio.core.runner import resolve_step_mode, run_experiment
cfg = config_io.with_overrides(config_io.load_preset("demo"), sys.argv[1:])
estimate = estimate_run(cfg, resolve_step_mode(cfg.train.step_mode, torch.device("cpu")))
run_to_end(run_experiment(cfg))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"estimate": estimate.peak_bytes, "measured": peak,
                  "start": estimate.process_bytes, "training": estimate.training_bytes,
                  "inference": estimate.inference_bytes, "data": estimate.dataset_bytes}))
"""
CASES = {
    "LR_B digits T=32 batch 64": ["sim.timesteps=32", "train.batch_size=64"],
    "LR_B digits T=64 batch 32": ["sim.timesteps=64", "train.batch_size=32"],
    "LR_B digits-dvs T=24 batch 32": [
        "data.name='digits-dvs'",
        "sim.timesteps=24",
        "data.cache_dir='none'",
    ],
    "LR_C digits T_max=128": ["rule.name='conversion'", "sim.eval_timesteps=128"],
}
COMMON = ["train.epochs=1", "train.clean_twin=false", "data.train_limit=256"]


def main() -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    print(f"{'case':34s} {'estimate':>10s} {'measured':>10s} {'ratio':>6s}")
    for name, overrides in CASES.items():
        out = subprocess.run(
            [sys.executable, "-c", CHILD, *COMMON, *overrides], cwd=ROOT, env=env,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        ratio = row["estimate"] / row["measured"]
        mb = 1024**2
        print(
            f"{name:34s} {row['estimate'] / mb:8.0f}MB {row['measured'] / mb:8.0f}MB "
            f"{ratio:6.2f}   (start {row['start'] / mb:.0f} MB, training step "
            f"{row['training'] / mb:.0f} MB, inference {row['inference'] / mb:.0f} MB, "
            f"data {row['data'] / mb:.0f} MB)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
