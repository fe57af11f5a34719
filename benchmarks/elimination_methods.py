"""Every elimination method's ACC/ASR before and after, on given checkpoints and clean shares.

The measurement behind the default elimination method (`elimination_methods.METHODS`'s
first entry). One torch thread, as on the shared machine:

    OMP_NUM_THREADS=1 python3 benchmarks/elimination_methods.py runs/demo/model.pt \
        runs/mnist6k/model.pt --fractions 0.05 0.1 --json elimination.json

Prints one row per (checkpoint, clean share, method) and, per method, whether it met the
target on every row: ASR <= 0.10 with an ACC drop <= 2 points.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from snnstudio.core.defense.elimination import METHODS, EliminationSettings, run_elimination
from snnstudio.core.defense.options import options
from snnstudio.core.events import RunFinished

ASR_TARGET, ACC_DROP_TARGET = 0.10, 0.02


def measure(
    checkpoint: Path, fraction: float, method: str, set_: list[str], extra: dict[str, Any]
) -> dict:
    settings = EliminationSettings(method=method, clean_fraction=fraction, **extra)
    last = None
    for event in run_elimination(checkpoint, None, settings, set_):
        last = event
    assert isinstance(last, RunFinished)
    m = last.metrics
    return {
        "checkpoint": str(checkpoint), "fraction": fraction, "method": method, **extra,
        "clean_samples": m["clean_samples"], "acc_before": m["acc_before"],
        "asr_before": m["asr_before"], "acc": m["acc"], "asr": m["asr"],
        "seconds": m["seconds"]["total"],
        "meets_target": m["asr"] <= ASR_TARGET and m["acc_before"] - m["acc"] <= ACC_DROP_TARGET,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.05, 0.1])
    methods = [m for m, entry in METHODS.items() if not entry.spec.needs_converted]
    parser.add_argument("--methods", nargs="+", default=methods, choices=list(METHODS))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--option", action="append", default=[], metavar="NAME=VALUE",
        help="an EliminationSettings field for every method, e.g. augment=patches",
    )  # fmt: skip
    args = parser.parse_args(argv)
    kinds = {o.name: o.kind for o in options(EliminationSettings)}
    extra: dict[str, Any] = {}  # each value parsed as its field's kind
    for item in args.option:
        name, _, value = item.partition("=")
        extra[name] = kinds[name](value)
    torch.set_num_threads(1)
    rows = []
    print("checkpoint\tclean\tmethod\tacc before\tasr before\tacc after\tasr after\tseconds")
    for checkpoint in args.checkpoints:
        for fraction in args.fractions:
            for method in args.methods:
                row = measure(checkpoint, fraction, method, args.overrides, extra)
                rows.append(row)
                print(
                    f"{checkpoint}\t{fraction:g} ({row['clean_samples']})\t{method}\t"
                    f"{row['acc_before']:.4f}\t{row['asr_before']:.4f}\t{row['acc']:.4f}\t"
                    f"{row['asr']:.4f}\t{row['seconds']:.0f}",
                    flush=True,
                )
                if args.json:
                    args.json.write_text(json.dumps(rows, indent=1) + "\n")
    for method in args.methods:
        mine = [r for r in rows if r["method"] == method]
        print(f"{method}: meets ASR <= {ASR_TARGET} and ACC drop <= {ACC_DROP_TARGET:.0%} on "
              f"{sum(r['meets_target'] for r in mine)}/{len(mine)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
