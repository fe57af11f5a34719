"""Detection and the default elimination on models poisoned with each event trigger kind.

Reads a finished `neuromorphic-triggers` sweep and, for each trigger kind, takes its points
at one PR (default 0.1): runs `snnstudio detect`'s tests (sample-level AUROC of clean vs
triggered test inputs, spectral signatures and activation clustering on the poisoned training
set, the reference-free MM-BD / TMPBD verdicts) and the default elimination, and prints one
row per point. One torch thread, as on the shared machine:

    SNNSTUDIO_THREADS=1 python3 benchmarks/neuromorphic_defences.py SWEEP_DIR --rate 0.1 \
        --json defences.json

The dynamic kind's data is rebuilt from its config (the generator is retrained with the
run's seeds, so the triggered inputs are the run's).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from snnstudio.core.defense.detection import DetectionSettings, run_detection
from snnstudio.core.defense.elimination import run_elimination
from snnstudio.core.events import RunFinished
from snnstudio.core.run_record import open_run
from snnstudio.core.sweep.results import RESULTS_FILE


def finished(events: Any) -> RunFinished:
    last = None
    for event in events:
        last = event
    assert isinstance(last, RunFinished), last
    return last


def measure(run_dir: Path, detection: DetectionSettings) -> dict[str, Any]:
    model = open_run(run_dir).checkpoint()
    assert model is not None, f"{run_dir} holds no model"
    found = finished(run_detection(model, None, run_dir / "detection", detection)).metrics
    report = json.loads((run_dir / "detection" / "report.json").read_text())
    scan = report.get("training_set", {})
    eliminated = finished(run_elimination(model, run_dir / "elimination")).metrics
    return {
        "sample_auroc": found.get("sample_auroc"),
        "spectral_auroc": scan.get("spectral", {}).get("auroc"),
        "clustering_auroc": scan.get("clustering", {}).get("auroc"),
        "spectral_recall": found.get("spectral_recall"),
        "clustering_recall": found.get("clustering_recall"),
        "mm_bd_flagged": found.get("max_margin_suspect_flagged"),
        "mm_bd_class": found.get("max_margin_suspect_suspect_class"),
        "tmpbd_flagged": found.get("tmpbd_suspect_flagged"),
        "tmpbd_class": found.get("tmpbd_suspect_suspect_class"),
        "elimination": eliminated.get("method"),
        "acc_before": eliminated["acc_before"],
        "asr_before": eliminated["asr_before"],
        "acc_after": eliminated["acc"],
        "asr_after": eliminated["asr"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with (args.sweep / RESULTS_FILE).open(newline="") as handle:
        rows_in = list(csv.DictReader(handle))
    points = [
        r for r in rows_in
        if r["status"] == "completed" and float(r["poison.rate"]) == args.rate
        and int(r["seed"]) in args.seeds
    ]  # fmt: skip
    detection = DetectionSettings()
    rows = []
    for point in points:
        run_dir = args.sweep / point["run_dir"] if not Path(point["run_dir"]).is_absolute() \
            else Path(point["run_dir"])  # fmt: skip
        row = {
            "kind": point["trigger.kind"],
            "seed": int(point["seed"]),
            **measure(run_dir, detection),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| kind | seed | sample AUROC | spectral AUROC | clustering AUROC | MM-BD | TMPBD "
          "| ASR before | ASR after | ACC after |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [r["kind"], r["seed"]] + [
            "–" if r[k] is None else f"{r[k]:.3f}"
            for k in ("sample_auroc", "spectral_auroc", "clustering_auroc")
        ] + [f"{r['mm_bd_flagged']} ({r['mm_bd_class']})",
             f"{r['tmpbd_flagged']} ({r['tmpbd_class']})"] + [
            f"{100 * r[k]:.1f}" for k in ("asr_before", "asr_after", "acc_after")
        ]  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
