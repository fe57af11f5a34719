"""`snnstudio detect` and `snnstudio eliminate`: the defences on a checkpoint, headless."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_defense_commands(commands: Any) -> None:
    """Add the `detect` and `eliminate` sub-commands to the CLI's sub-parsers."""
    detect = commands.add_parser(
        "detect", help="look for a backdoor in a checkpoint (voltages and spikes)"
    )
    detect.add_argument("checkpoint", type=Path, help="the suspect model (.pt)")
    detect.add_argument("--reference", type=Path, help="a trusted clean model of the same kind")
    detect.add_argument("--layer", default="", help="spiking layer for the sample-level score")
    detect.add_argument("--feature", default="both", help="voltage | spikes | both")
    detect.add_argument(
        "--method", default="clean-distance", help="clean-distance | spectral | clustering"
    )
    detect.add_argument(
        "--clean-fraction", type=float, default=0.1,
        help="share of the clean training set the defender trusts (default 0.1)",
    )  # fmt: skip
    detect.add_argument("--no-reference-free", action="store_true", help="skip the max-margin test")
    detect.add_argument("--margin-steps", type=int, default=150, help="max-margin ascent steps")
    detect.add_argument("--margin-starts", type=int, default=8, help="random starts per class")
    add_common_arguments(detect)

    eliminate = commands.add_parser(
        "eliminate",
        help="remove a backdoor with clean data: fine-tuning, fine-pruning, or clean "
        "re-conversion + STDB (conversion/hybrid models)",
    )
    eliminate.add_argument("checkpoint", type=Path, help="the backdoored model (.pt)")
    eliminate.add_argument(
        "--method", required=True, choices=["finetune", "fineprune", "reconvert"]
    )
    eliminate.add_argument("--clean-fraction", type=float, default=0.1)
    eliminate.add_argument("--epochs", type=int, help="fine-tuning epochs (method default)")
    eliminate.add_argument("--lr", type=float, help="fine-tuning learning rate (method default)")
    eliminate.add_argument("--optimizer", choices=["adam", "sgd"], help="(method default)")
    eliminate.add_argument("--settle-epochs", type=int, help="epochs at lr/10 after fine-tuning")
    eliminate.add_argument("--layer", default="", help="fineprune: spiking layer to prune")
    eliminate.add_argument("--prune-max-fraction", type=float, default=0.9)
    eliminate.add_argument(
        "--prune-tolerance", type=float, default=0.01,
        help="fineprune: allowed clean-set accuracy drop while pruning (default 0.01)",
    )  # fmt: skip
    add_common_arguments(eliminate)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, help="run directory (default: a new runs/COMMAND-TIMESTAMP)"
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a field of the checkpoint's stored config, e.g. data.root=DIR",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="reuse a directory with results")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the result")


def command_detect(args: argparse.Namespace) -> int:
    from snnstudio.cli_progress import print_events
    from snnstudio.core.defense.detection import DetectionSettings, run_detection
    from snnstudio.core.defense.max_margin import MaxMarginSettings
    from snnstudio.core.rundir import dropped_if_empty, output_dir

    settings = DetectionSettings(
        layer=args.layer, feature=args.feature, method=args.method,
        clean_fraction=args.clean_fraction, reference_free=not args.no_reference_free,
        max_margin=MaxMarginSettings(
            starts=args.margin_starts, steps=args.margin_steps, seed=args.seed
        ),
        seed=args.seed,
    )  # fmt: skip
    out = output_dir(args.out, args.command, args.overwrite, holds="results")
    events = run_detection(args.checkpoint, args.reference, out, settings, args.overrides)
    return print_events(events if args.out else dropped_if_empty(events, out), out, args.quiet)


def command_eliminate(args: argparse.Namespace) -> int:
    from snnstudio.cli_progress import print_events
    from snnstudio.core.defense.elimination import EliminationSettings, run_elimination
    from snnstudio.core.rundir import dropped_if_empty, output_dir

    settings = EliminationSettings(
        method=args.method, clean_fraction=args.clean_fraction, epochs=args.epochs,
        lr=args.lr, optimizer=args.optimizer, settle_epochs=args.settle_epochs,
        layer=args.layer, prune_max_fraction=args.prune_max_fraction,
        prune_acc_tolerance=args.prune_tolerance, seed=args.seed,
    )  # fmt: skip
    out = output_dir(args.out, args.command, args.overwrite, holds="results")
    events = run_elimination(args.checkpoint, out, settings, args.overrides)
    return print_events(events if args.out else dropped_if_empty(events, out), out, args.quiet)
