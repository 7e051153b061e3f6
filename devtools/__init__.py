"""Developer tools shared by tests and benchmarks (not shipped with the integration or add-on).

Helpers that both ``tests/`` and ``benchmarks/`` import live here, so a benchmark never imports
from the test tree: ``pandapipes_model`` (the pandapipes 0.16 cross-check of the hydraulic
solver); ``broker`` (a real mosquitto), ``gateway_proc`` (the gateway as a real process),
``mqtt_consumer`` (a consumer on the integration's ``gateway_protocol``). Importable from the
repository root (pytest's ``pythonpath`` and ``python -m benchmarks.…`` both put the root on
``sys.path``).
"""
