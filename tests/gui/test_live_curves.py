"""Curve styles come from the events' typed stage role, not from the stage's name."""

from __future__ import annotations

from PySide6.QtCore import Qt

from snnstudio.core.events import EpochDone, NetworkKind, StageRole, TimestepCurve
from snnstudio.gui.live_curves import LiveCurves


def test_styles_follow_the_stage_role_whatever_the_name(qtbot) -> None:
    curves = LiveCurves()
    qtbot.addWidget(curves)
    twin_ann = StageRole(NetworkKind.ANN, clean_twin=True)
    curves.add_event(EpochDone("first", 1, 0.9, 0.1, 0.3, 1.0, role=twin_ann))
    curves.add_event(EpochDone("clean-looking-ann", 1, 0.8, 0.9, 0.3, 1.0))  # a plain SNN
    curves.add_event(TimestepCurve("later", [0.5, 0.7], [0.2, 0.9], role=StageRole()))
    curves.refresh()
    drawn = {(plot, stage): item for (plot, stage, metric), item in curves._curves.items()}
    first, plain = drawn[("epoch", "first")], drawn[("epoch", "clean-looking-ann")]
    assert first.opts["pen"].style() == Qt.PenStyle.DashLine and first.opts["symbol"] == "t"
    assert plain.opts["pen"].style() == Qt.PenStyle.SolidLine and plain.opts["symbol"] == "o"
    assert drawn[("timestep", "later")].opts["symbol"] == "o"
