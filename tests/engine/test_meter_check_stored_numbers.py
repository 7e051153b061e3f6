"""A stored list of the meter check read back by the loop's one rule, also by its shortcut
(§5.3.8 restore; issue 10, HA start at 23k).

``meters._numbers`` reads a JSON list of plain floats by :func:`.diagnosis.all_stored_floats`
(C loops, then a copy) and anything else value by value. The shortcut must take exactly what
the rule takes: here every damage kind the rule refuses, at each place of a list of floats,
against :func:`.diagnosis.stored_number` of each value.
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.heatbalance.engine.diagnosis import RESTORE_ERRORS, stored_number
from custom_components.heatbalance.engine.meters import _numbers

# what a damaged store may hold where a number belongs
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
    {},
]


def _by_the_rule(values: list[Any], low: float) -> list[float] | None:
    """Each value by :func:`stored_number` (None: one is refused)."""
    try:
        return [stored_number(v, low) for v in values]
    except RESTORE_ERRORS:
        return None


def _read(values: list[Any], low: float) -> list[float] | None:
    try:
        return _numbers(values, low)
    except RESTORE_ERRORS:
        return None


@pytest.mark.parametrize("low", [-1e100, 0.0])
def test_a_list_is_read_as_each_value_by_the_rule(low: float) -> None:
    base = [0.5, 1e-3, 1e100, 0.0, 7.25]
    assert _read(base, low) == base
    for where in range(len(base)):
        for kind in KINDS:
            damaged = [*base[:where], kind, *base[where + 1 :]]
            read = _read(damaged, low)
            assert read == _by_the_rule(damaged, low), (where, kind)
            assert read is None or all(type(v) is float for v in read), (where, kind)
    copied = _numbers(base, low)
    copied.append(1.0)
    assert len(base) == 5  # a copy: the stored list is not the learnt one
