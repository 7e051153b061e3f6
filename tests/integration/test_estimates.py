"""What a sensor states and what it keeps in its attributes (estimates.py, issue 10 item 3):
plain functions, no Home Assistant needed."""

from __future__ import annotations

import math

from custom_components.heatbalance.estimates import rejected, stated
from custom_components.heatbalance.reading import Reading


def test_only_a_trusted_measurement_is_the_state() -> None:
    assert stated(2.0, False) == (2.0, {"estimated": False})
    assert stated(1.4999999999, True) == (None, {"estimated": True, "estimate": 1.5})
    assert stated(6e4, False, ("out_of_range",)) == (
        None,
        {"estimated": False, "rejected": 6e4, "rejected_reason": ["out_of_range"]},
    )
    # flagged estimated without a value (a withheld model ΔP): unknown, still flagged
    assert stated(None, True) == (None, {"estimated": True})


def test_a_rejected_reading_carries_the_engines_estimate_beside_it() -> None:
    assert stated(6e4, True, ("out_of_range",), 42.00001) == (
        None,
        {
            "estimated": True,
            "rejected": 6e4,
            "rejected_reason": ["out_of_range"],
            "estimate": 42.0,
        },
    )


def test_a_rejected_nan_or_infinity_is_no_number_shown() -> None:
    """JSON has neither; bench_product_faults counts them as a display fault."""
    for bad in (math.nan, math.inf, -math.inf):
        state, attrs = stated(bad, False, ("out_of_range",))
        assert state is None
        assert attrs["rejected"] is None
        assert attrs["rejected_reason"] == ["out_of_range"]


def test_a_lost_reading_is_not_a_rejected_one() -> None:
    """Cleaning's verdict on a reading that never came (``gap_too_long``) rejects no value."""
    flags = {"flow_m3h": ("missing", "gap_too_long"), "supply_c": ("spike",)}
    reading = Reading(flow_m3h=None, supply_c=95.0)
    assert rejected("flow_m3h", reading, flags) is None
    assert rejected("supply_c", reading, flags) == ("spike",)
    assert rejected("return_c", reading, flags) is None
