"""The example configs in resources/examples stay loadable and valid as the config grows."""

from __future__ import annotations

from pathlib import Path

import pytest

from snnstudio.core import config as config_io
from snnstudio.core import validation

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.toml"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_config_is_valid(path: Path) -> None:
    cfg = validation.validate(config_io.load(path))
    assert cfg.name.replace("-", "_") == path.stem
