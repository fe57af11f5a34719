"""The thread policy: SNNSTUDIO_THREADS > train.threads > auto; sweep workers one thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from snnstudio.cli import main
from snnstudio.core import threads
from snnstudio.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_policy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(threads.ENV_THREADS, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_role", "process")
    monkeypatch.setattr(threads, "_worker_threads", 1)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (4, 3), (16, 15)])
def test_auto_leaves_the_gui_a_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, expected: int
) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: cores)
    assert threads.choose_threads(0, role="gui") == threads.ThreadChoice(expected, "auto")


@pytest.mark.parametrize("cores", [1, 2, 16])
def test_auto_headless_takes_every_core(monkeypatch: pytest.MonkeyPatch, cores: int) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: cores)
    assert threads.choose_threads(0, role="process") == threads.ThreadChoice(cores, "auto")


def test_omp_num_threads_caps_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: 16)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert threads.choose_threads(0).threads == 4


def test_config_then_environment_win(monkeypatch: pytest.MonkeyPatch) -> None:
    assert threads.choose_threads(3) == threads.ThreadChoice(3, "train.threads")
    monkeypatch.setenv(threads.ENV_THREADS, "2")
    assert threads.choose_threads(3) == threads.ThreadChoice(2, threads.ENV_THREADS)


def test_sweep_worker_gets_one_thread_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV_THREADS, "2")
    choice = threads.apply_thread_policy(role="worker")
    assert choice == threads.ThreadChoice(1, "sweep worker")
    assert torch.get_num_threads() == 1
    assert threads.apply_thread_policy(4).threads == 1  # a later experiment config keeps it


def test_sweep_worker_keeps_the_count_its_pool_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_worker_threads", 1)
    assert threads.apply_thread_policy(2, role="worker").threads == 2
    assert threads.apply_thread_policy(0).threads == 2
    assert torch.get_num_threads() == 2


def test_apply_sets_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: 3)
    assert threads.apply_thread_policy(role="gui").threads == 2
    assert torch.get_num_threads() == 2
    assert threads.apply_thread_policy(1).describe() == "1 torch thread (train.threads)"
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv(threads.ENV_THREADS, value)
    with pytest.raises(ConfigError, match="SNNSTUDIO_THREADS"):
        threads.choose_threads(0)
    assert main(["presets"]) == 2
    assert "SNNSTUDIO_THREADS" in capsys.readouterr().err


def test_negative_config_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"train\.threads"):
        threads.choose_threads(-1)


def _wait_policy_in_child(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(extra_env, PYTHONPATH=str(REPO))
    code = "import snnstudio, torch, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_snnstudio_asks_openmp_not_to_spin() -> None:
    assert _wait_policy_in_child({}) == "PASSIVE"
    assert _wait_policy_in_child({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
