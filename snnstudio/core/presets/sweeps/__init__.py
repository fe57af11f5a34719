"""Sweep presets shipped with snnstudio (`snnstudio sweep --preset NAME`)."""
