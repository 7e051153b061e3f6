"""Valve characteristic inversion and safety limits (§5.3.6-3)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.heatbalance.engine.control.flow_balance import opening_for_kv
from custom_components.heatbalance.engine.control.safety import SafetyLimits, apply_limits
from custom_components.heatbalance.engine.model import Device


@pytest.mark.parametrize("opening", [0.0, 0.02, 0.2, 0.5, 0.93, 1.0])
@pytest.mark.parametrize("characteristic", ["linear", "equal_percentage"])
def test_opening_for_kv_inverts_the_characteristic(opening, characteristic) -> None:
    valve = Device("electric_valve", kvs=16.0, characteristic=characteristic)
    assert opening_for_kv(valve, valve.kv(opening)) == pytest.approx(opening, abs=1e-9)
    assert opening_for_kv(valve, 99.0) == 1.0
    assert opening_for_kv(Device("electric_valve", kvs=None), 1.0) == 0.0
    # a subnormal Kv (a controller's step from a near-shut valve) is shut, not a math error
    assert opening_for_kv(valve, 5e-324) == 0.0
    assert opening_for_kv(valve, math.nan) == 0.0


def test_safety_limits_refuse_contradictions() -> None:
    with pytest.raises(ValueError, match="min_opening"):
        SafetyLimits(min_opening=0.8, max_opening=0.5)
    with pytest.raises(ValueError, match="max_step"):
        SafetyLimits(max_step=0.0)
    assert SafetyLimits().to_dict()["max_step"] == 0.5


@given(
    current=st.floats(allow_nan=True, allow_infinity=True),
    proposed=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    lo=st.floats(0.0, 0.5),
    span=st.floats(0.0, 0.5),
    step=st.floats(0.01, 1.0),
)
def test_no_command_leaves_the_safety_thresholds(current, proposed, lo, span, step) -> None:
    """§5.3.6-3: whatever a controller proposes, the command stays inside the limits."""
    limits = SafetyLimits(min_opening=lo, max_opening=lo + span, max_step=step)
    value, _ = apply_limits(current, proposed, limits)
    assert math.isfinite(value)
    assert limits.min_opening <= value <= limits.max_opening
    if math.isfinite(current) and limits.min_opening <= current <= limits.max_opening:
        assert abs(value - current) <= step + 1e-12
