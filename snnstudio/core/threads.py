"""How many CPU threads torch may use: snnstudio's thread policy.

torch's own default (one OpenMP thread per core, spinning while it waits) is the fastest
choice on an idle machine and the worst on a busy one: on 2 cores beside one busy process
the demo ran 12x slower, because every parallel region waits for a thread the OS has
descheduled. The rule (README, "Threads"):

- ``SNNSTUDIO_THREADS`` (an integer >= 1) wins; else ``train.threads`` when it is > 0;
- else (auto) in the desktop application every usable core but one, at least one (its
  event thread keeps a core: a 2-core laptop trains on one thread); headless (CLI, scripts)
  every usable core, since with passive waiting two threads beside a busy process cost the
  demo only 1.19x (benchmarks/contention.py --threads 2, 2 cores); ``OMP_NUM_THREADS``,
  when set, caps it;
- a sweep worker process uses the count its pool gives it, one by default (the pool's size
  uses the cores), for good: the runs it hosts do not change it;
- inter-op threads: one (snnstudio runs no parallel graph branches);
- OpenMP never spin-waits: ``OMP_WAIT_POLICY=PASSIVE`` unless the environment says
  otherwise. OpenMP reads it when torch loads, so ``snnstudio/__init__.py`` sets it before
  any snnstudio module imports torch (:func:`prefer_passive_wait`).

Large tensors (a conv output at T = 16 is ~50 MB) would each come from a fresh mmap that
page-faults on first touch and goes back to the OS when freed, every step: glibc is told
to serve them from its heap and keep freed memory for the next step
(:func:`keep_freed_memory`; the CSNN's T = 16 step took ~27% less time).

A fixed thread count with a fixed seed gives bit-identical results on one machine (another
CPU may round the same GEMM differently); the policy never looks at the current load, so the
count (and the result) does not depend on what else runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys
from dataclasses import dataclass
from typing import Literal

from snnstudio.core.errors import ConfigError

ENV_THREADS = "SNNSTUDIO_THREADS"
Role = Literal["process", "gui", "worker"]

_role: Role = "process"
_worker_threads = 1  # what apply_thread_policy(..., role="worker") pinned
_memory_kept = False
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)


@dataclass(frozen=True)
class ThreadChoice:
    """The intra-op thread count applied and where it came from."""

    threads: int
    source: str  # "SNNSTUDIO_THREADS", "train.threads", "sweep worker" or "auto"

    def describe(self) -> str:
        return f"{self.threads} torch thread{'s' * (self.threads != 1)} ({self.source})"


def prefer_passive_wait() -> bool:
    """Ask OpenMP to sleep rather than spin while it waits; True when it can still take effect.

    Must run before torch is imported (OpenMP reads its environment when torch loads it);
    an explicit ``OMP_WAIT_POLICY`` in the environment is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return "torch" not in sys.modules


def keep_freed_memory() -> bool:
    """glibc only: allocate large blocks from the heap and keep up to 1 GiB of freed memory
    for reuse, instead of a fresh mmap (page faults) per tensor. True when it was applied."""
    global _memory_kept
    if _memory_kept or platform.libc_ver()[0] != "glibc":
        return _memory_kept
    try:
        libc = ctypes.CDLL(None)
        _memory_kept = bool(libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):
        return False
    return _memory_kept


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _positive_int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} = {text!r} must be a whole number >= 1") from None
    if value < 1:
        raise ConfigError(f"{name} = {text!r} must be a whole number >= 1")
    return value


def choose_threads(setting: int = 0, role: Role | None = None) -> ThreadChoice:
    """The intra-op thread count the rule gives for `setting` (``train.threads``, 0 = auto)."""
    role = _role if role is None else role
    if role == "worker":
        return ThreadChoice(_worker_threads, "sweep worker")
    override = os.environ.get(ENV_THREADS, "").strip()
    if override:
        return ThreadChoice(_positive_int(override, ENV_THREADS), ENV_THREADS)
    if setting < 0:
        raise ConfigError(f"train.threads = {setting} must be >= 0 (0 = auto)")
    if setting > 0:
        return ThreadChoice(setting, "train.threads")
    # the desktop application leaves its event thread a core; a headless run takes them all
    threads = max(1, usable_cores() - 1) if role == "gui" else usable_cores()
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        threads = min(threads, int(omp))
    return ThreadChoice(threads, "auto")


def apply_thread_policy(setting: int = 0, role: Role | None = None) -> ThreadChoice:
    """Set torch's intra-op (and, once, inter-op) thread counts by the rule; return the choice.

    Call it in every process that trains: the CLI and GUI do at start, the runner again with
    the experiment's ``train.threads``, and a sweep pool in each worker with
    ``role="worker"``: that pins the process to `setting` threads (0 = one) for good, so
    the runs it hosts keep the pool's count. It applies to the
    calling thread and to threads that start torch work afterwards.
    """
    import torch

    global _role, _worker_threads
    if role == "worker" and _role != "worker":
        _worker_threads = max(1, setting)
    if role is not None:
        _role = role
    keep_freed_memory()
    choice = choose_threads(setting)
    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
    # raises once it was set, or once inter-op work started: then it stays as it is
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    return choice
