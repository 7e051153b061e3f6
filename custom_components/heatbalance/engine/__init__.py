"""heatbalance engine: the Home-Assistant-free core of the integration.

A secondary district-heating network (substation → pipes → thermal inlets, §2.0.3) as plain
dataclasses (``model``), loaded from YAML/JSON/CSV (``loader``, ``networks`` for the built-ins),
solved hydraulically and thermally, simulated, evaluated and balanced. Only numpy, scipy,
PyYAML and voluptuous at runtime; the operator's archive and its reports (``archive``,
``reports``, §5.3.9) add SQLAlchemy (in HA's venv), openpyxl and matplotlib, imported only by
whoever reads an archive. This file deliberately imports nothing, so ``import
custom_components.heatbalance.engine`` stays fast; import the submodule you need.
"""
