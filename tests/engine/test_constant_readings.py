"""Property test: chains of equal readings, zeros and extreme magnitudes through the loop.

The estimator divides by sums over a drift chain of up to ``DRIFT_CHAIN_MAX`` + 1 successive
readings (``SignalFilter._walk_sample``) and by readings' own scales. A stopped inlet whose meter
reads exactly 0 (low-flow cut-off), a flow so small its square underflows, or a value so
large its square overflows held for a whole chain raised ``ZeroDivisionError`` inside
``ControlLoop.step`` — the coordinator's cycle — but only when a long-lived controller of
``test_control_properties`` happened to see such a chain (an order-dependent flake). Here
every example is a fresh loop fed the same values for longer than a chain, so the path is
always reached: nothing may raise and no command may leave the safety limits (§5.3.6-3).
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.control.estimation import DRIFT_CHAIN_MAX
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig

from .test_control_properties import network

LIMITS = SafetyLimits(min_opening=0.1, max_opening=0.9, max_step=0.2, min_flow_ratio=0.3)
# exact zero, subnormal, squares that underflow, ordinary, squares that overflow, the largest
EDGES = [0.0, 5e-324, 1e-200, 1e-160, 1e-9, 1.0, 17.5, 1e160, 1e200, 1.7e308, -0.0, -1e-200]
FIELDS = ("flow_m3h", "dp_available_kpa", "valve_dp_kpa", "supply_c", "return_c", "room_c")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    constants=st.fixed_dictionaries({f: st.sampled_from(EDGES) for f in FIELDS}),
    opening=st.sampled_from([0.0, 0.5, 1.0]),
    algorithm=st.sampled_from(["model", "traditional"]),
    cleaned=st.booleans(),
)
def test_constant_and_extreme_readings_never_raise(
    constants: dict[str, float], opening: float, algorithm: str, cleaned: bool
) -> None:
    """``cleaned``: through the whole loop (data cleaning flags the absurd values first);
    else straight into the controller, as a source whose values pass cleaning would."""
    net = network()
    config = ControllerConfig(algorithm=algorithm, limits=LIMITS)
    loop = ControlLoop(net, LoopConfig(config), cycle_s=1800.0) if cleaned else None
    controller = None if cleaned else make_controller(net, config)
    reading = InletReading(**constants, opening=opening)
    for cycle in range(DRIFT_CHAIN_MAX + 3):  # a whole drift chain (early sample, end) and more
        meas = Measurements(
            inlets=dict.fromkeys(net.inlets, reading),
            outdoor_c=-5.0,
            supply_c=70.0,
            return_c=45.0,
            pump_speed=1.0,
            time_s=1800.0 * cycle,
        )
        cmds = loop.step(meas).commands if loop else controller.step(meas)  # type: ignore[union-attr]
        for iid, value in [*cmds.openings.items(), *cmds.proposed.items()]:
            device = net.inlets[iid].device
            lo, hi = LIMITS.opening_range(device.min_opening, device.max_opening)
            assert math.isfinite(value), (iid, value)
            assert lo <= value <= hi, (iid, value)
        if cmds.pump_speed is not None:
            pump = net.substation.pump
            assert pump.min_speed <= cmds.pump_speed <= pump.max_speed
