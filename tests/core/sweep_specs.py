"""Tiny sweep specs the sweep tests share: a few seconds per point on one thread."""

from __future__ import annotations

TINY_SET = """
[set]
"data.train_limit" = 300
"data.test_limit" = 60
"train.epochs" = 2
"train.batch_size" = 16
"train.lr" = 0.01
"sim.timesteps" = 4
"train.clean_twin" = false
"""


def tiny_spec(axes: str, name: str = "tiny", top: str = "") -> str:
    """The demo on a sliver of digits with the given axis tables appended (`top`: top-level
    keys such as repeats)."""
    return f'base = "demo"\nname = "{name}"\n{top}\n{TINY_SET}\n{axes}\n'
