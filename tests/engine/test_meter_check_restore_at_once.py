"""The meter check's inlets read back by one check over all their lists (issue 10, HA start):
the same inlets as the field-by-field read, and no damage it does not refuse (§5.3.8).

:func:`meters._inlet` checks an inlet whose numbers are all plain floats at once and copies
it; anything else goes field by field, which names the damage. Here every stored field of
an inlet (containers and leaves) is damaged in turn with each kind the loop's rule refuses:
wherever the check at once passes, the field-by-field read gives the same inlet.
"""

from __future__ import annotations

import copy
from typing import Any
from unittest.mock import patch

import pytest

from custom_components.heatbalance.engine import meters
from custom_components.heatbalance.engine.diagnosis import RESTORE_ERRORS
from custom_components.heatbalance.engine.meters import _checked_at_once, _inlet, _inlet_plain

from .test_meter_check_restore import _stored
from .test_restore_damaged import MISSING, _damage, _paths

# what a damaged store may hold where a number, list, flag or series belongs
KINDS: list[Any] = [
    float("nan"),
    float("inf"),
    -float("inf"),
    1e101,
    -1e101,
    1e308,
    10**400,
    -1.0,
    -1,
    2.5,
    0,
    True,
    None,
    "0.1",
    [],
    [0.1, 0.2],
    {},
    MISSING,
]


def _field_by_field(stored: dict[str, Any]) -> dict[str, Any] | None:
    """The inlet as :func:`_inlet` reads it without the check at once (None: refused)."""
    with patch.object(meters, "_checked_at_once", lambda _stored: False):
        return _read(stored)


def _read(stored: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return _inlet_plain(_inlet(stored))
    except RESTORE_ERRORS:
        return None


@pytest.fixture(scope="module")
def inlet() -> dict[str, Any]:
    """estate12's B001 as stored, with quantisation rows on its ratio series and a value
    on every optional field (a fresh run has no quantised register)."""
    stored = copy.deepcopy(_stored()["inlets"]["B001"])
    values = stored["ratio"]["values"]
    stored["ratio"]["quants"] = [[0.001 * k, 0.002, float(k % 2)] for k in range(len(values))]
    return stored


def test_an_undamaged_inlet_reads_the_same_at_once(inlet: dict[str, Any]) -> None:
    assert _checked_at_once(inlet)
    at_once = _inlet_plain(_inlet(inlet))
    assert at_once == _field_by_field(inlet)
    assert at_once["ratio"]["quants"] == inlet["ratio"]["quants"]
    with_int = _damage(inlet, ("offsets", 0), 0)  # an int: read field by field, as a float
    assert not _checked_at_once(with_int)
    assert _inlet_plain(_inlet(with_int)) == _field_by_field(with_int)


def test_no_damage_passes_the_check_at_once_that_the_fields_refuse(
    inlet: dict[str, Any],
) -> None:
    passed = 0
    for path in _paths(inlet):
        for value in KINDS:
            damaged = _damage(inlet, path, value)
            if not _checked_at_once(damaged):
                continue  # read field by field: the 17i tests
            passed += 1  # the register and the accrual keep their own readers: may refuse
            assert _field_by_field(damaged) == _read(damaged), (path, value)
    assert passed  # harmless changes (a missing optional field, 0.0 → 2.5) do pass
