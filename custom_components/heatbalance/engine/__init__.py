"""heatbalance engine: the Home-Assistant-free core of the integration.

A secondary district-heating network (substation → pipes → thermal inlets, §2.0.3) as plain
dataclasses (``model``), loaded from YAML/JSON/CSV (``loader``, ``networks`` for the built-ins),
solved hydraulically and thermally, simulated, evaluated and balanced. Only numpy, scipy,
PyYAML and voluptuous at runtime. This file deliberately imports nothing, so ``import
custom_components.heatbalance.engine`` stays fast; import the submodule you need.
"""
