"""Root test configuration.

The HA test harness looks integrations up through the ``custom_components`` package; it must
be imported here, at module level, or the ``hass`` fixture finds the harness's own testing
config first ("Integration not found"). Engine and add-on tests need nothing else.
"""

import logging
import os
from pathlib import Path

from hypothesis import settings

import custom_components.heatbalance  # noqa: F401

# Coverage in the subprocesses tests start in another directory (pytest-cov 6, HA 2025, measures
# them): coverage looks for its settings in the working directory, so tests/addon's gateway runs
# in addon/ found none and measured site-packages. Point them at pyproject, whose sources are
# made absolute with the root.
_ROOT = Path(__file__).resolve().parent.parent
os.environ["COVERAGE_RCFILE"] = str(_ROOT / "pyproject.toml")
os.environ["HEATBALANCE_COVERAGE_ROOT"] = str(_ROOT)

# No deadline: these 2-core machines are noisy and timing is benchmarks' business, not tests'.
settings.register_profile("heatbalance", deadline=None)
# CI draws the same examples every run, so a landing is never decided by a lucky or unlucky
# draw; developers' runs (the default profile) keep exploring new examples.
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HEATBALANCE_HYPOTHESIS_PROFILE", "heatbalance"))
# The HA test plugin sets SQLAlchemy's engine logger to INFO (for HA's recorder tests); the
# archive's thousands of statements would fill every failure report. Warnings still show.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
