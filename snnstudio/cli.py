"""`snnstudio`: the GUI with no arguments, or headless commands with the same config files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from snnstudio import __version__
from snnstudio.cli_defense import add_defense_commands, command_detect, command_eliminate
from snnstudio.cli_sweep import add_sweep_commands, command_report, command_sweep


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snnstudio",
        description="Backdoor attacks and defences on spiking neural networks. "
        "With no command, opens the desktop application.",
    )
    parser.add_argument("--version", action="version", version=f"snnstudio {__version__}")
    parser.add_argument(
        "--self-test", action="store_true",
        help="open the window offscreen, train a few batches of the demo, exit 0 when it works",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run one experiment headless")
    add_config_arguments(run)
    run.add_argument("--out", type=Path, help="run directory (default: a new runs/NAME-TIMESTAMP)")
    run.add_argument(
        "--overwrite", action="store_true", help="reuse a run directory that holds a run"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar, only the result")
    run.add_argument(
        "--resume", type=Path, metavar="DIR",
        help="continue the stopped, cancelled or killed run in DIR from its last completed epoch",
    )  # fmt: skip
    run.add_argument(
        "--ann-cache", type=Path, metavar="DIR",
        help="LR_C/LR_H: reuse the ANN twin cached in DIR under the same key (a sweep's "
        "DIR/ann-twins), or train it and cache it there",
    )  # fmt: skip
    run.add_argument(
        "--dry-run", action="store_true",
        help="print the memory and time estimate and exit (2 when the run would not fit)",
    )  # fmt: skip

    show = commands.add_parser("config", help="print the resolved config as TOML")
    add_config_arguments(show)

    commands.add_parser("presets", help="list the built-in run and sweep presets")
    add_defense_commands(commands)
    add_sweep_commands(commands)
    return parser


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", type=Path, help="experiment config (TOML)")
    parser.add_argument("--preset", help="start from a built-in preset (see `snnstudio presets`)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config field by its dotted path, e.g. poison.rate=0.05 (repeatable)",
    )  # fmt: skip


def resolve_config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from snnstudio.core import config as config_io
    from snnstudio.core import validation
    from snnstudio.core.rundir import load_config_file

    if args.config and args.preset:
        raise config_io.ConfigError("give a config file or --preset, not both")
    if args.config:
        cfg = load_config_file(args.config)
    elif args.preset:
        cfg = config_io.load_preset(args.preset)
    else:
        cfg = config_io.ExperimentConfig()
    return validation.validate(config_io.with_overrides(cfg, args.overrides))


def command_run(args: argparse.Namespace) -> int:
    from snnstudio.cli_progress import print_events
    from snnstudio.core.rundir import output_dir
    from snnstudio.core.runner import run_experiment

    if args.resume is not None:
        return resume_run(args)
    cfg = resolve_config(args)
    if args.dry_run:
        return print_estimate(cfg)
    out = output_dir(args.out, cfg.name, args.overwrite)
    return print_events(run_experiment(cfg, out, ann_cache=args.ann_cache), out, args.quiet)


def resume_run(args: argparse.Namespace) -> int:
    """`run --resume DIR`: the run's own config.toml, no other config arguments."""
    from snnstudio.cli_progress import print_events
    from snnstudio.core.errors import ConfigError
    from snnstudio.core.runner import resume_experiment

    if args.config or args.preset or args.overrides or args.out or args.dry_run:
        raise ConfigError(
            "--resume DIR continues the run with DIR/config.toml: give no config file, "
            "--preset, --set, --out or --dry-run with it"
        )
    events = resume_experiment(args.resume, ann_cache=args.ann_cache)
    return print_events(events, args.resume, args.quiet)


def print_estimate(cfg) -> int:  # type: ignore[no-untyped-def]
    """`run --dry-run`: the estimate on stdout; when the run would not fit, the refusal on
    stderr and exit code 2."""
    from snnstudio.core.estimate import estimate_run, refusal
    from snnstudio.core.runner import resolve_device, resolve_step_mode

    device = resolve_device(cfg.train.device)
    step_mode = resolve_step_mode(cfg.train.step_mode, device)
    estimate = estimate_run(cfg, step_mode, device)
    print(f"estimate for '{cfg.name}' on {device}: {estimate.summary()}")
    if estimate.fits:
        return 0
    print(f"snnstudio: error: {refusal(cfg, estimate, step_mode, device)}", file=sys.stderr)
    return 2


def command_config(args: argparse.Namespace) -> int:
    from snnstudio.core import config as config_io

    sys.stdout.write(config_io.dumps(resolve_config(args)))
    return 0


def command_presets(args: argparse.Namespace) -> int:
    from snnstudio.core.config import preset_names
    from snnstudio.core.sweep.spec import sweep_preset_names

    print("run presets (snnstudio run --preset NAME):")
    print("\n".join(f"  {name}" for name in preset_names()))
    print("sweep presets (snnstudio sweep --preset NAME --out DIR):")
    print("\n".join(f"  {name}" for name in sweep_preset_names()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from snnstudio.gui.app import run_gui, self_test  # Qt is imported only for the GUI

        return self_test() if args.self_test else run_gui()
    from snnstudio.core.errors import SnnStudioError
    from snnstudio.core.threads import apply_thread_policy

    handlers = {"run": command_run, "config": command_config, "presets": command_presets}
    handlers.update(detect=command_detect, eliminate=command_eliminate)
    handlers.update(sweep=command_sweep, report=command_report)
    try:
        apply_thread_policy()  # `run` applies it again with the experiment's train.threads
        return handlers[args.command](args)
    except SnnStudioError as exc:
        print(f"snnstudio: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
