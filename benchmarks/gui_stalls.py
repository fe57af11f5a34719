"""Event-loop stalls of the main window while the user edits the form with a large network
selected, while a 50-point sweep fills the Sweep tab, and while Results reads many runs.

A precise QTimer ticks every TICK_MS on the GUI thread; a stall is how much later than due a
tick arrives. Scenarios:

- `edit vgg11`, `edit resnet18`: the architecture chosen, then an edit every EDIT_MS (LIF
  tau, a model field, so that every edit needs a new estimate of the network; the learning
  rate, batch size and poisoning rate), then idle until the window has nothing left to do.
- `sweep 50 points`: a 50-point sweep begun in the Sweep tab and fed fake PointStarted /
  PointFinished events (no training), one point every POINT_MS, as a fast sweep would.
- `results refresh`: Refresh pressed twice in the Results tab over a folder of RUNS copies
  of a finished run, each time idle until the table is filled (the second refills a table
  on screen, as the window does after every run).

    python benchmarks/gui_stalls.py [--edits 6] [--runs 200]

Target: no stall above 100 ms (issue 20). Other processes share the machine: the 1-minute
load average is printed before and after, and under each scenario the GUI thread's own CPU
time between two ticks (time.thread_time: what the window did, whatever the load) and, on
Linux, the longest time the thread waited for a CPU between two ticks (the load's share of
a stall, from /proc/thread-self/schedstat).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import qasync
from PySide6.QtCore import QSettings, Qt, QTimer

from snnstudio.core import config as config_io
from snnstudio.core.runner import run_experiment
from snnstudio.core.sweep.engine import PointFinished, PointStarted, SweepFinished
from snnstudio.core.sweep.spec import SweepPoint, SweepSpec
from snnstudio.gui import app as app_module
from snnstudio.gui.app import application
from snnstudio.gui.main_window import MainWindow

TICK_MS = 10
EDIT_MS = 400
POINT_MS = 40
SWEEP_POINTS = 50
SETTLE_TIMEOUT_S = 180.0
SCHEDSTAT = Path("/proc/thread-self/schedstat")  # cpu ns, run-queue wait ns, timeslices


def waited_for_cpu_ms() -> float:
    """How long this thread has waited on a run queue (Linux; 0 elsewhere)."""
    try:
        return int(SCHEDSTAT.read_text().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


class StallProbe:
    """A PreciseTimer on the GUI thread; `stalls` are the ms each tick came late, `cpu` the
    ms of CPU the GUI thread used since the tick before, `waits` the ms it waited for a CPU."""

    def __init__(self, parent) -> None:  # type: ignore[no-untyped-def]
        self.stalls: list[float] = []
        self.cpu: list[float] = []
        self.waits: list[float] = []
        self._last = self._last_cpu = self._last_wait = 0.0
        self.timer = QTimer(parent)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu, wait = time.perf_counter(), time.thread_time(), waited_for_cpu_ms()
        if self._last:
            self.stalls.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
            self.cpu.append((cpu - self._last_cpu) * 1000)
            self.waits.append(wait - self._last_wait)
        self._last, self._last_cpu, self._last_wait = now, cpu, wait

    def start(self) -> None:
        self.stalls, self.cpu, self.waits = [], [], []
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._last_wait = waited_for_cpu_ms()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.stalls


def field(window: MainWindow, key: str):  # type: ignore[no-untyped-def]
    return next(f.widget for f in window.setup._fields if f.key == key)


def window_busy(window: MainWindow) -> bool:
    """Whether the window still has background work of its own (estimate, checks, Results)."""
    timers = [getattr(window, n, None) for n in ("_estimate_timer", "_check_timer")]
    slots = [getattr(window, "estimates", None), getattr(window, "_dataset_checks", None),
             getattr(window.results, "reading", None)]  # fmt: skip
    return any(t is not None and t.isActive() for t in timers) or any(
        s is not None and s.running for s in slots
    )


async def settle(window: MainWindow, extra: Callable[[], bool] = lambda: False) -> None:
    started = time.perf_counter()
    await asyncio.sleep(0.3)
    while (window_busy(window) or extra()) and time.perf_counter() - started < SETTLE_TIMEOUT_S:
        await asyncio.sleep(0.05)


async def edit_fields(window: MainWindow, arch: str, edits: int) -> None:
    field(window, "model.arch").setCurrentText(arch)
    await settle(window)  # choosing the architecture is the first edit
    tau, lr, batch, rate = field(window, "model.tau"), field(window, "train.lr"), \
        field(window, "train.batch_size"), field(window, "poison.rate")  # fmt: skip
    for i in range(edits):
        if i % 2 == 0:
            tau.setValue(2.0 + 0.5 * (i + 1))  # a new network to estimate
        else:
            lr.setValue(0.001 * (i + 1))
            batch.setValue(16 + i)
            rate.setValue(0.05 + 0.01 * i)
        await asyncio.sleep(EDIT_MS / 1000)
    await settle(window)


def sweep_spec(window: MainWindow) -> SweepSpec:
    """A 50-point sweep of the window's experiment (built and checked before the probe
    starts: the window does this in the sweep's job, off the GUI thread)."""
    panel = window.sweep.panel
    panel.axes.item(0, 1).setText(f"0.01:{0.01 * (SWEEP_POINTS + 0.5):.3f}:0.01")
    return panel.build_spec(window.config())


async def fill_sweep(
    window: MainWindow, spec: SweepSpec, points: list[SweepPoint], folder: Path
) -> None:
    panel = window.sweep.panel
    window.tabs.setCurrentWidget(panel)
    await asyncio.sleep(0.2)
    if "points" in inspect.signature(panel.begin).parameters:
        panel.begin(spec, folder, points)  # what the sweep job's first item does
    else:  # before the job built the points off the GUI thread (for "before" figures)
        panel.begin(spec, folder)
    rng = np.random.default_rng(0)
    for point in points:
        panel.show_event(PointStarted(point.index, point.name, point.name))
        await asyncio.sleep(POINT_MS / 2000)
        row = {**point.values, "seed": point.seed, "status": "completed",
               "acc": float(rng.uniform(0.8, 1)), "asr": float(rng.uniform(0, 1)),
               "mr": float(rng.uniform(0, 1)), "run_dir": point.name, "error": ""}  # fmt: skip
        panel.show_event(PointFinished(point.index, row))
        await asyncio.sleep(POINT_MS / 2000)
    panel.show_event(SweepFinished("completed", {"completed": SWEEP_POINTS}, str(folder), 1.0))
    await settle(window)


def make_runs(folder: Path, count: int) -> None:
    """`count` copies of one tiny finished run (a run directory is self-contained)."""
    cfg = config_io.load_preset("demo")
    cfg.data.train_limit, cfg.data.test_limit, cfg.train.epochs = 64, 32, 1
    cfg.train.clean_twin = False
    first = folder / "run-0000"
    for _event in run_experiment(cfg, first):
        pass
    for i in range(1, count):
        shutil.copytree(first, folder / f"run-{i:04d}", ignore=shutil.ignore_patterns("*.pt"))


async def refresh_results(window: MainWindow, rows: int) -> None:
    """Refresh twice: the second refills a table on screen, as after every run's end."""
    window.tabs.setCurrentWidget(window.results)
    for _ in range(2):
        window.results.refresh_button.click()
        await settle(window, lambda: window.results.table.rowCount() < rows)


def report(name: str, probe: StallProbe, seconds: float) -> None:
    values = np.asarray(probe.stalls or [0.0])
    p50, p99 = np.percentile(values, [50, 99])
    over = int((values > 100).sum())
    print(
        f"{name:18s} {len(values):5d} ticks in {seconds:5.1f} s: p50 {p50:6.1f} ms, "
        f"p99 {p99:7.1f} ms, max {values.max():7.1f} ms, {over} above 100 ms",
        flush=True,
    )
    cpu, waits = np.asarray(probe.cpu or [0.0]), np.asarray(probe.waits or [0.0])
    print(
        f"{'':18s} GUI-thread CPU between ticks: p99 {np.percentile(cpu, 99):6.1f} ms, "
        f"max {cpu.max():6.1f} ms; longest wait for a CPU {waits.max():6.1f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=6, help="edits per architecture")
    parser.add_argument("--runs", type=int, default=200, help="run folders for Results")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args()
    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average), {os.cpu_count()} cores",
          flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gui-stalls-") as tmp:
        tmp_path = Path(tmp)
        runs = tmp_path / "runs"
        runs.mkdir()
        if args.runs:
            make_runs(runs, args.runs)
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(runs_folder=tmp_path / "empty", settings=settings)
        window.resize(1280, 720)
        window.show()
        freeze = getattr(app_module, "freeze_startup_heap", None)
        if freeze is not None:  # as the application does after opening its window
            freeze()
        probe = StallProbe(window)
        spec = sweep_spec(window)
        points = spec.points()  # the sweep job's work, not the GUI thread's
        assert len(points) == SWEEP_POINTS, len(points)
        scenarios = {
            "edit vgg11": lambda: edit_fields(window, "vgg11", args.edits),
            "edit resnet18": lambda: edit_fields(window, "resnet18", args.edits),
            "sweep 50 points": lambda: fill_sweep(window, spec, points, tmp_path / "sweep"),
            "results refresh": lambda: refresh_results(window, args.runs),
        }
        chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(scenarios)

        async def run_all() -> None:
            await settle(window)  # the window's own start-up is not measured
            for name in chosen:
                if name == "results refresh":
                    window.results.runs_folder = runs
                probe.start()
                started = time.perf_counter()
                await scenarios[name]()
                probe.stop()
                report(name, probe, time.perf_counter() - started)

        loop.run_until_complete(run_all())
        window.close()
    print(f"load after: {os.getloadavg()[0]:.2f} (1-min average)", flush=True)


if __name__ == "__main__":
    main()
