"""Developer tools shared by tests and benchmarks (not shipped with the integration or add-on).

Helpers that both ``tests/`` and ``benchmarks/`` import live here, so a benchmark never imports
from the test tree: ``pandapipes_model`` (the pandapipes 0.16 cross-check of the hydraulic
solver). Importable from the repository root (pytest's ``pythonpath`` and ``python -m
benchmarks.…`` both put the root on ``sys.path``).
"""
