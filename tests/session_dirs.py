"""Temporary folders that live for the whole test session and are removed when it ends.

The cached runs that several test files share (`functools.cache`) cannot use pytest's
per-test `tmp_path`; without this, every session left a few MB of runs in the system's
temporary folder.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def session_dir(prefix: str) -> Path:
    """A new temporary folder, removed (with everything in it) when the interpreter exits."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
