"""`snnstudio sweep` and `snnstudio report`: many runs from one spec, and their report."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm


def add_sweep_commands(commands: Any) -> None:
    """Add the `sweep` and `report` sub-commands to the CLI's sub-parsers."""
    sweep = commands.add_parser(
        "sweep", help="run every point of a sweep spec (resumes: completed points are read)"
    )
    sweep.add_argument("spec", nargs="?", type=Path, help="sweep spec (TOML)")
    sweep.add_argument("--preset", help="a built-in sweep preset (see `snnstudio presets`)")
    sweep.add_argument(
        "--scale", choices=("laptop", "desk", "paper"), default=None,
        help="a paper preset's scale: laptop (default; minutes, CSNN on digits), desk (the "
        "paper's VGG11/ResNet18 on 6000 MNIST samples, hours on 2 cores), paper (its Appendix "
        "B on a GPU cluster: --backend ray, --set data.root=DIR)",
    )  # fmt: skip
    sweep.add_argument("--out", type=Path, required=True, help="the sweep directory")
    sweep.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key for every point; for an axis, a list of new values "
        "(e.g. --set 'poison.rate=[0.01, 0.05]'); repeats=N: seeds per point (repeatable)",
    )  # fmt: skip
    sweep.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    sweep.add_argument("--backend", default="local", help="local (default) | ray")
    sweep.add_argument(
        "--ray-address", default=None,
        help="join a Ray cluster ('auto' = the running one); default: start a local instance",
    )  # fmt: skip
    sweep.add_argument(
        "--no-ann-reuse", action="store_true",
        help="train every LR_C/LR_H point's ANN twin itself (default: points whose ANN twin "
        "would be the same share the one trained first, kept in DIR/ann-twins/)",
    )  # fmt: skip
    sweep.add_argument(
        "--reuse-runs", action="append", default=[], type=Path, metavar="SWEEP_DIR",
        help="copy a point that this other sweep folder completed with the same config (but "
        "its name) instead of training it; its metrics.json says copied_from (repeatable)",
    )  # fmt: skip
    sweep.add_argument("--no-report", action="store_true", help="do not write DIR/report/")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument(
        "--dry-run", action="store_true",
        help="print each point's time estimate and the sweep's total, run nothing (exit 2 when "
        "a point would not fit in memory)",
    )  # fmt: skip

    report = commands.add_parser(
        "report", help="write DIR/report/ for each sweep directory; --claims: the paper's "
        "findings, claim by claim, over all of them",
    )  # fmt: skip
    report.add_argument(
        "sweep_dirs", type=Path, nargs="+", help="directories `snnstudio sweep` wrote"
    )
    report.add_argument(
        "--claims", action="store_true",
        help="write one claims.md over all the given sweeps (each claim's verdict from the "
        "sweeps of the paper presets that measure it)",
    )  # fmt: skip
    report.add_argument("--out", type=Path, help="with --claims: the file (default DIR1/claims.md)")


def resolve_spec(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from snnstudio.core.errors import ConfigError
    from snnstudio.core.sweep.spec import load_spec, load_sweep_preset

    if bool(args.spec) == bool(args.preset):
        raise ConfigError("give a sweep spec file or --preset NAME (one of them)")
    if args.spec:
        if args.scale:
            raise ConfigError("--scale applies to the built-in paper presets (--preset paper-X)")
        return load_spec(args.spec, args.overrides)
    return load_sweep_preset(args.preset, args.overrides, args.scale or "laptop")


def command_sweep(args: argparse.Namespace) -> int:
    from snnstudio.core.events import CancelToken
    from snnstudio.core.sweep.engine import run_sweep

    spec = resolve_spec(args)  # every problem of the spec is reported before any run
    if args.dry_run:
        return _print_sweep_estimate(spec, args)
    cancel = CancelToken()
    events = run_sweep(
        spec, args.out, args.workers, args.backend, args.ray_address, cancel,
        ann_reuse=not args.no_ann_reuse, reuse_runs=args.reuse_runs,
    )  # fmt: skip
    status = _print_sweep(events, cancel, args.quiet)
    if status == "completed" and not args.no_report:
        from snnstudio.core.sweep.report import write_report

        print(f"report: {write_report(args.out)}")
    return 0 if status == "completed" else 130


def _print_sweep_estimate(spec: Any, args: argparse.Namespace) -> int:
    from snnstudio.core.sweep.sweep_estimate import sweep_estimate_report

    lines, fits = sweep_estimate_report(spec, args.workers, ann_reuse=not args.no_ann_reuse)
    print("\n".join(lines))
    return 0 if fits else 2


def command_report(args: argparse.Namespace) -> int:
    from snnstudio.core.sweep.claims import write_claims
    from snnstudio.core.sweep.report import write_report

    if args.claims:
        print(f"claims: {write_claims(args.sweep_dirs, args.out)}")
        return 0
    for sweep_dir in args.sweep_dirs:
        print(f"report: {write_report(sweep_dir)}")
    return 0


def _print_sweep(events: Iterator[Any], cancel: Any, quiet: bool) -> str:
    """A bar of points (done, failed, ETA); the first Ctrl-C stops the sweep between batches
    and keeps finished points, a second one aborts at once."""
    from snnstudio.core.sweep.engine import (
        PointFinished,
        PointStarted,
        SweepFinished,
        SweepStarted,
    )

    def stop(_signum: int, _frame: Any) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        tqdm.write("stopping: running points end after their batch, finished ones are kept")

    previous = signal.signal(signal.SIGINT, stop)
    bar: tqdm | None = None
    failed = 0
    status = "cancelled"
    try:
        for event in events:
            if isinstance(event, SweepStarted):
                reused = event.total - event.to_run
                bar = tqdm(total=event.total, initial=reused, unit="point", disable=quiet,
                           desc=event.name, file=sys.stdout)  # fmt: skip
                copied = f" ({event.copied} copied from --reuse-runs)" if event.copied else ""
                bar.write(
                    f"{event.total} points, {reused} already completed{copied}: {event.out_dir}"
                )
            elif isinstance(event, PointStarted) and bar is not None:
                bar.write(f"started {event.index}: {event.label}")
            elif isinstance(event, PointFinished) and not event.reused and bar is not None:
                row = event.row
                failed += row["status"] == "failed"
                bar.update(1)
                bar.set_postfix(failed=failed, refresh=False)
                detail = row.get("error") or _numbers(row)
                bar.write(f"{row['status']} {event.index}: {detail}")
            elif isinstance(event, SweepFinished):
                status = event.status
                if bar is not None:
                    bar.close()
                counts = ", ".join(f"{v} {k}" for k, v in event.counts.items())
                print(f"sweep {event.status} in {event.seconds:.1f} s: {counts}; {event.out_dir}")
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    return status


def _numbers(row: dict[str, Any]) -> str:
    """A finished point's ACC/ASR, and after an elimination (job train-eliminate) its ASR
    before -> after."""
    text = f"acc {_f(row.get('acc'))} asr {_f(row.get('asr'))}"
    if "asr_after" in row:
        text += f"; eliminated: acc {_f(row['acc_after'])} asr {_f(row['asr_after'])}"
    return text


def _f(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"
