"""The thin Qt layer: windows, panels, views and the one worker that drives the core."""
