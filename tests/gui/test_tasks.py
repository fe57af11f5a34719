"""The one background-task abstraction: generator jobs and function tasks, one failure path,
a cancel that stops the work, a slot that routes each task to the callbacks of its starter."""

from __future__ import annotations

import threading
import time

import pytest
import shiboken6
from PySide6.QtWidgets import QWidget

from snnstudio.core.errors import DatasetError
from snnstudio.core.events import CancelToken, Log, check_cancel
from snnstudio.gui.tasks import Failure, Task, TaskSlot

TIMEOUT_MS = 5000


def run_task(qtbot, work) -> dict:
    """Start `work` as a Task and collect what it sends until its thread has ended."""
    got: dict = {"yielded": [], "returned": [], "failed": []}
    task = Task(work, "test")
    task.yielded.connect(got["yielded"].append)
    task.returned.connect(got["returned"].append)
    task.failed.connect(got["failed"].append)
    with qtbot.waitSignal(task.finished, timeout=TIMEOUT_MS):
        task.start()
    assert not task.running
    return got


def test_generator_job_relays_items_and_its_return_value(qtbot):
    def job(cancel: CancelToken):
        for i in range(3):
            yield Log(f"item {i}")
        return "done"

    got = run_task(qtbot, job)
    assert [e.message for e in got["yielded"]] == ["item 0", "item 1", "item 2"]
    assert got["returned"] == ["done"] and got["failed"] == []


def test_function_task_returns_its_value_computed_off_the_gui_thread(qtbot):
    got = run_task(qtbot, lambda cancel: threading.current_thread() is threading.main_thread())
    assert got["returned"] == [False]


@pytest.mark.parametrize("generator", [True, False])
def test_every_exception_is_one_failure(qtbot, generator):
    """User errors: the message alone. Bugs (anything else): type, message and traceback."""

    def user_error(cancel: CancelToken):
        if generator:
            yield Log("started")
        raise DatasetError("folder not found: /nowhere")

    def bug(cancel: CancelToken):
        if generator:
            yield Log("started")
        return {}["missing"]

    got = run_task(qtbot, user_error)
    assert got["failed"] == [Failure("folder not found: /nowhere")] and got["returned"] == []
    got = run_task(qtbot, bug)
    (failure,) = got["failed"]
    assert failure.message == "KeyError: 'missing'" and failure.is_bug
    assert "Traceback" in failure.details and 'return {}["missing"]' in failure.details


def test_cancel_stops_a_function_task_at_its_next_check(qtbot):
    checks = []

    def spin(cancel: CancelToken) -> str:
        while True:
            checks.append(1)
            check_cancel(cancel)

    task = Task(spin, "spin")
    got: list = []
    task.returned.connect(got.append)
    task.failed.connect(got.append)
    task.start()
    qtbot.waitUntil(lambda: len(checks) > 10, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(task.finished, timeout=TIMEOUT_MS):
        task.cancel()
    assert got == []  # cancelled: no value, and Cancelled is no failure


def test_cancel_lets_a_core_job_finish_its_own_way(qtbot):
    def job(cancel: CancelToken):
        while not cancel.cancelled:
            yield Log("tick")
        yield Log("cancelled")

    task = Task(job, "job")
    seen: list = []
    task.yielded.connect(seen.append)
    task.start()
    qtbot.waitUntil(lambda: len(seen) > 2, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(task.finished, timeout=TIMEOUT_MS):
        task.cancel()
    assert seen[-1].message == "cancelled"


def test_one_long_job_at_a_time_and_busy_is_said_in_the_starting_tab(qtbot, messages):
    release = threading.Event()
    slot = TaskSlot()
    slot.start("experiment", lambda cancel: release.wait(), on_failed=print)
    with pytest.raises(RuntimeError):
        slot.start("detection", lambda cancel: None, on_failed=print)
    tab = QWidget()
    qtbot.addWidget(tab)
    assert not slot.try_start(tab, "detection", lambda cancel: None, on_failed=print)
    assert messages.texts("warning") == ["the experiment is still running: stop it or wait for it"]
    assert messages.parents == [tab]
    with qtbot.waitSignal(slot.busy_changed, timeout=TIMEOUT_MS) as busy:
        release.set()
    assert busy.args == [False] and not slot.running


def test_a_replacing_slot_cancels_the_old_task_and_drops_its_results(qtbot):
    slot = TaskSlot(replace=True)
    results: list = []
    old_started = threading.Event()

    def old(cancel: CancelToken) -> str:
        old_started.set()
        while not cancel.cancelled:
            pass
        return "old"  # cancelled: dropped

    slot.start("check", old, on_returned=results.append, on_failed=results.append)
    old_task = slot.task
    assert old_started.wait(TIMEOUT_MS / 1000)
    slot.start("check", lambda cancel: "new", on_returned=results.append, on_failed=print)
    assert old_task.token.cancelled
    qtbot.waitUntil(lambda: not slot.running and not slot._retired, timeout=TIMEOUT_MS)
    assert results == ["new"]


def test_slot_close_joins_every_thread(qtbot, no_dangling_qthreads):
    """Every task runs on a QThread that the dangling-thread guard sees; close() joins them."""
    slot = TaskSlot(replace=True)
    for _ in range(3):  # the first two are cancelled, but only end after their sleep
        slot.start("check", lambda cancel: time.sleep(0.5), on_failed=print)
    threads = [t for t in no_dangling_qthreads if shiboken6.isValid(t) and t.isRunning()]
    assert len(threads) == 3
    slot.close()
    assert not any(t.isRunning() for t in threads if shiboken6.isValid(t))
