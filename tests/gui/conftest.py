"""pytest-qt fixtures: offscreen Qt, a qasync loop, a window with its own settings and runs
folder, recorded message boxes, and a guard that fails any test leaving a QThread running."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import asyncio
import gc
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import qasync
import shiboken6
import torch
from PySide6.QtCore import QSettings, QThread
from PySide6.QtWidgets import QMessageBox

from snnstudio.gui.app import collect_garbage_in_gui_thread, configure_pyqtgraph


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One intra-op thread while the GUI tests train, restored afterwards: on the shared
    2-core machine under load (1-min load ~6), a 200-sample demo epoch took about 40 s in the
    main thread with torch's two OpenMP threads against 0.5-2 s with one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_dangling_qthreads(monkeypatch: pytest.MonkeyPatch):
    """Fail a test that leaves a QThread running (napari's `_dangling_qthreads` idea)."""
    started: list[QThread] = []
    original_start = QThread.start

    def tracking_start(self: QThread, *args: object) -> None:
        started.append(self)
        original_start(self, *args)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield started
    running = [t for t in started if shiboken6.isValid(t) and t.isRunning()]
    for thread in running:  # do not let a stray thread crash later tests
        thread.wait(10_000)
    # Collect this test's Qt wrappers now, in the main thread, with no worker running. Left to
    # a collection that happens to run in a later test's worker thread, PySide hands their
    # deletion to the main thread, which then blocked on a Qt lock held by that worker while
    # the worker waited for the GIL: the suite hung at 1% CPU.
    gc.collect()
    if running:
        pytest.fail(f"{len(running)} QThread(s) still running after the test")


@pytest.fixture(autouse=True, scope="session")
def garbage_collected_in_gui_thread(qapp):
    """As in the app: cyclic GC only on the GUI thread while the GUI tests run (a collection
    on a job's thread once deadlocked destroying a widget there); restored afterwards."""
    collector = collect_garbage_in_gui_thread()
    yield
    collector.timer.stop()
    gc.enable()
    gc.collect()


@pytest.fixture(scope="session")
def qasync_loop(qapp):
    """qasync's loop over pytest-qt's QApplication: tasks run while qtbot processes events."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)


@dataclass
class MessageLog:
    """QMessageBox calls, recorded instead of shown: the static ones and the boxes opened by
    `tasks.show_failure` (kind 'warning' for a user error, 'critical' for a bug). `answer` is
    what QMessageBox.question and a modal box's exec return (closing the window during a run
    asks it)."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # detailed text of each box opened
    parents: list[object] = field(default_factory=list)  # the widget each box was opened on
    answer: QMessageBox.StandardButton = QMessageBox.StandardButton.Yes
    while_asked: object = None  # called with a modal box (exec) before it is answered

    def texts(self, kind: str | None = None) -> list[str]:
        return [text for k, _title, text in self.calls if kind is None or k == kind]


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> MessageLog:
    log = MessageLog()
    for kind in ("warning", "critical", "information", "question"):

        def record(parent, title, text, *args, _kind=kind, **kwargs):
            log.calls.append((_kind, title, text))
            log.parents.append(parent)
            return log.answer if _kind == "question" else QMessageBox.StandardButton.Ok

        monkeypatch.setattr(QMessageBox, kind, staticmethod(record))

    def record_open(box: QMessageBox, *args) -> None:
        kind = "critical" if box.icon() == QMessageBox.Icon.Critical else "warning"
        log.calls.append((kind, box.windowTitle(), box.text()))
        log.details.append(box.detailedText())
        log.parents.append(box.parentWidget())
        box.deleteLater()

    monkeypatch.setattr(QMessageBox, "open", record_open)

    def record_exec(box: QMessageBox, *args) -> QMessageBox.StandardButton:
        if callable(log.while_asked):
            log.while_asked(box)
        log.calls.append(("question", box.windowTitle(), box.text()))
        log.parents.append(box.parentWidget())
        return log.answer

    monkeypatch.setattr(QMessageBox, "exec", record_exec)
    return log


@pytest.fixture
def window(qtbot, qasync_loop, messages, tmp_path: Path):
    from snnstudio.gui.main_window import MainWindow

    configure_pyqtgraph()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(runs_folder=tmp_path / "runs", settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.splits is not None, timeout=20_000)  # the async dataset check
    yield win
    win.close()
