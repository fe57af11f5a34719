"""The demo's wall time alone and beside a process that keeps one core busy, in one run.

Each run is `python -m snnstudio run --preset demo` in a fresh process, so it uses the
product's own thread policy (snnstudio/core/threads.py) unless --threads or --wait-policy
say otherwise. The busy neighbour is a Python loop that never sleeps. The figure is

    ratio = wall time beside the busy process / wall time alone      (target <= 2.0)

    python benchmarks/contention.py                        # the product's choice
    python benchmarks/contention.py --threads 2 --wait-policy active --set data.train_limit=300
        # torch's own defaults on 2 cores (spinning OpenMP threads), on a shorter demo

The load average is printed beside every figure: on a shared machine it says how much of
the difference is someone else's work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUSY_LOOP = "while True:\n    pass\n"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min)"


def demo_env(threads: int, wait_policy: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("OMP_NUM_THREADS", None)  # the product decides, or --threads does
    env.pop("SNNSTUDIO_THREADS", None)
    if threads:
        env["SNNSTUDIO_THREADS"] = str(threads)
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy != "default":
        env["OMP_WAIT_POLICY"] = wait_policy.upper()
    return env


def run_demo(out: Path, overrides: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one headless demo run in a fresh process."""
    command = [sys.executable, "-m", "snnstudio", "run", "--preset", "demo", "--quiet"]
    command += [arg for item in overrides for arg in ("--set", item)]
    command += ["--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"demo run failed ({done.returncode}):\n{done.stderr}")
    return seconds


def threads_line(out: Path) -> str:
    log = out / "log.txt"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return next((line.strip() for line in lines if "torch thread" in line), "threads: ?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=int, default=0, help="SNNSTUDIO_THREADS for the demo (0 = policy)"
    )
    parser.add_argument(
        "--wait-policy", choices=("default", "passive", "active"), default="default",
        help="OMP_WAIT_POLICY for the demo (default: what snnstudio sets, PASSIVE)",
    )  # fmt: skip
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="config override passed to the demo run (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    env = demo_env(args.threads, args.wait_policy)
    print(f"{os.cpu_count()} cores; {load()} before")
    with tempfile.TemporaryDirectory(prefix="contention-") as tmp:
        alone = run_demo(Path(tmp) / "alone", args.overrides, env)
        print(f"demo alone:        {alone:7.1f} s   {load()}")
        print(f"  {threads_line(Path(tmp) / 'alone')}")
        busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
        try:
            time.sleep(1.0)
            beside = run_demo(Path(tmp) / "beside", args.overrides, env)
        finally:
            busy.kill()
            busy.wait()
        print(f"demo beside busy:  {beside:7.1f} s   {load()}")
    print(f"ratio beside/alone: {beside / alone:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
