"""No bytes crash a reader: random files and mutated valid files end in a value or a one-line
SnnStudioError, never another exception (tests/core/reader_targets.py lists the readers).

CI runs SNNSTUDIO_FUZZ_EXAMPLES (default 150) examples per target and strategy; a longer run:
`SNNSTUDIO_FUZZ_EXAMPLES=2000 python3 -m pytest tests/core/test_reader_fuzz.py`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snnstudio.core.errors import SnnStudioError
from tests.core.reader_targets import TARGETS, ReaderTarget

EXAMPLES = int(os.environ.get("SNNSTUDIO_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 150,  # CI: the same examples every run; longer runs explore
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
INT32_EDGES = [0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[str, int, int]]:
    """Edits of a valid file: flip a byte, write an extreme 32-bit value, cut, insert, delete."""
    kinds = st.sampled_from(["set", "int32", "truncate", "insert", "delete"])
    edit = st.tuples(kinds, st.integers(0, max(size - 1, 0)), st.integers(0, 255))
    return draw(st.lists(edit, min_size=1, max_size=6))


def apply(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, at, value in edits:
        at = min(at, max(len(buf) - 1, 0))
        if kind == "set" and buf:
            buf[at] = value
        elif kind == "int32":
            edge = INT32_EDGES[value % len(INT32_EDGES)]
            order = "big" if value % 2 else "little"
            buf[at : at + 4] = edge.to_bytes(4, order)
        elif kind == "truncate":
            del buf[at:]
        elif kind == "insert":
            buf[at:at] = bytes([value]) * (1 + value % 8)
        elif kind == "delete":
            del buf[at : at + 1 + value % 8]
    return bytes(buf)


def read_must_not_crash(target: ReaderTarget, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target.read(path)
    except SnnStudioError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message, message


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():  # type: ignore[no-untyped-def]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_valid_sample_files_are_read(name: str, tmp_path: Path) -> None:
    """The fuzz tests mutate these files: each must be read without error, into a value."""
    target = TARGETS[name]
    path = target.valid(tmp_path / f"valid{target.suffix}")
    value = target.read(path)
    assert value is not None  # arrays, frames, a config, a network, a trigger
    if isinstance(value, np.ndarray):
        assert value.size > 0


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_random_bytes_are_refused_cleanly(name: str, tmp_path: Path) -> None:
    target = TARGETS[name]
    path = tmp_path / f"random{target.suffix}"

    @FUZZ
    @given(data=st.binary(max_size=2048))
    def check(data: bytes) -> None:
        read_must_not_crash(target, path, data)

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutated_valid_files_are_refused_cleanly(name: str, tmp_path: Path) -> None:
    target = TARGETS[name]
    valid = target.valid(tmp_path / f"valid{target.suffix}").read_bytes()
    path = tmp_path / f"mutated{target.suffix}"

    @FUZZ
    @given(edits=mutations(len(valid)))
    def check(edits: list[tuple[str, int, int]]) -> None:
        read_must_not_crash(target, path, apply(valid, edits))

    check()
