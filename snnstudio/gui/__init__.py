"""The thin Qt layer: windows, panels, views and the background tasks that drive the core."""
