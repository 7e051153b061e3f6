"""Safety thresholds every command passes through (§5.3.6-3, §5.3.8-1)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.heatbalance.engine.control.safety import (
    MAX_OPENING,
    MAX_SPEED,
    MAX_SPEED_STEP,
    MAX_STEP,
    MIN_FLOW,
    MIN_OPENING,
    MIN_SPEED,
    NOT_FINITE,
    SafetyLimits,
    apply_limits,
    limit_opening,
    limit_pump_speed,
)

ANY_FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_opening": 0.6, "max_opening": 0.5},
        {"max_opening": 1.2},
        {"max_step": 0.0},
        {"min_flow_ratio": -0.1},
        {"min_pump_speed": 0.9, "max_pump_speed": 0.5},
        {"max_pump_step": 1.5},
        {"min_opening": float("nan")},
        {"max_step": "a lot"},
        {"max_step": True},  # a bool is no number: True was a step limit of 1, the loosest
        {"min_flow_ratio": False},
        {"max_pump_step": 10**400},  # beyond a float: OverflowError escaped
    ],
)
def test_contradictory_or_absurd_limits_are_refused(kwargs: dict) -> None:
    """§5.3.6-3: a wrong threshold is rejected when set, not discovered mid-season."""
    with pytest.raises(ValueError):
        SafetyLimits(**kwargs)


@pytest.mark.parametrize("value", ["0.3", True, None, [0.3]])
def test_limits_from_settings_refuse_what_is_no_number(value: object) -> None:
    """§5.3.6-3: limits read from settings (options, a service, ``ControllerConfig``'s
    ``limits`` mapping) refuse text and bools with an error naming the limit; ``float`` took
    "0.3" and True (a step limit of 1) and loosened nothing only by luck."""
    with pytest.raises(ValueError, match="max_step"):
        SafetyLimits.from_dict({"max_step": value})


@pytest.mark.parametrize(
    ("stored", "want", "damaged"),
    [
        ({"max_step": 0.1, "min_flow_ratio": "x"}, {"max_step": 0.1}, ["min_flow_ratio"]),
        ({"max_step": True, "max_opening": 0.8}, {"max_opening": 0.8}, ["max_step"]),
        ({"max_step": 0.2, "min_opening": 1e308}, {"max_step": 0.2}, ["min_opening"]),
        ({"min_opening": 0.9, "max_opening": 0.5}, {}, ["min_opening", "max_opening"]),
        ("x", {}, ["limits"]),
    ],
)
def test_stored_limits_are_cleaned_and_flagged(stored: object, want: dict, damaged: list) -> None:
    """At a restore a damaged limit restarts at the engine's own, the others kept, and each
    damaged one is named (:meth:`SafetyLimits.restored`)."""
    limits, bad = SafetyLimits.restored(stored)
    assert limits == SafetyLimits(**want)
    assert bad == damaged


def test_limits_round_trip_and_ignore_unknown_keys() -> None:
    """The options store keeps limits as a dict; extra keys from newer versions are ignored."""
    limits = SafetyLimits(min_opening=0.1, max_step=0.2, min_flow_ratio=0.3)
    back = SafetyLimits.from_dict(limits.to_dict() | {"future_key": 1})
    assert back == limits


def test_opening_range_is_the_tighter_of_operator_and_device() -> None:
    limits = SafetyLimits(min_opening=0.1, max_opening=0.9)
    assert limits.opening_range(0.2, 0.95) == (0.2, 0.9)
    assert limits.opening_range(float("nan"), 2.0) == (0.1, 0.9)  # absurd device limit: none
    assert limits.speed_range(0.3, 1.0) == (0.3, 1.0)


def test_each_limit_is_named_when_it_acts() -> None:
    """§5.3.8-1 alarms need to know which threshold acted."""
    limits = SafetyLimits(min_opening=0.1, max_opening=0.9, max_step=0.2, min_flow_ratio=0.5)
    assert limit_opening(0.5, 0.6, limits) == (0.6, [])
    assert limit_opening(0.5, 1.0, limits) == (0.7, [MAX_STEP])
    assert limit_opening(0.85, 1.0, limits) == (0.9, [MAX_OPENING])
    assert limit_opening(0.15, 0.0, limits) == (0.1, [MIN_OPENING])
    assert limit_opening(0.5, 0.4, limits, flow_ratio=0.3) == (0.5, [MIN_FLOW])
    assert limit_opening(0.5, 0.6, limits, flow_ratio=0.3) == (0.6, [])  # opening is allowed
    assert limit_opening(0.5, float("nan"), limits) == (0.5, [NOT_FINITE])
    assert limit_opening(float("nan"), None, limits) == (0.1, [NOT_FINITE])


def test_pump_speed_limits() -> None:
    limits = SafetyLimits(min_pump_speed=0.4, max_pump_step=0.1)
    assert limit_pump_speed(0.8, 0.75, limits) == (0.75, [])
    value, acted = limit_pump_speed(0.8, 0.2, limits)
    assert (value, acted) == (pytest.approx(0.7), [MAX_SPEED_STEP])
    assert limit_pump_speed(0.45, 0.38, limits) == (0.4, [MIN_SPEED])
    assert limit_pump_speed(0.95, 1.0, limits, pump_max=0.98) == (0.98, [MAX_SPEED])
    # Unknown current speed: the safe side for the buildings is the top of the range.
    assert limit_pump_speed(float("nan"), None, limits) == (1.0, [NOT_FINITE])


def test_apply_limits_keeps_its_old_contract() -> None:
    """The integration's cycle uses ``apply_limits`` → (value, changed)."""
    limits = SafetyLimits(min_opening=0.05, max_step=0.5)
    assert apply_limits(0.5, 0.6, limits) == (0.6, False)
    assert apply_limits(0.5, 0.0, limits) == (0.05, True)
    assert apply_limits(0.5, None, limits) == (0.5, True)


@given(
    current=st.floats(allow_nan=True, allow_infinity=True),
    proposed=ANY_FLOAT,
    lo=st.floats(0.0, 1.0),
    width=st.floats(0.0, 1.0),
    step=st.floats(0.01, 1.0),
    dev_min=st.floats(allow_nan=True, allow_infinity=True),
    dev_max=st.floats(allow_nan=True, allow_infinity=True),
    flow_ratio=ANY_FLOAT,
)
def test_no_opening_ever_leaves_the_limits(
    current: float,
    proposed: float | None,
    lo: float,
    width: float,
    step: float,
    dev_min: float,
    dev_max: float,
    flow_ratio: float | None,
) -> None:
    """Property (issue 3): whatever comes in, the command is finite and inside the range."""
    limits = SafetyLimits(min_opening=lo, max_opening=min(lo + width, 1.0), max_step=step)
    value, acted = limit_opening(current, proposed, limits, dev_min, dev_max, flow_ratio=flow_ratio)
    a, b = limits.opening_range(dev_min, dev_max)
    assert math.isfinite(value)
    assert a <= value <= b
    if math.isfinite(current) and a <= current <= b:
        assert abs(value - current) <= step + 1e-12
    assert isinstance(acted, list)


@given(current=st.floats(allow_nan=True, allow_infinity=True), proposed=ANY_FLOAT)
def test_no_pump_speed_ever_leaves_the_limits(current: float, proposed: float | None) -> None:
    limits = SafetyLimits(min_pump_speed=0.3, max_pump_speed=0.95, max_pump_step=0.1)
    value, _ = limit_pump_speed(current, proposed, limits, 0.35, 1.0)
    assert math.isfinite(value)
    assert 0.35 <= value <= 0.95
    if math.isfinite(current) and 0.35 <= current <= 0.95:
        assert abs(value - current) <= 0.1 + 1e-12
