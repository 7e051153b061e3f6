"""Simulated plant: room dynamics, controls, faults, season profile."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.heatbalance.engine.model import HeatingCurve
from custom_components.heatbalance.engine.simulator import Simulator, outdoor_profile

from .nets import chain


def test_starts_in_steady_state() -> None:
    sim = Simulator(chain(3), outdoor_c=-5.0)
    before = sim.state()
    after = sim.step(3600.0)
    for iid, state in before.inlets.items():
        assert after.inlets[iid].room_c == pytest.approx(state.room_c, abs=0.01)
    assert after.time_s == 3600.0


def test_closing_a_valve_cools_the_room_and_opening_warms_it() -> None:
    sim = Simulator(chain(3), outdoor_c=-5.0)
    start = sim.state().inlets["B1"].room_c
    sim.set_opening("B1", 0.2)
    for _ in range(12):
        state = sim.step(3600.0)
    cooled = state.inlets["B1"].room_c
    assert cooled < start - 1.0
    assert state.inlets["B1"].opening == 0.2
    sim.set_opening("B1", 1.0)
    for _ in range(12):
        state = sim.step(3600.0)
    assert state.inlets["B1"].room_c > cooled + 1.0


def test_colder_outdoor_cools_rooms() -> None:
    sim = Simulator(chain(2), outdoor_c=0.0)
    start = sim.state().inlets["B2"].room_c
    sim.set_outdoor(-15.0)
    state = sim.step(6 * 3600.0)
    assert state.inlets["B2"].room_c < start


def test_heating_curve_raises_supply_in_the_cold() -> None:
    net = chain(2)
    net.substation.supply_c = None
    net.substation.heating_curve = HeatingCurve([(5.0, 45.0), (-10.0, 65.0)])
    sim = Simulator(net, outdoor_c=0.0)
    mild = sim.state().supply_c
    sim.set_outdoor(-10.0)
    assert sim.state().supply_c == pytest.approx(65.0)
    assert mild < 65.0


def test_pump_speed_and_openings_are_clamped() -> None:
    net = chain(2)
    net.inlets["B1"].device.min_opening = 0.1
    sim = Simulator(net)
    sim.set_opening("B1", -3.0)
    sim.set_opening("B2", float("nan"))
    sim.set_pump_speed(5.0)
    state = sim.state()
    assert state.inlets["B1"].opening == 0.1
    assert state.inlets["B2"].opening == 1.0
    assert state.pump.speed == net.substation.pump.max_speed


def test_stuck_valve_ignores_commands_and_blockage_cuts_flow() -> None:
    sim = Simulator(chain(3))
    healthy = sim.state().inlets["B2"].flow_m3h
    sim.inject_fault("B1", "stuck", at=0.3)
    sim.set_opening("B1", 1.0)
    assert sim.state().inlets["B1"].opening == 0.3
    sim.inject_fault("B2", "blockage", factor=0.3)
    assert sim.state().inlets["B2"].flow_m3h < 0.8 * healthy
    with pytest.raises(ValueError, match="unknown fault"):
        sim.inject_fault("B3", "melted")


def test_flow_valve_setpoint_is_applied() -> None:
    net = chain(2)
    net.inlets["B1"].device.type = "flow_valve"
    net.inlets["B1"].device.setpoint = 5.0
    sim = Simulator(net)
    assert sim.state().inlets["B1"].flow_m3h == pytest.approx(5.0, rel=1e-3)
    sim.set_setpoint("B1", 4.0)
    assert sim.state().inlets["B1"].flow_m3h == pytest.approx(4.0, rel=1e-3)


def test_simulator_does_not_change_the_callers_network() -> None:
    net = chain(2)
    sim = Simulator(net)
    sim.set_opening("B1", 0.4)
    sim.step(600.0)
    assert net.inlets["B1"].device.opening == 1.0


def test_season_profile_is_a_northern_winter() -> None:
    profile = outdoor_profile(days=150, seed=1)
    assert profile.shape == (150 * 24,)
    assert -25.0 < profile.min() < -8.0
    assert profile.max() < 15.0
    mid = profile[70 * 24 : 80 * 24].mean()
    assert mid < profile[:240].mean()
    assert np.array_equal(profile, outdoor_profile(days=150, seed=1))
