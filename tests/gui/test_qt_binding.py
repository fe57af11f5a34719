"""The Qt binding must not corrupt reference counts when signals reach Python callables.

PySide6 6.12.0 decref'd the return value of a plain Python callable connected to a signal
once too often: each event took one reference from None/True/False until the window died
with "Fatal Python error: none_dealloc" after a few thousand training batches.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class Source(QObject):
    fired = Signal(object)


def test_signals_to_python_callables_keep_reference_counts(qapp) -> None:
    source = Source()
    source.fired.connect(lambda item: None)
    source.fired.connect(lambda item: True)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for item in range(2000):
        source.fired.emit(item)
    assert sys.getrefcount(None) - none_before > -50
    assert sys.getrefcount(True) - true_before > -50
