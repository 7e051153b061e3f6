"""Property tests (issue 3): for ANY measurements no command leaves the safety limits.

Readings are drawn from everything a field network delivers on a bad day: missing inlets,
None, NaN, ±inf, negative and absurd flows, spikes, positions outside 0…1, flagged fields.
Controllers are stepped again and again with such data (their state carries over between
examples, as in a real season); nothing may raise, every opening and pump speed must lie
inside :class:`SafetyLimits` and the device limits, move no more than ``max_step`` from a
known position, and manual mode must never issue anything (§5.3.6-3, §5.3.6-6).
"""

from __future__ import annotations

import math
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.controller import Controller, make_controller
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.model import Device, Network

from .nets import chain, inlet

LIMITS = SafetyLimits(min_opening=0.1, max_opening=0.9, max_step=0.2, min_flow_ratio=0.3)
WILD = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10.0, 200.0),
    st.sampled_from([0.0, -1.0, 1e9, -1e9, 0.5, 1.0, 20.0, 45.0]),
)
PLAUSIBLE = {
    "flow_m3h": (0.0, 40.0),
    "supply_c": (40.0, 70.0),
    "return_c": (25.0, 55.0),
    "room_c": (12.0, 26.0),
    "opening": (0.0, 1.0),
    "dp_available_kpa": (1.0, 200.0),
}
FIELDS = ("flow_m3h", "supply_c", "return_c", "room_c", "opening", "dp_available_kpa")


def network() -> Network:
    """Three buildings on a main, the last feeding two households (iot valves)."""
    net = chain(3)
    for iid in ("B1", "B2"):
        net.inlets[iid].device.kvs = 40.0  # sized for the 17.5 m³/h these buildings need
    net.inlets["B3"].device.min_opening = 0.2  # a device limit tighter than the operator's
    for k in (1, 2):
        hid = f"B3H{k}"
        net.inlets[hid] = inlet(
            hid,
            "N3",
            10.0,
            kind="household",
            parent="B3",
            device=Device(type="iot_valve", kvs=1.6),
            internal_dp_kpa=10.0,
        )
    net.inlets["B3"].design_load_kw = 20.0
    return net


@cache
def controllers() -> dict[str, Controller]:
    """One long-lived controller per mode (state carries over between examples)."""
    net = network()
    return {
        "model": make_controller(net, ControllerConfig(limits=LIMITS)),
        "traditional": make_controller(
            net, ControllerConfig(algorithm="traditional", target="return", limits=LIMITS)
        ),
        "room": make_controller(net, ControllerConfig(target="room", limits=LIMITS)),
        "manual": make_controller(net, ControllerConfig(auto=False, limits=LIMITS)),
    }


@st.composite
def readings(draw: st.DrawFn) -> Measurements:
    """Measurements with any subset of inlets and any values in any field."""
    ids = ["B1", "B2", "B3", "B3H1", "B3H2", "ghost"]
    present = draw(st.lists(st.sampled_from(ids), unique=True))
    inlets = {}
    for iid in present:
        if draw(st.booleans()):  # a plausible reading, so commands are really computed
            values: dict[str, float | None] = {f: draw(st.floats(*PLAUSIBLE[f])) for f in FIELDS}
            flagged: frozenset[str] = frozenset()
        else:
            values = {f: draw(WILD) for f in FIELDS}
            flagged = draw(st.frozensets(st.sampled_from([*FIELDS, "*"]), max_size=2))
        inlets[iid] = InletReading(**values, flagged=flagged)
    return Measurements(
        inlets=inlets,
        outdoor_c=draw(WILD),
        supply_c=draw(WILD),
        return_c=draw(WILD),
        pump_speed=draw(st.one_of(WILD, st.floats(0.3, 1.0))),
        substation_flagged=draw(st.booleans()),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meas=readings(), mode=st.sampled_from(["model", "traditional", "room", "manual"]))
def test_no_command_ever_leaves_the_safety_limits(meas: Measurements, mode: str) -> None:
    ctl = controllers()[mode]
    known = {iid: ctl._position(iid, meas) for iid in ctl.ids}
    cmds = ctl.step(meas)
    pump = ctl.network.substation.pump
    for iid, value in [*cmds.openings.items(), *cmds.proposed.items()]:
        device = ctl.network.inlets[iid].device
        lo, hi = LIMITS.opening_range(device.min_opening, device.max_opening)
        assert math.isfinite(value)
        assert lo <= value <= hi, (iid, value)
    for iid, value in cmds.openings.items():
        before = known[iid]
        assert before is not None  # never a command for a valve whose position is unknown
        if LIMITS.opening_range()[0] <= before <= LIMITS.opening_range()[1]:
            assert abs(value - before) <= LIMITS.max_step + 1e-9
    for speed in (cmds.pump_speed, cmds.proposed_pump_speed):
        if speed is not None:
            assert math.isfinite(speed)
            assert pump.min_speed <= speed <= pump.max_speed
    if mode == "manual":
        assert cmds.openings == {}
        assert cmds.pump_speed is None
    assert set(cmds.openings).isdisjoint(cmds.held) or mode == "manual"
    ctl.as_dict()  # the state stays serialisable whatever came in


def test_impossible_feedback_of_a_stuck_valve_is_not_remembered() -> None:
    """Found by the property above: a stuck valve whose feedback turns impossible (2e16)
    was 'moving again' and that value became its remembered position, so the next command
    jumped from 50 % to the top of the range in one step."""
    ctl = make_controller(network(), ControllerConfig(limits=LIMITS))
    ctl.last_openings["B2"] = 0.5
    ctl.faults["B2"] = "stuck (commanded 70%, at 50%)"
    reading = InletReading(flow_m3h=20.0, return_c=40.0, opening=2.3e16)
    cmds = ctl.step(Measurements(inlets={"B2": reading}, supply_c=70.0, return_c=40.0))
    assert abs(ctl.last_openings["B2"] - 0.5) <= LIMITS.max_step + 1e-9
    assert abs(cmds.openings.get("B2", 0.5) - 0.5) <= LIMITS.max_step + 1e-9
    assert ctl.faults["B2"].startswith("stuck")  # no usable feedback: still stuck
