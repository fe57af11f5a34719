"""Tiny sweep specs the sweep tests share: a few seconds per point on one thread."""

from __future__ import annotations

TINY_SET = """
[set]
"data.train_limit" = 160
"data.test_limit" = 60
"train.epochs" = 1
"train.batch_size" = 32
"sim.timesteps" = 2
"train.clean_twin" = false
"""


def tiny_spec(axes: str, name: str = "tiny", top: str = "") -> str:
    """The demo on a sliver of digits with the given axis tables appended (`top`: top-level
    keys such as repeats)."""
    return f'base = "demo"\nname = "{name}"\n{top}\n{TINY_SET}\n{axes}\n'
