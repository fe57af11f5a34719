"""One background job on one QThread: drive a core event generator and relay its events.

The pattern of superqt's `_qthreading.py` and Orange3's `concurrent.py`: the work is a plain
generator (the core's, untouched), the Qt side only relays what it yields as signals and
turns its exceptions into a `failed` signal. Stop = the core's CancelToken; the generator
checks it between batches and ends with RunFinished(status='cancelled').
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import CancelToken

Job = Callable[[CancelToken], Iterator[Any]]


class _GeneratorWorker(QObject):
    """Lives on the worker thread; iterates the job and emits every item it yields."""

    yielded = Signal(object)
    failed = Signal(str, str)  # message, details (a traceback for bugs, empty for user errors)
    done = Signal()

    def __init__(self, job: Job, cancel: CancelToken) -> None:
        super().__init__()
        self._job = job
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            for item in self._job(self._cancel):
                self.yielded.emit(item)
        except SnnStudioError as exc:
            self.failed.emit(str(exc), "")
        except Exception as exc:  # a bug in the core: show it, never crash the window
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        finally:
            self.done.emit()


class JobRunner(QObject):
    """Runs at most one job at a time on its own QThread.

    Signals
    -------
    event(object): every item the job yields, delivered on the GUI thread.
    failed(str, str): the job raised; the message and, for unexpected errors, a traceback.
    finished(): the thread has ended (after a normal end, a cancel or an error).
    """

    event = Signal(object)
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _GeneratorWorker | None = None
        self._cancel: CancelToken | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, job: Job) -> None:
        if self._thread is not None:
            raise RuntimeError("a job is already running")
        self._cancel = CancelToken()
        thread = QThread()
        thread.setObjectName("snnstudio-job")
        worker = _GeneratorWorker(job, self._cancel)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.yielded.connect(self.event)
        worker.failed.connect(self.failed)
        # Direct: quit must not wait for the GUI thread, which may be blocked in wait().
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next batch boundary; returns at once."""
        if self._cancel is not None:
            self._cancel.cancel()

    def stop_and_wait(self) -> None:
        """Cancel the job and block until its thread has ended (used when the window closes)."""
        thread = self._thread
        if thread is None:
            return
        self.cancel()
        thread.wait()
        self._on_thread_finished()

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        # `finished` is emitted just before the thread ends: wait for it before dropping the
        # last reference, or Qt aborts with "QThread: Destroyed while thread is still running".
        self._thread.wait()
        self._thread = self._worker = None
        self._cancel = None
        self.finished.emit()
