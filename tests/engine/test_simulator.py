"""Simulated plant: room dynamics, controls, re-solves, faults, meters, outdoor profiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custom_components.heatbalance.engine.hydraulics import HydraulicModel
from custom_components.heatbalance.engine.model import Device, HeatingCurve
from custom_components.heatbalance.engine.simulator import (
    SEASON_DAYS,
    InletState,
    Simulator,
    outdoor_profile,
    profile_function,
    ranges,
)

from .nets import chain, inlet


def _heat_balance(sim: Simulator) -> np.ndarray:
    """Q + gains − UA·(T − T_out) of every room: zero in steady state."""
    th = sim.thermal_state()
    return th.heat_w + sim.gains - sim.ua * (sim.room_c - sim.outdoor_c)


# --- rooms ----------------------------------------------------------------------------------
def test_rooms_start_in_steady_state_and_stay_there(chain3) -> None:
    sim = Simulator(chain3, outdoor_c=-5.0)
    assert np.abs(_heat_balance(sim)).max() < 1e-3  # W, of loads of 300 kW
    before = sim.state()
    after = sim.step(3600.0)
    for iid, state in before.inlets.items():
        assert after.inlets[iid].room_c == pytest.approx(state.room_c, abs=1e-6)
    assert after.time_s == 3600.0


def test_an_unheated_room_cools_exponentially_toward_outdoor(chain3) -> None:
    """With the valve shut (no heat), T − T_∞ decays with τ = C/UA: the closed form."""
    sim = Simulator(chain3, outdoor_c=0.0)
    sim.set_opening("B2", 0.0)
    k = sim.ids.index("B2")
    start = sim.room_c[k]
    t_inf = 0.0 + sim.gains[k] / sim.ua[k]
    tau = sim.capacity[k] / sim.ua[k]
    for _ in range(10):
        state = sim.step(3600.0)
    expected = t_inf + (start - t_inf) * math.exp(-36000.0 / tau)
    assert state.inlets["B2"].room_c == pytest.approx(expected, abs=0.02)  # only the leak heats


def test_hour_steps_match_minute_steps_and_huge_steps_do_not_overshoot(chain3) -> None:
    coarse, fine = Simulator(chain3, outdoor_c=0.0), Simulator(chain3, outdoor_c=0.0)
    for sim in (coarse, fine):
        sim.set_outdoor(-15.0)
        sim.set_opening("B1", 0.5)
    for _ in range(24):
        coarse.step(3600.0)
    for _ in range(24 * 60):
        fine.advance(60.0)
    assert coarse.room_c == pytest.approx(fine.room_c, abs=0.02)
    huge = Simulator(chain3, outdoor_c=0.0)
    huge.set_outdoor(-15.0)
    rooms = [huge.step(10 * 86400.0).inlets["B3"].room_c for _ in range(3)]
    assert rooms[0] == pytest.approx(rooms[2], abs=0.1)  # lands next to the equilibrium
    assert rooms[1] == pytest.approx(rooms[2], abs=1e-4)  # and then on it
    assert np.abs(_heat_balance(huge)).max() < 1.0


def test_closing_a_valve_cools_the_room_and_opening_warms_it(chain3) -> None:
    sim = Simulator(chain3, outdoor_c=-5.0)
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


def test_households_have_rooms_and_the_building_reports_their_mean() -> None:
    net = chain(1)
    for k in range(3):
        net.inlets[f"H{k}"] = inlet(
            f"H{k}", "N1", 20.0, kind="household", parent="B1", device=Device("iot_valve", kvs=1.5)
        )
    sim = Simulator(net, outdoor_c=-5.0)
    sim.set_opening("H0", 0.1)
    state = sim.step(6 * 3600.0)
    rooms = [state.inlets[f"H{k}"].room_c for k in range(3)]
    assert rooms[0] < rooms[1]
    assert state.inlets["B1"].room_c == pytest.approx(np.mean(rooms))
    assert state.inlets["B1"].heat_kwh == pytest.approx(
        sum(state.inlets[f"H{k}"].heat_kwh for k in range(3))
    )


# --- outdoor and supply ---------------------------------------------------------------------
def test_colder_outdoor_cools_rooms(chain3) -> None:
    sim = Simulator(chain3, outdoor_c=0.0)
    start = sim.state().inlets["B2"].room_c
    sim.set_outdoor(-15.0)
    state = sim.step(6 * 3600.0)
    assert state.inlets["B2"].room_c < start
    assert state.outdoor_c == -15.0


def test_heating_curve_and_fixed_supply() -> None:
    net = chain(2)
    net.substation.supply_c = None
    net.substation.heating_curve = HeatingCurve([(5.0, 45.0), (-10.0, 65.0)])
    sim = Simulator(net, outdoor_c=0.0)
    assert sim.state().supply_c == pytest.approx(45.0 + 20.0 * 5.0 / 15.0)
    sim.set_outdoor(-10.0)
    assert sim.state().supply_c == pytest.approx(65.0)
    assert Simulator(net, outdoor_c=0.0, supply_c=50.0).state().supply_c == 50.0


def test_outdoor_profile_drives_the_outdoor_temperature(chain3) -> None:
    hourly = np.array([0.0, -2.0, -4.0, -6.0])
    sim = Simulator(chain3, outdoor=hourly)
    assert sim.state().outdoor_c == 0.0
    assert sim.step(1800.0).outdoor_c == pytest.approx(-1.0)
    assert sim.step(1800.0).outdoor_c == pytest.approx(-2.0)
    sim.step(5 * 3600.0)
    assert sim.state().outdoor_c == -6.0  # held after the end
    sim.set_outdoor_profile(lambda h: -h)  # a function of hours since the start
    assert sim.state().outdoor_c == pytest.approx(-6.0)
    assert sim.step(3600.0).outdoor_c == pytest.approx(-7.0)
    sim.set_outdoor(3.0)  # a constant replaces the profile
    assert sim.step(3600.0).outdoor_c == 3.0


def test_profiles_are_checked() -> None:
    with pytest.raises(ValueError, match="one finite temperature per hour"):
        profile_function([])
    with pytest.raises(ValueError, match="one finite temperature per hour"):
        profile_function([1.0, float("nan")])
    sim = Simulator(chain(1))
    sim.set_outdoor_profile(lambda h: -5.0 if h < 1 else float("inf"))
    with pytest.raises(ValueError, match="outdoor profile value must be finite"):
        sim.step(3600.0)
    with pytest.raises(ValueError, match="at least one day"):
        outdoor_profile(days=0)


def test_season_profile_is_a_seeded_northern_winter() -> None:
    profile = outdoor_profile(seed=1)
    assert profile.shape == (SEASON_DAYS * 24,)
    assert np.array_equal(profile, outdoor_profile(seed=1))
    assert not np.array_equal(profile, outdoor_profile(seed=2))
    assert -35.0 < profile.min() < -9.0
    assert profile.max() < 20.0
    daily = profile.reshape(SEASON_DAYS, 24)
    assert daily[:, 15].mean() > daily[:, 3].mean() + 5  # afternoons are warmer than nights
    seasons = np.array([outdoor_profile(seed=s).reshape(SEASON_DAYS, 24) for s in range(6)])
    november, january, march = (seasons[:, a : a + 30].mean() for a in (0, 60, 120))
    assert january < november - 4
    assert january < march - 4
    assert -10.0 < january < -3.0  # a Taiyuan-like January
    day_means = seasons.mean(axis=2)
    assert np.max(day_means[:, :-2] - day_means[:, 2:]) > 6  # cold waves: −6 K in two days


# --- controls and hydraulic re-solves -------------------------------------------------------
def test_hydraulics_are_solved_again_only_when_a_control_changes(chain3, monkeypatch) -> None:
    calls: list[object] = []
    original = HydraulicModel.solve

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("warm_start"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HydraulicModel, "solve", counting)
    sim = Simulator(chain3, outdoor_c=-5.0)
    for _ in range(10):
        sim.step(3600.0)
    sim.set_outdoor(-10.0)
    sim.set_opening("B1", 1.0)  # unchanged
    sim.step(3600.0)
    assert len(calls) == 1
    first = sim.hydraulics()
    sim.set_opening("B1", 0.5)
    sim.step(3600.0)
    sim.set_pump_speed(0.8)
    sim.step(3600.0)
    assert len(calls) == 3
    assert calls[1] is first  # warm start from the previous solution


def test_openings_and_pump_speed_are_clamped_and_non_numbers_refused() -> None:
    net = chain(2)
    net.inlets["B1"].device.min_opening = 0.1
    net.inlets["B2"].device.max_opening = 0.9
    sim = Simulator(net)
    sim.set_opening("B1", -3.0)
    sim.set_opening("B2", 2.0)
    sim.set_pump_speed(5.0)
    state = sim.state()
    assert state.inlets["B1"].opening == 0.1
    assert state.inlets["B2"].opening == 0.9
    assert state.pump.speed == net.substation.pump.max_speed
    sim.set_pump_speed(0.0)
    assert sim.state().pump.speed == net.substation.pump.min_speed
    with pytest.raises(ValueError, match="opening of B1 must be finite"):
        sim.set_opening("B1", float("nan"))
    with pytest.raises(ValueError, match="pump speed must be a number"):
        sim.set_pump_speed("fast")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no inlet 'B9' in network chain"):
        sim.set_opening("B9", 0.5)
    with pytest.raises(ValueError, match="time step must be above zero"):
        sim.step(0.0)


def test_flow_valve_setpoint_is_applied_and_only_to_self_operated_valves() -> None:
    net = chain(2)
    net.inlets["B1"].device.type = "flow_valve"
    net.inlets["B1"].device.setpoint = 5.0
    sim = Simulator(net)
    assert sim.state().inlets["B1"].flow_m3h == pytest.approx(5.0, rel=1e-3)
    sim.set_setpoint("B1", 4.0)
    assert sim.state().inlets["B1"].flow_m3h == pytest.approx(4.0, rel=1e-3)
    sim.set_setpoint("B1", None)
    assert sim.state().inlets["B1"].flow_m3h == pytest.approx(5.0, rel=1e-3)
    with pytest.raises(ValueError, match="a electric_valve has no setpoint"):
        sim.set_setpoint("B2", 3.0)
    with pytest.raises(ValueError, match="setpoint must be above zero"):
        sim.set_setpoint("B1", -1.0)


def test_distributed_pump_speed_moves_its_flow() -> None:
    net = chain(2)
    net.inlets["B2"].device = Device("distributed_pump", pump_head_m=6.0, pump_flow_m3h=20.0)
    full = Simulator(net).state().inlets["B2"].flow_m3h
    net.inlets["B2"].device.speed = 0.5  # as commissioned (§7.2.5-7)
    assert Simulator(net).state().inlets["B2"].flow_m3h < full


def test_simulator_does_not_change_the_callers_network() -> None:
    net = chain(2)
    sim = Simulator(net)
    sim.set_opening("B1", 0.4)
    sim.step(600.0)
    assert net.inlets["B1"].device.opening == 1.0


# --- faults ---------------------------------------------------------------------------------
def test_stuck_valve_ignores_commands_until_repaired(chain3) -> None:
    sim = Simulator(chain3)
    sim.set_opening("B1", 0.6)
    sim.inject_fault("B1", "stuck")  # seizes where it is
    sim.set_opening("B1", 1.0)
    state = sim.state()
    assert state.inlets["B1"].opening == 0.6
    assert state.inlets["B1"].fault == "stuck"
    sim.inject_fault("B1", "stuck", at=0.3)
    assert sim.state().inlets["B1"].opening == 0.3
    sim.clear_fault("B1")
    sim.set_opening("B1", 1.0)
    assert sim.state().inlets["B1"].opening == 1.0
    assert sim.faults() == {}


def test_blockage_scales_the_valves_kv(chain3) -> None:
    sim = Simulator(chain3)
    sim.inject_fault("B2", "blockage", factor=0.3)
    state = sim.state()
    expected = HydraulicModel(chain3).solve(kv_factor=np.array([1.0, 0.3, 1.0]))
    assert state.inlets["B2"].flow_m3h == pytest.approx(expected.inlet_flow_m3h[1], rel=1e-6)
    assert state.inlets["B2"].flow_m3h < 0.8 * Simulator(chain3).state().inlets["B2"].flow_m3h
    assert sim.faults() == {"B2": "blockage"}


def test_bad_faults_are_refused() -> None:
    sim = Simulator(chain(1))
    with pytest.raises(ValueError, match="unknown fault 'melted'; use one of stuck, blockage"):
        sim.inject_fault("B1", "melted")
    with pytest.raises(ValueError, match="stuck position must be within 0…1"):
        sim.inject_fault("B1", "stuck", at=1.5)
    with pytest.raises(ValueError, match=r"blockage factor must be within \(0, 1\]"):
        sim.inject_fault("B1", "blockage", factor=0.0)


# --- meters ---------------------------------------------------------------------------------
def test_meters_integrate_heat_and_pump_power(chain3) -> None:
    sim = Simulator(chain3, outdoor_c=-5.0)
    start = sim.state()
    state = start
    for _ in range(5):
        state = sim.step(3600.0)
    for iid, inl in state.inlets.items():  # steady: energy = power × time
        assert inl.heat_kwh == pytest.approx(start.inlets[iid].heat_w * 5 / 1000, rel=1e-6)
    assert state.heat_kwh == pytest.approx(sum(i.heat_kwh for i in state.inlets.values()))
    assert state.pump_kwh == pytest.approx(start.pump.power_w * 5 / 1000)
    assert state.heat_w == pytest.approx(sum(i.heat_w for i in state.inlets.values()))
    assert state.pipe_loss_w > 0


def test_heat_meter_counts_what_the_room_model_integrated(chain3) -> None:
    """Energy in = energy stored + energy lost, with the loss integrated finely."""
    sim = Simulator(chain3, outdoor_c=0.0)
    sim.set_outdoor(-12.0)
    k = sim.ids.index("B3")
    t0 = sim.room_c[k]
    lost = 0.0
    for _ in range(6 * 60):
        before = sim.room_c[k]
        sim.advance(60.0)
        lost += sim.ua[k] * ((before + sim.room_c[k]) / 2 + 12.0) * 60.0 - sim.gains[k] * 60.0
    stored = sim.capacity[k] * (sim.room_c[k] - t0)
    assert sim.heat_j[k] == pytest.approx(stored + lost, rel=1e-4)


def test_ranges_over_inlets_skip_a_ratio_without_design_flow() -> None:
    """One range rule for the households' sensors (HA) and ``simulate``'s summary rows."""

    def state(room: float, flow: float, design: float) -> InletState:
        return InletState(flow, design, 80.0, 50.0, room, 0.0, 1.0, 50.0, 10.0)

    spread = ranges([state(19.0, 1.0, 2.0), state(22.0, 3.0, 2.0), state(20.0, 1.0, 0.0)])
    assert spread is not None
    assert (spread.count, spread.room_min_c, spread.room_max_c) == (3, 19.0, 22.0)
    assert spread.room_mean_c == pytest.approx(61.0 / 3)
    assert (spread.flow_ratio_min, spread.flow_ratio_max) == (0.5, 1.5)
    none_designed = ranges([state(20.0, 1.0, 0.0)])
    assert none_designed is not None
    assert math.isnan(none_designed.flow_ratio_min)
    assert ranges([]) is None


def test_a_stopped_inlets_return_sensor_cools_with_the_stagnant_time_constant() -> None:
    """``stagnant_tau_s``: the return sensor of water that stopped reads the flowing return
    at the first state after the stop, then cools toward the room as e^(−t/τ); flowing
    water reads the steady return again at once; without the option it reads the room at
    once (every benchmark's physics)."""
    from custom_components.heatbalance.engine.loader import load_network

    net = load_network("estate12")
    tau, dt = 600.0, 120.0
    seen = {}
    for option in (None, tau):
        sim = Simulator(net, outdoor_c=net.design.outdoor_c, stagnant_tau_s=option)
        flowing = sim.state().inlets["B005"].return_c
        sim.advance(dt)
        sim.inject_fault("B005", "blockage", factor=1e-9)
        reads = []
        for _ in range(4):
            reads.append(sim.state().inlets["B005"])
            sim.advance(dt)
        sim.clear_fault("B005")
        seen[option] = (flowing, reads, sim.state().inlets["B005"].return_c)
    flowing, reads, again = seen[None]
    assert reads[0].return_c == pytest.approx(reads[0].room_c, abs=0.05)
    flowing, reads, again = seen[tau]
    assert reads[0].flow_m3h < 0.01
    assert reads[0].return_c == pytest.approx(flowing, abs=0.05)
    for k, r in enumerate(reads[1:], 1):
        expected = r.room_c + (flowing - r.room_c) * math.exp(-k * dt / tau)
        assert r.return_c == pytest.approx(expected, abs=0.1)
    assert again == pytest.approx(flowing, abs=0.3)
