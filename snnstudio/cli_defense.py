"""`snnstudio detect` and `snnstudio eliminate`: the defences on a checkpoint, headless.

Their options are generated from the settings dataclasses (`core.defense.settings`): one
flag per field, with its default, choices and help, so the CLI, the GUI and the defaults
cannot drift. Nested settings get their flag as a prefix (`--margin-steps`); a boolean
that defaults to True is turned off with `--no-NAME`.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from snnstudio.core.defense.options import Option, options
from snnstudio.core.defense.settings import DetectionSettings, EliminationSettings


def add_defense_commands(commands: Any) -> None:
    """Add the `detect` and `eliminate` sub-commands to the CLI's sub-parsers."""
    detect = commands.add_parser(
        "detect", help="look for a backdoor in a checkpoint (voltages and spikes)"
    )
    detect.add_argument("checkpoint", type=Path, help="the suspect model (.pt)")
    detect.add_argument("--reference", type=Path, help="a trusted clean model of the same kind")
    add_settings_arguments(detect, DetectionSettings)
    add_common_arguments(detect)

    eliminate = commands.add_parser(
        "eliminate",
        help="remove a backdoor with clean data: fine-tuning and its variants, fine-pruning, "
        "or clean re-conversion + STDB (conversion/hybrid models)",
    )
    eliminate.add_argument("checkpoint", type=Path, help="the backdoored model (.pt)")
    add_settings_arguments(eliminate, EliminationSettings)
    add_common_arguments(eliminate)


def _dest(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


def add_settings_arguments(
    parser: argparse.ArgumentParser, cls: type, prefix: str = "", flag_prefix: str = ""
) -> None:
    """One option per field of settings dataclass `cls` (nested dataclasses flattened)."""
    for opt in options(cls):
        flag = f"{flag_prefix}{opt.flag}"
        dest = _dest(prefix, opt.name)
        if dataclasses.is_dataclass(opt.kind):
            add_settings_arguments(parser, opt.kind, dest, f"{flag}-")
        elif opt.kind is bool:
            if opt.default:
                parser.add_argument(f"--no-{flag}", dest=dest, action="store_false",
                                    help=f"do not {opt.help}")  # fmt: skip
            else:
                parser.add_argument(f"--{flag}", dest=dest, action="store_true", help=opt.help)
        else:
            default = "the method's default" if opt.default is None else repr(opt.default)
            parser.add_argument(
                f"--{flag}", dest=dest, type=opt.kind, default=opt.default,
                choices=opt.choices, help=f"{opt.help} (default: {default})",
            )  # fmt: skip


def settings_from_arguments(args: argparse.Namespace, cls: type, prefix: str = "") -> Any:
    """The settings dataclass `cls` filled from the options `add_settings_arguments` made."""
    values = {}
    for opt in options(cls):
        dest = _dest(prefix, opt.name)
        if dataclasses.is_dataclass(opt.kind):
            values[opt.name] = settings_from_arguments(args, opt.kind, dest)
        else:
            values[opt.name] = getattr(args, dest)
    return cls(**values)


def option_flags(cls: type, flag_prefix: str = "") -> list[Option]:
    """The options of `cls` with nested ones flattened, their flags as the CLI spells them."""
    found = []
    for opt in options(cls):
        flag = f"{flag_prefix}{opt.flag}"
        if dataclasses.is_dataclass(opt.kind):
            found += option_flags(opt.kind, f"{flag}-")
        else:
            found.append(dataclasses.replace(opt, flag=flag))
    return found


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, help="run directory (default: a new runs/COMMAND-TIMESTAMP)"
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a field of the checkpoint's stored config, e.g. data.root=DIR",
    )  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="reuse a directory with results")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the result")


def command_detect(args: argparse.Namespace) -> int:
    from snnstudio.cli_progress import print_events
    from snnstudio.core.defense.detection import run_detection
    from snnstudio.core.rundir import dropped_if_empty, output_dir

    settings = settings_from_arguments(args, DetectionSettings)
    out = output_dir(args.out, args.command, args.overwrite, holds="results")
    events = run_detection(args.checkpoint, args.reference, out, settings, args.overrides)
    return print_events(events if args.out else dropped_if_empty(events, out), out, args.quiet)


def command_eliminate(args: argparse.Namespace) -> int:
    from snnstudio.cli_progress import print_events
    from snnstudio.core.defense.elimination import run_elimination
    from snnstudio.core.rundir import dropped_if_empty, output_dir

    settings = settings_from_arguments(args, EliminationSettings)
    out = output_dir(args.out, args.command, args.overwrite, holds="results")
    events = run_elimination(args.checkpoint, out, settings, args.overrides)
    return print_events(events if args.out else dropped_if_empty(events, out), out, args.quiet)
