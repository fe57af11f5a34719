"""Event-loop stalls of the window while the demo trains, and training throughput with the
window against headless, measured in the same run.

With the main window open (offscreen), Start is pressed and, while the worker trains, a
precise QTimer ticks every TICK_MS; a stall is how much later than due a tick arrives. Two
window modes: the window open on the Run tab (live curves, progress, log), and the same with
a user busy (every SWITCH_MS a tab switch and a resize). Throughput is training samples per
second of the backdoored stage (the core's own stage timer), headless (the generator driven
directly) and in each window mode, alternated ROUNDS times; the best round of each is
compared, the figure least disturbed by other work on a shared machine. The headless run is
driven from a plain thread, as the window's worker is. Every mode uses the product's own
thread choice (snnstudio/core/threads.py: the GUI and the runner apply it), unless
--torch-threads N sets SNNSTUDIO_THREADS=N for all of them.

    python benchmarks/ui_latency.py [--train 1437] [--epochs 3] [--rounds 2]

Targets: p99 stall <= 50 ms with a busy user; throughput with the window >= 90% of headless.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import qasync
from PySide6.QtCore import QSettings, Qt, QTimer

from snnstudio.core import config as config_io
from snnstudio.core.events import BatchDone, RunFinished
from snnstudio.core.runner import run_experiment
from snnstudio.core.threads import choose_threads
from snnstudio.gui.app import application
from snnstudio.gui.main_window import MainWindow

TICK_MS = 10
SWITCH_MS = 250


def bench_config(train: int, epochs: int) -> config_io.ExperimentConfig:
    cfg = config_io.load_preset("demo")
    cfg.data.train_limit, cfg.train.epochs, cfg.train.clean_twin = train, epochs, False
    return cfg


def samples_per_second(metrics: dict, cfg: config_io.ExperimentConfig) -> float:
    """Training samples per second of the backdoored stage, from the core's stage timer
    (a number, or a dict of sub-steps such as {'snn_training': s})."""
    stage = metrics["seconds"]["backdoored"]
    seconds = sum(stage.values()) if isinstance(stage, dict) else stage
    return metrics["train_samples"] * cfg.train.epochs / seconds


def headless(cfg: config_io.ExperimentConfig, out: Path) -> float:
    """The generator driven without Qt, from a plain background thread like the GUI's worker."""
    finished: list[RunFinished] = []

    def drive() -> None:
        finished.extend(e for e in run_experiment(cfg, out) if isinstance(e, RunFinished))

    thread = threading.Thread(target=drive)
    thread.start()
    thread.join()
    return samples_per_second(finished[0].metrics, cfg)


def with_window(
    cfg: config_io.ExperimentConfig,
    folder: Path,
    loop: qasync.QEventLoop,
    busy: bool,
    tick_ms: int = TICK_MS,
) -> tuple[float, list[float], int]:
    """(samples/s, stalls in ms, batches) of one run started by pressing Start."""
    window = MainWindow(
        runs_folder=folder, settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)
    )
    window.show()
    window.set_config(cfg)
    stalls: list[float] = []
    finished: list[RunFinished] = []
    batches = [0]
    last = [0.0]
    tick = QTimer(window)
    tick.setTimerType(Qt.TimerType.PreciseTimer)
    tick.setInterval(tick_ms)

    def on_tick() -> None:
        now = time.perf_counter()
        if last[0]:
            stalls.append(max(0.0, (now - last[0]) * 1000 - tick_ms))
        last[0] = now

    def on_event(event: object) -> None:
        if isinstance(event, BatchDone):
            batches[0] += 1
        elif isinstance(event, RunFinished):
            finished.append(event)

    switch = QTimer(window)
    switch.setInterval(SWITCH_MS)
    sizes = [(1280, 860), (1100, 760)]

    def on_switch() -> None:
        window.tabs.setCurrentIndex((window.tabs.currentIndex() + 1) % window.tabs.count())
        window.resize(*sizes[len(stalls) % 2])

    tick.timeout.connect(on_tick)
    switch.timeout.connect(on_switch)
    window.jobs.yielded.connect(on_event)
    done = asyncio.Event()
    window.jobs.busy_changed.connect(lambda busy: None if busy else done.set())

    async def run() -> None:
        await asyncio.sleep(1.0)  # the window's own start-up (dataset check) is not measured
        tick.start()
        if busy:
            switch.start()
        window.run_panel.start_button.click()
        await done.wait()
        tick.stop()
        switch.stop()

    loop.run_until_complete(run())
    window.close()
    window.deleteLater()
    return samples_per_second(finished[0].metrics, cfg), stalls, batches[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=1437, help="training samples")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tick-ms", type=int, default=TICK_MS, help="stall probe interval")
    parser.add_argument(
        "--torch-threads", type=int, default=0,
        help="SNNSTUDIO_THREADS for every mode (default 0: the product's own thread policy)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.torch_threads > 0:
        os.environ["SNNSTUDIO_THREADS"] = str(args.torch_threads)
    app = application()  # applies the thread policy, as the desktop application does
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    cfg = bench_config(args.train, args.epochs)
    print(
        f"load before: {os.getloadavg()[0]:.2f} (1-min average), {os.cpu_count()} cores, "
        f"{choose_threads(cfg.train.threads).describe()}"
    )
    modes = {"window open": False, "window, user busy": True}
    plain: list[float] = []
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    stalls: dict[str, list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as tmp:
        # one short run first, not counted: the first run of a process also loads the
        # fused neuron step's compiled code, which would count against whichever mode is first
        headless(bench_config(64, 1), Path(tmp) / "warm-up")
        for round_ in range(args.rounds):
            plain.append(headless(cfg, Path(tmp) / f"headless-{round_}"))
            line = f"round {round_ + 1}: headless {plain[-1]:.0f} samples/s"
            for mode, busy in modes.items():
                folder = Path(tmp) / f"{mode}-{round_}"
                rate, ticks, count = with_window(cfg, folder, loop, busy, args.tick_ms)
                rates[mode].append(rate)
                stalls[mode] += ticks
                line += f", {mode} {rate:.0f} samples/s ({len(ticks)} ticks, {count} batches)"
            print(line)
    for mode in modes:
        values = np.asarray(stalls[mode])
        p50, p99 = np.percentile(values, [50, 99])
        ratio = max(rates[mode]) / max(plain)
        print(f"{mode}: event-loop stall over {len(values)} ticks of {args.tick_ms} ms: "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {values.max():.1f} ms "
              f"(target p99 <= 50 ms); "
              f"throughput {max(rates[mode]):.0f} samples/s = {ratio:.1%} of headless "
              f"{max(plain):.0f} (target >= 90%)")  # fmt: skip
    print(f"load after: {os.getloadavg()[0]:.2f} (1-min average)")


if __name__ == "__main__":
    main()
