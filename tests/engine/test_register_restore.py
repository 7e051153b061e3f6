"""A heat meter's stored energy register read back checked (§5.3.8-2, restore).

:meth:`Register.from_plain` took stored numbers unchecked (``float``/``int``): NaN, ±inf,
True, text like ``"1.5"``, a count of 2.5 or −1, a resolution that is no decimal step. Some
crash a later cycle: a negative resolution with a kept change of 0 divides by zero in
:meth:`Register.step`; a resolution of 1e-320 overflows ``round`` in ``_learn``. Now each
number is checked by the loop's one rule (:func:`.diagnosis.is_number`/``is_count``, as
plausibility's restore): a damaged register raises ValueError, and its owner (plausibility,
the meter check) restarts only that part.
"""

from __future__ import annotations

import pytest

from custom_components.heatbalance.engine.registers import Register

GOOD = [2, 0.1, 120.0, 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0]  # count, σ, kwh, t, res, steps…


def test_a_register_round_trips() -> None:
    register = Register.from_plain(GOOD)
    assert register.to_plain() == GOOD
    assert Register.from_plain(register.to_plain()).step() == 1.0
    assert Register.from_plain({}) == Register()
    assert Register.from_plain([0, None, None, None, 1000.0]) == Register()


DAMAGED = [
    [2, 0.1, 120.0, 3600.0, -1.0, 0.0, 2.0, 118.0, 3500.0],  # step() divided by zero
    [2, 0.1, 120.0, 3600.0, 1e-320, 1.0, 2.0, 118.0, 3500.0],  # _learn overflowed round()
    [2, 0.1, 120.0, 3600.0, 0.3, 1.0, 2.0, 118.0, 3500.0],  # no decimal step
    [2, 0.1, float("nan"), 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0],
    [2, 0.1, 120.0, float("inf"), 1.0, 1.0, 2.0, 118.0, 3500.0],
    [2, 0.1, 120.0, 3600.0, 1.0, 1.0, 2.0, "118", 3500.0],  # text
    [2, True, 120.0, 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0],  # a bool
    [2, -0.1, 120.0, 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0],  # a negative σ
    [2, 0.1, 120.0, 3600.0, 1.0, 1.0, -2.0, 118.0, 3500.0],  # a change that went down
    [2, 0.1, 120.0, 3600.0, 1.0, 1.0, None, 118.0, 3500.0],  # a change of None
    [2.5, 0.1, 120.0, 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0],  # a count of 2.5
    [-1, 0.1, 120.0, 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0],  # a negative count
    [10**400, 0.1, 120.0, 3600.0, 1.0],  # a count beyond a float
    [2, 0.1, 10**400, 3600.0, 1.0, 1.0, 2.0],  # a number beyond a float (OverflowError)
    [2, 0.1, 1e308, 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0],  # beyond the stored bound 1e100
    [2, 0.1, 120.0, 3600.0, 1.0, 1.0, 2.0, -1e308, 3500.0],  # (the next span: 1e308 kWh)
    [3, 0.1, 120.0, 3600.0, 1.0, 1.0, 2.0, 118.0, 3500.0],  # count and length disagree
    [40, 0.1, 120.0, 3600.0, 1.0, *[1.0] * 40],  # more changes than are kept
    "2,0.1,120",  # not a list
]


@pytest.mark.parametrize("data", DAMAGED, ids=range(len(DAMAGED)))
def test_a_damaged_register_raises_value_error(data: object) -> None:
    with pytest.raises(ValueError):
        Register.from_plain(data)


def test_the_found_crashes_are_what_the_check_prevents() -> None:
    """Without the check, the first two damaged registers restored and then crashed a cycle."""
    register = Register(120.0, 3600.0, 118.0, 3500.0, 0.1, -1.0, [0.0, 2.0])
    with pytest.raises(ZeroDivisionError):
        register.step()
    register = Register(120.0, 3600.0, 118.0, 3500.0, 0.1, 1e-320, [1.0, 2.0])
    with pytest.raises(OverflowError):
        register.read(121.0, 3630.0)
