"""The local sweep backend with --workers 2 against --workers 1, on the same points, in one run.

Runs the issue's 2x2 grid (demo on digits, train.epochs 2, PR {0.05, 0.1} x trigger
{top-left, bottom-right}) twice into fresh folders, first with one worker, then with two
(or in the order given by --order), and prints

    ratio = wall(workers 1) / wall(workers 2)      target >= 1.7 on 2 free cores

Every point runs with one torch thread whatever the worker count, so both sweeps do the same
work and give the same metrics (checked). The machine's load average is printed before and
after each sweep: on a shared machine the ratio only means something beside it.

    python benchmarks/sweep_scaling.py [--epochs 2] [--train-limit 0] [--order 1,2]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from snnstudio.core.sweep.engine import SweepFinished, run_sweep
from snnstudio.core.sweep.spec import SweepSpec, loads_spec

SPEC = """
base = "demo"
name = "scaling"
[set]
"train.epochs" = {epochs}
"data.train_limit" = {train_limit}
[grid]
"poison.rate" = [0.05, 0.1]
"trigger.position" = ["top-left", "bottom-right"]
"""


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed_sweep(spec: SweepSpec, out: Path, workers: int) -> tuple[float, list[dict[str, str]]]:
    started = time.perf_counter()
    finished = None
    for event in run_sweep(spec, out, workers=workers):
        if isinstance(event, SweepFinished):
            finished = event
    wall = time.perf_counter() - started
    assert finished is not None and finished.counts["completed"] == 4, finished
    with (out / "results.csv").open(newline="") as file:
        return wall, list(csv.DictReader(file))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=0, help="0 = all 1437 digits")
    parser.add_argument("--order", default="1,2", help="worker counts in the order run")
    args = parser.parse_args()
    spec = loads_spec(SPEC.format(epochs=args.epochs, train_limit=args.train_limit))
    walls: dict[int, float] = {}
    metrics: dict[int, list[tuple[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="sweep-scaling-") as folder:
        for workers in (int(w) for w in args.order.split(",")):
            print(f"workers {workers}: start, {load()}", flush=True)
            walls[workers], rows = timed_sweep(spec, Path(folder) / f"w{workers}", workers)
            metrics[workers] = [(r["acc"], r["asr"]) for r in rows]
            print(f"workers {workers}: {walls[workers]:.1f} s wall, {load()}", flush=True)
    same = len({tuple(m) for m in metrics.values()}) == 1
    print(f"acc/asr identical across worker counts: {same}")
    print(f"ratio = wall(workers 1) / wall(workers 2) = {walls[1] / walls[2]:.2f}  (target >= 1.7)")


if __name__ == "__main__":
    main()
