"""`snnstudio` with no arguments: the window, or one clear line when there is no display."""

from __future__ import annotations

import sys

from snnstudio.cli import main


def test_no_display_is_one_line_and_exit_2(monkeypatch, capsys):
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snnstudio: error: no display") and err.count("\n") == 1
