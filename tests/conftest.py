"""Fixtures shared by the core and GUI tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Every experiment a test runs trains on one torch thread (the thread policy reads this), so
# the suite is as fast and as deterministic on a 16-core CI runner as on a 2-core laptop.
os.environ.setdefault("SNNSTUDIO_THREADS", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the repository, or skip: a user's machine does not have it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA
