"""Root test configuration.

The HA test harness looks integrations up through the ``custom_components`` package; it must
be imported here, at module level, or the ``hass`` fixture finds the harness's own testing
config first ("Integration not found"). Engine and add-on tests need nothing else.
"""

import gc
import logging
import os
import types
from pathlib import Path
from typing import Any

import freezegun.api
import pytest
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


def _module_attributes(module: types.ModuleType) -> list[tuple[str, Any]]:
    """The names a module has set, for freezegun's search for time functions to patch: HA
    2026's harness reads ``__dict__`` (``patch_time.ha_get_module_attributes``); freezegun's
    own ``dir()`` + ``getattr`` imports every lazy package's whole tree (scipy, matplotlib)
    the first time a test freezes time, on HA 2025's harness: 461 more modules and 0.84 s of
    CPU in that test (0.04 s this way), and each later freeze walks them all again."""
    return list(getattr(module, "__dict__", {}).items())


def _module_attributes_hash(module: types.ModuleType) -> str:
    """Freezegun's cache key over the same namespace (HA 2026's
    ``ha_get_module_attributes_hash``)."""
    return f"{id(module)}-{hash(frozenset(getattr(module, '__dict__', {})))}"


# HA 2026's plugin sets its own (the same rule) before each test; HA 2025's sets none.
freezegun.api._get_module_attributes = _module_attributes  # type: ignore[attr-defined]
freezegun.api._get_module_attributes_hash = _module_attributes_hash  # type: ignore[attr-defined]


@pytest.fixture(autouse=True, scope="module")
def garbage_collection() -> None:
    """Collect, then freeze what survives, at each module's start: the HA harness's own
    fixture of this name as HA 2026's plugin has it (HA 2025.4's only collects).

    Without the freeze every full collection walks everything the suite has made so far
    (imports, caches, what earlier tests leave behind); after it, a collection walks what was
    made since the module began. Frozen objects are still freed by reference counting; only
    one that later becomes garbage in a reference cycle stays until the process ends (the
    collect just before freezes no such garbage). ``test_gc_tuning``, which needs the
    collector to see everything, unfreezes first.
    """
    gc.collect()
    gc.freeze()


_ENGINE_TESTS = _ROOT / "tests" / "engine"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``tests/engine`` runs last; ``one_version`` tests are skipped, with the reason shown,
    when ``scripts/test --matrix`` runs this version after the one that ran them (it says
    why).

    Engine last (19e): in the fresh-clone CI on HA 2025 (with coverage) the recorder tests
    that freeze time (``test_estimated_statistics``, ``test_network_energy``) took 25-44 s
    each, 3-6 s alone, and ``tests/engine`` ran before them. Moving it last did not help:
    the nineteenth session's CI on HA 2025 still took 46.5, 39.3, 38.3, 27.3 and 19.2 s for
    the five (170 s; 163 s before), so ``tests/engine`` is not the cause; ``tests/addon``,
    which runs first on HA 2025 only, is the suspect left. The order is kept: a changed order
    must be proven by a whole CI run (this one exposed a leaked module setting, see
    ``benchmarks/bench_product_faults.engine_run``). The sort is stable: files and their
    tests keep their order. A whole-suite ``scripts/test`` spreads the files over xdist
    workers (``--dist loadfile``), where the order holds within each worker."""
    items.sort(key=lambda item: _ENGINE_TESTS in item.path.parents)
    if os.environ.get("HEATBALANCE_ONE_VERSION_DONE") != "1":
        return
    skip = pytest.mark.skip(reason="one_version: run on the first HA version of the matrix")
    for item in items:
        if "one_version" in item.keywords:
            item.add_marker(skip)
