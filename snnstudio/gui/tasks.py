"""Background work for the window: one abstraction for long jobs and short tasks.

Modelled on superqt's `FunctionWorker`/`GeneratorWorker` (`utils/_qthreading.py`) and Orange3's
`ConcurrentMixin` (`widgets/utils/concurrent.py`): the work is a plain callable of a CancelToken
that runs on its own QThread. If it returns a generator (a core job), every item it yields is
relayed as `yielded` and its return value as `returned`; otherwise its value is `returned`.
Every exception, a user error (SnnStudioError) or a bug, becomes one `failed(Failure)` signal,
and the tab that started the task shows it with `show_failure`. Cancel sets the token: core
jobs stop at their next check and end with RunFinished(status='cancelled'); a cancelled task's
value is dropped and Cancelled raised inside it is no failure.

A `TaskSlot` holds at most one task for its owner and connects the task's signals to the
callbacks its starter passed: events reach the panel that started the work, not a switch
on a job-kind string.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QTabWidget, QWidget

from snnstudio.core.errors import SnnStudioError
from snnstudio.core.events import Cancelled, CancelToken

Work = Callable[[CancelToken], Any]
Callback = Callable[[Any], None]


@dataclass(frozen=True)
class Failure:
    """What went wrong in a task: one line for the user, a traceback when it is a bug."""

    message: str
    details: str = ""  # empty for a user error (SnnStudioError): the message says it all

    @property
    def is_bug(self) -> bool:
        return bool(self.details)

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        if isinstance(exc, SnnStudioError):
            return cls(str(exc))
        text = str(exc)
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(message, details)


class _Worker(QObject):
    """Lives on the task's thread: calls the work and emits what it yields, returns or raises."""

    yielded = Signal(object)
    returned = Signal(object)
    failed = Signal(object)
    done = Signal()

    def __init__(self, work: Work, cancel: CancelToken) -> None:
        super().__init__()
        self._work = work
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            value = self._work(self._cancel)
            if isinstance(value, Generator):
                value = from_generator(value, self.yielded.emit)
            if not self._cancel.cancelled:
                self.returned.emit(value)
        except Cancelled:
            pass
        except Exception as exc:  # every error reaches the user; none crashes the window
            self.failed.emit(Failure.from_exception(exc))
        finally:
            self.done.emit()


def from_generator(job: Generator[Any, None, Any], emit: Callback) -> Any:
    """Drive a job generator on this thread, emitting each item; return its return value."""
    while True:
        try:
            item = next(job)
        except StopIteration as stop:
            return stop.value
        emit(item)


class Task(QObject):
    """One piece of work on its own QThread.

    Signals (all delivered on the GUI thread)
    -----------------------------------------
    yielded(object): an item the work's generator yielded.
    returned(object): the work's value (not emitted after a cancel or a failure).
    failed(Failure): the work raised.
    finished(): the thread has ended, whatever happened.
    """

    yielded = Signal(object)
    returned = Signal(object)
    failed = Signal(object)
    finished = Signal()
    ended = Signal()  # just before `finished`; for the owning slot's bookkeeping

    def __init__(self, work: Work, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self._thread: QThread | None = QThread()
        self._thread.setObjectName(f"snnstudio-{name}")
        self._worker = _Worker(work, self.token)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.yielded.connect(self.yielded)  # signal to signal: queued to this thread
        self._worker.returned.connect(self.returned)
        self._worker.failed.connect(self.failed)
        # Direct: quit must not wait for the GUI thread, which may be blocked in wait().
        self._worker.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        assert self._thread is not None, "a task runs once"
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop at its next cancel check; returns at once."""
        self.token.cancel()

    def wait(self) -> None:
        """Block until the thread has ended (the window closing); `finished` is then emitted."""
        if self._thread is not None:
            self._thread.wait()
            self._on_thread_finished()

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        # `finished` is emitted just before the thread ends: wait for it before dropping the
        # last reference, or Qt aborts with "QThread: Destroyed while thread is still running".
        self._thread.wait()
        self._thread = None
        self.ended.emit()
        self.finished.emit()


class TaskSlot(QObject):
    """At most one task at a time for one owner.

    With `replace`, starting a task cancels the one running and drops whatever it still
    sends (a dataset check superseded by a newer edit); without it, starting while busy is
    refused (the window's one long job). Tasks cancelled but not yet ended are kept until
    their thread ends, so that `close()` can join every thread.
    """

    busy_changed = Signal(bool)
    yielded = Signal(object)  # every item of the current task, for observers beside its starter

    def __init__(self, parent: QObject | None = None, replace: bool = False) -> None:
        super().__init__(parent)
        self.replace = replace
        self.task: Task | None = None
        self._retired: list[Task] = []
        self._links: dict[Task, list[tuple[Any, Any]]] = {}  # each task's connections

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(
        self,
        name: str,
        work: Work,
        *,
        on_failed: Callable[[Failure], None],
        on_yielded: Callback | None = None,
        on_returned: Callback | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> Task:
        """Start `work` on a new thread; its signals go to the callbacks given here."""
        if self.task is not None:
            if not self.replace:
                raise RuntimeError(f"the {self.task.name} task is still running")
            self._retire(self.task)
        task = Task(work, name)
        links = [(task.yielded, self.yielded), (task.failed, on_failed)]
        for signal, callback in (
            (task.yielded, on_yielded), (task.returned, on_returned), (task.finished, on_finished)
        ):  # fmt: skip
            if callback is not None:
                links.append((signal, callback))
        for signal, receiver in links:
            signal.connect(receiver)
        self._links[task] = links
        task.ended.connect(self._on_ended)
        self.task = task
        task.start()
        self.busy_changed.emit(True)
        return task

    def busy_here(self, where: QWidget) -> bool:
        """While a task runs (and starting would be refused), say so in the tab `where`."""
        if self.task is None or self.replace:
            return False
        busy = Failure(f"the {self.task.name} is still running: stop it or wait for it")
        show_failure(where, "Busy", busy)
        return True

    def try_start(self, where: QWidget, name: str, work: Work, **callbacks: Any) -> bool:
        """`start`, or, while another task runs, say so in the tab `where` and return False."""
        if self.busy_here(where):
            return False
        self.start(name, work, **callbacks)
        return True

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def drop(self) -> None:
        """Cancel the current task and drop whatever it still sends, starting nothing."""
        if self.task is not None:
            self._retire(self.task)
            self.busy_changed.emit(False)

    def close(self) -> None:
        """Cancel every task of this slot and block until their threads have ended."""
        for task in [*self._retired, *([self.task] if self.task else [])]:
            task.cancel()
            task.wait()

    def _retire(self, task: Task) -> None:
        task.cancel()
        for signal, receiver in self._links.pop(task):
            signal.disconnect(receiver)  # a superseded task's late results are dropped
        self._retired.append(task)
        self.task = None

    @Slot()
    def _on_ended(self) -> None:
        task = self.sender()
        self._links.pop(task, None)  # type: ignore[call-overload]
        if task in self._retired:
            self._retired.remove(task)  # type: ignore[arg-type]
        elif task is self.task:
            self.task = None
            self.busy_changed.emit(False)


def bring_forward(widget: QWidget) -> None:
    """Show the tab that holds `widget`, so a message about it is seen where it belongs."""
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        tabs = parent.parentWidget()
        if isinstance(tabs, QTabWidget) and tabs.indexOf(child) >= 0:
            tabs.setCurrentWidget(child)
        child, parent = parent, parent.parentWidget()


def show_failure(where: QWidget, title: str, failure: Failure) -> QMessageBox:
    """A message box in the tab `where` belongs to: a warning for a user error, a critical
    box with the traceback under "Show Details…" for a bug. Window-modal, it does not block
    the caller."""
    bring_forward(where)
    icon = QMessageBox.Icon.Critical if failure.is_bug else QMessageBox.Icon.Warning
    box = QMessageBox(icon, title, failure.message, QMessageBox.StandardButton.Ok, where)
    if failure.is_bug:
        box.setInformativeText("This is a bug in snnstudio; the details hold its traceback.")
        box.setDetailedText(failure.details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
