"""Sweeps: many runs from one spec, on a local process pool or a Ray cluster, and their report.

`spec` reads and checks a spec and expands its points, `engine.run_sweep` is the generator
the CLI and the GUI drive, `backends` runs points, `results` owns results.csv and `report`
writes DIR/report/.
"""
