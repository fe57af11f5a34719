"""Start the desktop application: a QApplication whose event loop is qasync's asyncio loop."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
from pathlib import Path

import pyqtgraph as pg
import qasync
from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

SELF_TEST_BATCHES = 3
_collector: GarbageCollector | None = None
SELF_TEST_TIMEOUT_S = 300


def configure_pyqtgraph() -> None:
    """White plots with dark text: readable on screen and in exported figures."""
    from snnstudio.gui.exporting import drop_broken_svg_exporter

    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    drop_broken_svg_exporter()


def collect_garbage_in_gui_thread() -> GarbageCollector:
    """Python's cyclic garbage collection only on the GUI thread, on a timer (pyqtgraph's
    GarbageCollector). A collection started on a job's thread can destroy a Qt widget there
    and deadlock: seen as ~QObject on the job's thread waiting in Shiboken's GIL acquire."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=1.0)
    return _collector


def freeze_startup_heap() -> None:
    """Move every object alive now (torch, pyqtgraph, Qt wrappers, the window: ~425,000) out
    of the cyclic collector's reach. A full collection walks them all: 0.7 s on the GUI
    thread on a loaded 2-core machine, whenever the collector above reaches generation 2
    (measured by benchmarks/gui_stalls.py); after the freeze it walks only what came later.

    numba's registries are loaded first and frozen with the rest: the first estimate loaded
    them on its worker thread, and the GUI thread's collector then walked their ~56,000
    objects in each generation (17-21 ms of its CPU per walk, measured)."""
    from snnstudio.core.models.neuron_kernels import load_numba_registries

    load_numba_registries()
    gc.collect()
    gc.freeze()


def application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        from snnstudio.core.threads import apply_thread_policy

        apply_thread_policy(role="gui")  # leaves this event thread a core
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationName("snnstudio")
        app.setOrganizationName("snnstudio")
    configure_pyqtgraph()
    collect_garbage_in_gui_thread()
    return app  # type: ignore[return-value]


def no_display() -> bool:
    """On Linux without X11/Wayland Qt would abort with a core dump; say so instead."""
    keys = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    return sys.platform.startswith("linux") and not any(os.environ.get(k) for k in keys)


def run_gui(argv: list[str] | None = None) -> int:
    """Open the main window and run the qasync event loop until it closes."""
    from snnstudio.gui.main_window import MainWindow

    if no_display():
        print(
            "snnstudio: error: no display (DISPLAY and WAYLAND_DISPLAY are unset); run "
            "experiments headless with `snnstudio run ...`, or try `snnstudio --self-test`",
            file=sys.stderr,
        )
        return 2
    app = application(argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    window.show()
    freeze_startup_heap()
    with loop:
        loop.run_forever()  # returns when the last window closes and the application quits
    return 0


def self_test() -> int:
    """Open the window (offscreen when there is no display), run a few batches of the demo by
    pressing Start, stop, and check the curves received points. Exit status 0 when it works."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from snnstudio.core.events import BatchDone
    from snnstudio.gui.main_window import MainWindow

    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="snnstudio-self-test-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(runs_folder=Path(tmp) / "runs", settings=settings)
        window.show()
        cfg = window.config()
        cfg.data.train_limit, cfg.data.test_limit = 256, 64
        cfg.train.epochs, cfg.train.clean_twin = 1, False
        window.set_config(cfg)
        batches: list[BatchDone] = []
        done = asyncio.Event()

        def on_event(event: object) -> None:
            if isinstance(event, BatchDone):
                batches.append(event)
                if len(batches) == SELF_TEST_BATCHES:
                    window.stop_run()

        window.jobs.yielded.connect(on_event)
        window.jobs.busy_changed.connect(lambda busy: None if busy else done.set())
        QTimer.singleShot(0, window.run_panel.start_button.click)
        with loop:
            try:
                loop.run_until_complete(asyncio.wait_for(done.wait(), SELF_TEST_TIMEOUT_S))
            except TimeoutError:
                print("self-test: the run did not finish in time")
            window.run_panel.curves.refresh()
            points = window.run_panel.curves.point_count("loss", "loss")
            window.close()
    ok = len(batches) >= SELF_TEST_BATCHES and points >= SELF_TEST_BATCHES
    print(f"self-test {'passed' if ok else 'FAILED'}: {len(batches)} batches, {points} points")
    return 0 if ok else 1
