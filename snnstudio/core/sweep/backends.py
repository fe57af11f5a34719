"""Where sweep points run: `local`, a process pool of --workers, or `ray`, one Ray task per
point. Both take PointTasks and hand back PointOutcomes as points finish; the sweep engine
drives them the same way.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken
from snnstudio.core.sweep.point_jobs import PointOutcome, PointTask, run_point

BACKENDS = ("local", "ray")


class Backend(Protocol):
    slots: int  # points kept in flight at once

    def submit(self, task: PointTask) -> None: ...

    def finished(self, timeout: float) -> list[PointOutcome]:
        """Outcomes of points that ended since the last call (waits up to `timeout` s)."""
        ...

    def cancel(self) -> None:
        """Ask running points to stop after their current batch (they end 'cancelled')."""
        ...

    def close(self) -> None: ...


class WorkerCancelToken(CancelToken):
    """A pool worker's token: the sweep's shared stop event is set, or the sweep process is
    gone (killed with SIGKILL or SIGTERM, its terminal closed). Without the second check a
    point ran on unrecorded after its sweep was killed, writing into the folder a resumed
    sweep reruns it in."""

    def __init__(self, stop: Any, parent: multiprocessing.process.BaseProcess | None) -> None:
        self._event = stop
        self._parent = parent  # None where this process is no pool worker

    @property
    def orphaned(self) -> bool:
        # is_alive() polls the parent's sentinel pipe: one select() a batch
        return self._parent is not None and not self._parent.is_alive()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or self.orphaned


# ---------------------------------------------------------------- local: a process pool

_worker_cancel: WorkerCancelToken | None = None


def _init_local_worker(stop: Any) -> None:
    """Pool worker start-up: Ctrl-C is the parent's to handle (it cancels points between
    batches); the shared stop event and the parent's death become this process's cancel
    token."""
    global _worker_cancel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_cancel = WorkerCancelToken(stop, multiprocessing.parent_process())


def _local_point(task: PointTask) -> PointOutcome:
    outcome = run_point(task, _worker_cancel)
    if _worker_cancel is not None and _worker_cancel.orphaned:
        # no one reads this outcome or sends another point: the pool's queue would block
        # this process for good (it holds the queue's write end itself)
        os._exit(0)
    return outcome


class LocalBackend:
    """A pool of `workers` spawned processes (spawn, not fork: torch's thread pools do not
    survive a fork), each running one point at a time with the point's thread count.

    A worker that dies (the kernel's out-of-memory killer, a crash) breaks the whole pool:
    its points fail with a message saying so, and the next points get a fresh pool, so one
    dead worker does not end the sweep."""

    def __init__(
        self, workers: int, run: Callable[[PointTask], PointOutcome] = _local_point
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._workers, self._run = workers, run
        self._pool = self._new_pool()
        # each point's future: its index and the pool it runs in
        self._running: dict[Future[PointOutcome], tuple[int, ProcessPoolExecutor]] = {}
        self.slots = workers

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._workers, mp_context=self._context, initializer=_init_local_worker,
            initargs=(self._stop,),
        )  # fmt: skip

    def submit(self, task: PointTask) -> None:
        try:
            future = self._pool.submit(self._run, task)
        except BrokenProcessPool:  # a worker died before finished() saw it
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            future = self._pool.submit(self._run, task)
        self._running[future] = task.index, self._pool

    def finished(self, timeout: float) -> list[PointOutcome]:
        if not self._running:
            return []
        done, _ = wait(list(self._running), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            index, pool = self._running.pop(future)
            try:
                out.append(future.result())
            except BrokenProcessPool:
                error = (
                    "its worker process died (killed, e.g. by the kernel's out-of-memory "
                    "killer: see `dmesg`, or crashed); the next points run in a new one"
                )
                out.append(PointOutcome(index, "failed", error=error))
                if pool is self._pool:  # not yet replaced for another of its points
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
            except Exception as exc:
                out.append(PointOutcome(index, "failed", error=f"{type(exc).__name__}: {exc}"))
        return out

    def cancel(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------- ray: one task per point


class CancelFlag:
    """A Ray actor every point task polls: set once, the points stop between batches."""

    def __init__(self) -> None:
        self.value = False

    def set(self) -> None:
        self.value = True

    def is_set(self) -> bool:
        return self.value


class RayCancelToken(CancelToken):
    """Polls the CancelFlag actor, at most once a second (a batch is far shorter)."""

    POLL_SECONDS = 1.0

    def __init__(self, flag: Any) -> None:
        self._flag = flag
        self._checked = 0.0
        self._value = False

    @property
    def cancelled(self) -> bool:
        now = time.monotonic()
        if not self._value and now - self._checked >= self.POLL_SECONDS:
            import ray

            self._checked = now
            self._value = bool(ray.get(self._flag.is_set.remote()))
        return self._value


def _ray_point(task: PointTask, flag: Any) -> PointOutcome:
    token = RayCancelToken(flag)
    if token.cancelled:  # queued before Stop: end without touching the run directory
        return PointOutcome(task.index, "cancelled")
    return run_point(task, token)


class RayBackend:
    """Points as Ray tasks asking `num_cpus` = the point's threads and one GPU for a CUDA
    point; without an address a local instance starts (and stops with the sweep)."""

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "--backend ray needs Ray: python3 -m pip install ray (or the test extra)"
            ) from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            # workers import the same snnstudio as this process (a source checkout included)
            package_root = str(Path(__file__).resolve().parents[3])
            env = {"env_vars": {"PYTHONPATH": package_root}}
            try:
                ray.init(address=address, runtime_env=None if address else env,
                         include_dashboard=False, log_to_driver=False)  # fmt: skip
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"cannot start or join Ray at {address!r}: {exc}") from None
        resources = ray.cluster_resources()
        self._gpus = resources.get("GPU", 0)
        self.slots = max(1, int(resources.get("CPU", 1)))
        self._flag = ray.remote(num_cpus=0)(CancelFlag).remote()
        self._remote = ray.remote(_ray_point)
        self._running: dict[Any, int] = {}

    def submit(self, task: PointTask) -> None:
        device = task.config.get("train", {}).get("device", "auto")
        gpus = 1 if device == "cuda" or (device == "auto" and self._gpus >= 1) else 0
        options = {"num_cpus": task.threads, "num_gpus": gpus, "max_retries": 0}
        ref = self._remote.options(**options).remote(task, self._flag)
        self._running[ref] = task.index

    def finished(self, timeout: float) -> list[PointOutcome]:
        if not self._running:
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready:  # whatever else has finished too
            ready, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=0)
        out = []
        for ref in ready:
            index = self._running.pop(ref)
            try:
                out.append(ray.get(ref))
            except Exception as exc:  # the task's process died or Ray lost it
                out.append(PointOutcome(index, "failed", error=f"{type(exc).__name__}: {exc}"))
        return out

    def cancel(self) -> None:
        self._flag.set.remote()

    def close(self) -> None:
        if self._running:  # stopped early: let the running points end their batch
            self.cancel()
            self._ray.wait(list(self._running), num_returns=len(self._running), timeout=60)
        if self._owns:
            self._ray.shutdown()


def check_backend(name: str, workers: int) -> None:
    """Refuse an unknown backend or a worker count below 1 before anything runs."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend {name!r} is not one of: {', '.join(BACKENDS)}")
    if workers < 1:
        raise ConfigError(f"--workers {workers}: need at least 1")


def make_backend(name: str, workers: int, ray_address: str | None) -> Backend:
    check_backend(name, workers)
    if name == "local":
        return LocalBackend(workers)
    return RayBackend(ray_address)
