"""The controllers' parts: static model, targets, PI, identification, planner (§3.0.6/7)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custom_components.heatbalance.engine.control.base import InletReading, Measurements
from custom_components.heatbalance.engine.control.identification import (
    ACCEPT,
    FACTOR_RANGE,
    REJECT,
    SKIP,
    BranchIdentifier,
)
from custom_components.heatbalance.engine.control.pi import (
    HOLD_BAND_SHARE,
    HOLD_Z,
    RATIO_MAX_AGE,
    GainSchedule,
    PIState,
    back_calculate,
    noise_deadband,
    pi_proposal,
    significance,
    valve_sensitivity,
)
from custom_components.heatbalance.engine.control.planner import HydraulicPlanner, PlanInput
from custom_components.heatbalance.engine.control.setpoints import (
    load_fraction,
    return_setpoint,
    room_setpoint,
    setpoint,
)
from custom_components.heatbalance.engine.control.targets import target_error
from custom_components.heatbalance.engine.model import Device, HeatingCurve, Network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_properties import network as household_network


# --- static model (§3.0.6) -----------------------------------------------------------------
def test_load_fraction_follows_outdoor_temperature(chain3: Network) -> None:
    d = chain3.design
    assert load_fraction(chain3, d.outdoor_c) == pytest.approx(1.0)
    assert load_fraction(chain3, d.room_c) == 0.0
    assert load_fraction(chain3, d.room_c + 10) == 0.0  # no heating needed, never negative
    assert load_fraction(chain3, -60.0) == 1.5  # extrapolated only so far
    half = 0.5 * (d.outdoor_c + d.room_c)
    assert load_fraction(chain3, half) == pytest.approx(0.5)


def test_temperature_setpoints_follow_the_heating_curve(chain3: Network) -> None:
    """Return setpoint = supply − ΔT_design·φ; a weight raises it (same heat, more flow).

    That is the curve's return branch: it applies while the supply follows a heating curve
    (off the curve the emitter decides, tests/engine/test_standard_fidelity.py).
    """
    inlet = chain3.inlets["B1"]
    d = chain3.design
    chain3.substation.heating_curve = HeatingCurve([(d.outdoor_c, 60.0), (8.0, 45.0)])
    assert return_setpoint(chain3, inlet, d.outdoor_c, 60.0) == pytest.approx(60.0 - 15.0)
    mild = return_setpoint(chain3, inlet, 8.0, 45.0)
    assert mild == pytest.approx(45.0 - 15.0 * load_fraction(chain3, 8.0))
    assert return_setpoint(chain3, inlet, d.outdoor_c, 60.0, weight=1.5) == pytest.approx(50.0)
    # A return setpoint never falls to room temperature (unreachable).
    chain3.substation.heating_curve = HeatingCurve([(-40.0, 30.0), (18.0, 20.0)])
    assert return_setpoint(chain3, inlet, -40.0, 30.0) == pytest.approx(19.0)
    mean = setpoint(chain3, "B1", "mean", outdoor_c=d.outdoor_c, supply_c=60.0, inlet_supply_c=58)
    assert mean == pytest.approx(58.0 - 7.5)
    assert room_setpoint(inlet, 1.1) == pytest.approx(19.0)
    assert setpoint(chain3, "B1", "flow", outdoor_c=None, supply_c=None) == pytest.approx(
        inlet.design_flow_m3h
    )
    assert setpoint(chain3, "B1", "return", outdoor_c=None, supply_c=60.0) is None
    with pytest.raises(ValueError, match="unknown target"):
        setpoint(chain3, "B1", "pressure", outdoor_c=0.0, supply_c=60.0)


# --- normalised errors (§4.1.1) -----------------------------------------------------------
def _meas(**inlet: float | None) -> Measurements:
    return Measurements(inlets={"B1": InletReading(**inlet)}, outdoor_c=-9.0, supply_c=60.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "reading", "sign"),
    [
        ("flow", {"flow_m3h": 5.0}, +1),  # too little water: open
        ("flow", {"flow_m3h": 50.0}, -1),
        ("flow", {"flow_m3h": 0.0}, +1),  # nothing flows: open, a finite error
        ("return", {"return_c": 40.0}, +1),  # return too cold: the inlet needs more water
        ("return", {"return_c": 50.0}, -1),
        ("mean", {"supply_c": 60.0, "return_c": 40.0}, +1),
        ("room", {"room_c": 16.0}, +1),
        ("room", {"room_c": 22.0}, -1),
    ],
)
def test_error_sign_means_more_water(
    chain3: Network, target: str, reading: dict, sign: int
) -> None:
    err = target_error(chain3, "B1", target, _meas(**reading), 1.0, 1.0)
    assert err is not None
    assert math.isfinite(err.error)
    assert np.sign(err.error) == sign


@pytest.mark.parametrize(
    ("target", "reading"),
    [
        ("flow", {"flow_m3h": -2.0}),
        ("flow", {"flow_m3h": 1e6}),
        ("flow", {"flow_m3h": float("nan")}),
        ("return", {"return_c": 300.0}),
        ("mean", {"return_c": 40.0}),
        ("room", {}),
    ],
)
def test_untrustworthy_readings_give_no_error(chain3: Network, target: str, reading: dict) -> None:
    assert target_error(chain3, "B1", target, _meas(**reading), 1.0, 1.0) is None


def test_no_error_without_a_reading_or_a_setpoint(chain3: Network) -> None:
    assert target_error(chain3, "B2", "flow", _meas(flow_m3h=5.0), 1.0, 1.0) is None
    dark = Measurements(inlets={"B1": InletReading(return_c=40.0)}, substation_flagged=True)
    assert target_error(chain3, "B1", "return", dark, 1.0, 1.0) is None


# --- PI -------------------------------------------------------------------------------------
def test_pi_sensitivity_deadband_and_back_calculation() -> None:
    eq = Device(type="electric_valve", kvs=10.0)
    lin = Device(type="electric_valve", kvs=10.0, characteristic="linear")
    assert valve_sensitivity(eq, 0.5) == pytest.approx(math.log(30.0))
    assert valve_sensitivity(lin, 0.25) == pytest.approx(4.0)
    assert valve_sensitivity(lin, 1.0) == pytest.approx(1.0)
    state = PIState(bias=0.5)
    assert pi_proposal(state, 0.005, 1.0, 0.3, 0.6, 0.01) is None  # deadband: no integration
    assert state.integral == 0.0
    wanted = pi_proposal(state, 0.5, 1.0, 0.3, 0.6, 0.01)
    assert wanted is not None
    assert wanted == pytest.approx(0.5 + 0.15 + 0.3)
    back_calculate(state, wanted, 0.9)  # the limits took 0.05 off: so does the integral
    assert state.integral == pytest.approx(0.25)
    assert PIState.from_dict({"bias": "nan", "integral": None}) == PIState(bias=0.5)
    assert PIState.from_dict(state.to_dict()) == state


# --- identification (§3.0.7-3) ------------------------------------------------------------
def test_rls_learns_circuit_and_valve_factors_from_noisy_data() -> None:
    """Branch Δp = (c0·a0 + c1·x)·Q² with c0 = 1.3, c1 = 2 is found from varied openings."""
    rng = np.random.default_rng(3)
    ident = BranchIdentifier(a0=0.5, forgetting=0.9, gate=10.0)
    for _ in range(60):
        x = rng.uniform(0.1, 3.0)
        q = rng.uniform(2.0, 8.0)
        dp = (1.3 * 0.5 + 2.0 * x) * q**2
        valve = 2.0 * x * q**2
        noisy_q = q * (1 + 0.01 * rng.standard_normal())
        assert ident.update(noisy_q, x, dp, valve) == ACCEPT
    assert ident.circuit_factor == pytest.approx(1.3, rel=0.05)
    assert ident.valve_factor == pytest.approx(2.0, rel=0.05)
    assert ident.resistance(1.0) == pytest.approx(1.3 * 0.5 + 2.0, rel=0.05)


def test_rls_gates_a_spike_and_learns_a_repeated_change() -> None:
    ident = BranchIdentifier(a0=1.0)
    assert ident.update(5.0, 1.0, 2.0 * 25, None) == ACCEPT  # consistent with the prior
    assert ident.update(5.0, 1.0, 20.0 * 25, None) == REJECT  # once: a spike
    assert ident.theta == pytest.approx([1.0, 1.0], abs=0.05)
    assert ident.update(5.0, 1.0, 20.0 * 25, None) == ACCEPT  # twice: a real change
    assert ident.resistance(1.0) > 5.0
    assert ident.update(0.0, 1.0, 10.0, None) == SKIP
    assert ident.update(5.0, float("nan"), 10.0, None) == SKIP


def test_rls_state_round_trips_and_survives_corruption() -> None:
    ident = BranchIdentifier(a0=0.7)
    ident.update(4.0, 0.5, 30.0, 10.0)
    assert BranchIdentifier.from_dict(ident.to_dict()) == ident
    bad = BranchIdentifier.from_dict({"a0": 0.7, "theta": [float("nan"), 1.0], "p": [[1.0]]})
    assert bad.theta == [1.0, 1.0]
    assert bad.p == BranchIdentifier(a0=0.7).p


def test_a_vanishing_flow_ratio_gives_the_largest_valve_factor_not_a_division_by_zero() -> None:
    """Without ΔP the valve factor comes from measured ÷ model flow (§5.3.7-3): a reading of
    1e-38 m³/h against the model's made the ratio's square round to 0 and the cycle raised
    ZeroDivisionError (the controller's property test, exploring profile). Nothing passes:
    the valve's factor is the largest a plant can have."""
    ident = BranchIdentifier(a0=0.7)
    assert ident.flow_valve_factor(1.0, 1e-200) == FACTOR_RANGE[1]
    ident.refine_valve_factor(1.0, 1e-200)
    assert ident.valve_factor == FACTOR_RANGE[1]
    assert ident.flow_valve_factor(1.0, 0.5) == pytest.approx((0.7 + 1.0) / 0.25 - 0.7)


# --- planner (§3.0.7: coordinated settings) -----------------------------------------------
def _exact_plan(network: Network, aim: float = 1.015) -> tuple[Simulator, HydraulicPlanner]:
    """Plan with the network file's own data, apply to the plant, return both."""
    pl = HydraulicPlanner(network)
    n = len(pl.ids)
    movable = pl.has_kv & np.array([d.actuated for d in pl.devices])
    resistance = np.array(
        [
            (pl.a0[k] if pl.leaf[k] else 0.0) + pl.valve_term(k, 1.0) if movable[k] else 0.0
            for k in range(n)
        ]
    )
    data = PlanInput(
        flow=pl.design * aim,
        resistance=resistance,
        circuit=np.where(pl.leaf, pl.a0, 0.0),
        valve_factor=np.ones(n),
        movable=movable,
        constrains=movable,
        residual=np.zeros(n),
        fixed_resistance=np.full(n, np.nan),
    )
    pump = network.substation.pump
    plan = pl.plan(data, 1.0, lambda s: min(max(s, pump.min_speed), 1.0))
    sim = Simulator(network)
    for iid, opening in plan.openings.items():
        sim.set_opening(iid, opening)
    sim.set_pump_speed(plan.speed)
    return sim, pl


@pytest.mark.parametrize("name", ["estate12", "loop8"])
def test_planner_openings_give_every_target_at_once(builtin, name: str) -> None:
    """With a perfect model one plan puts every flow on target and one valve fully open."""
    sim, _ = _exact_plan(builtin(name))
    state = sim.state()
    ratios = [s.flow_m3h / s.design_flow_m3h for s in state.inlets.values()]
    assert ratios == pytest.approx([1.015] * len(ratios), rel=1e-4)
    assert max(sim.openings) == pytest.approx(1.0, abs=1e-6)
    assert sim.pump_speed < 1.0


def test_planner_handles_buildings_with_households() -> None:
    """Household valves and their building's valve are sized together."""
    sim, pl = _exact_plan(household_network())
    state = sim.state()
    for k, iid in enumerate(pl.ids):
        if pl.leaf[k]:
            s = state.inlets[iid]
            assert s.flow_m3h / s.design_flow_m3h == pytest.approx(1.015, rel=1e-3), iid


def test_noise_level_errors_earn_small_steps_real_ones_nearly_full() -> None:
    assert significance(0.10, 0.02) > 0.85
    assert significance(0.02, 0.02) < 0.25
    assert significance(-0.3, 0.02) == pytest.approx(significance(0.3, 0.02))


def test_one_scheduled_step_lands_an_inlet_near_its_flow(chain3: Network) -> None:
    """The schedule inverts the model's static gain: valve authority from the hydraulic
    model, characteristic inverted; one full step (kp + ki = 1) of a lone loop takes the
    inlet most of the way to a flow 30 % lower, whatever its authority."""
    from custom_components.heatbalance.engine.hydraulics import HydraulicModel

    model = HydraulicModel(chain3)
    before = model.solve()
    schedule = GainSchedule(chain3)
    openings = {iid: chain3.inlets[iid].device.opening for iid in chain3.inlets}
    schedule.update(openings, None, {})
    for k, iid in enumerate(before.inlet_ids):
        device = chain3.inlets[iid].device
        error = math.log(0.7)
        sens = schedule.sensitivity(iid, device, device.opening, error, flow=True)
        h = model.openings()
        h[k] = device.opening + error / sens
        after = model.solve(h)
        ratio = after.inlet_flow_m3h[k] / before.inlet_flow_m3h[k]
        assert ratio == pytest.approx(0.7, abs=0.05), (iid, schedule.authority[iid])


def test_pi_learns_meter_noise_from_loops_no_move_touched(chain3: Network) -> None:
    """The loops' noise level comes from consecutive readings of unmoved valves, whatever
    the others do: a 5 % meter is learnt as ≈5 % (the deadband and step shrink follow it),
    and the common shift of all flows (others' moves) is not taken for noise."""
    schedule = GainSchedule(chain3)
    rng = np.random.default_rng(1)
    ids = [f"X{k}" for k in range(40)]  # readings only: the ids need not be the network's
    openings = dict.fromkeys(ids, 0.5)
    for k in range(30):
        shift = 1.0 + 0.03 * k  # every flow rises together: coupling, not noise
        flows = {iid: 10.0 * shift * (1.0 + rng.normal(0.0, 0.05)) for iid in ids}
        schedule.learn_noise(flows, openings, None)
    assert schedule.noise == pytest.approx(0.05, rel=0.25)


def test_pi_noise_deadband_follows_the_estimate_but_keeps_the_band() -> None:
    assert noise_deadband(0.015, None) == 0.015
    assert noise_deadband(0.015, 0.005) == 0.015  # a sure estimate: the configured deadband
    assert noise_deadband(0.015, 0.02) == pytest.approx(HOLD_Z * 0.02)
    wide = noise_deadband(0.015, 0.1, 1.025)  # a 10 % meter read once
    half = math.log(1.10 / 1.025)  # the intermediate band's nearer edge from the aim
    assert wide == pytest.approx(HOLD_BAND_SHARE * half)


def test_pi_noise_deadband_ends_inside_the_level_s_own_band() -> None:
    """§8.2.4-1: at the advanced level (0…+5 %) a loop aiming at +2.5 % must not rest
    beyond +5 % — capped by the intermediate band, gen30-comb3km's PI loops rested at
    +5.1…+5.3 % inside their deadband. The configured deadband stays the floor."""
    aim = 1.025
    wide = noise_deadband(0.015, 0.1, aim, "advanced")
    assert wide == pytest.approx(HOLD_BAND_SHARE * math.log(1.05 / aim))
    assert aim * math.exp(-wide) > 1.0  # the deadband ends inside 0…+5 %
    assert aim * math.exp(wide) < 1.05
    assert noise_deadband(0.015, 0.005, aim, "advanced") == 0.015
    assert noise_deadband(0.015, 0.1, aim, "intermediate") == noise_deadband(0.015, 0.1, aim)


def test_a_held_pi_loop_tracks_its_valve_and_moves_from_where_it_stands() -> None:
    """The proportional part of the last move stays in the valve: after a hold, the next
    move starts from the valve's opening, in the error's direction (no kick back)."""
    state = PIState(bias=1.0)
    first = pi_proposal(state, -0.3, 1.0, 0.1, 0.6, 0.01)
    assert first == pytest.approx(1.0 - 0.03 - 0.18)
    assert pi_proposal(state, 0.005, 1.0, 0.1, 0.6, 0.01, current=first) is None  # held
    again = pi_proposal(state, -0.03, 1.0, 0.1, 0.6, 0.01, current=first)
    assert again is not None
    assert first is not None
    assert again < first  # flow too high: it closes further


def test_pi_noise_learning_survives_a_subnormal_reading(chain3: Network) -> None:
    """Found by hypothesis (the random profile): a subnormal flow after a normal one made
    q/q' underflow to 0 and math.log raised out of the control step."""
    schedule = GainSchedule(chain3)
    ids = ["X1", "X2", "X3", "X4"]
    openings = dict.fromkeys(ids, 0.5)
    schedule.learn_noise(dict.fromkeys(ids, 1e300), openings, None)
    schedule.learn_noise(dict.fromkeys(ids, 5e-324), openings, None)
    assert 0.0 < schedule.noise < 1.0


def _plant_flows(
    network: Network, openings: dict[str, float], factor: float = 1.0
) -> dict[str, float]:
    """The plant's true flows at ``openings`` (the network itself), ``factor`` × its model."""
    from custom_components.heatbalance.engine.hydraulics import HydraulicModel

    model = HydraulicModel(network)
    h = model.openings()
    for k, iid in enumerate(model.topo.inlet_ids):
        h[k] = openings[iid]
    res = model.solve(h)
    return {
        iid: factor * float(q) for iid, q in zip(res.inlet_ids, res.inlet_flow_m3h, strict=True)
    }


def test_pi_flow_estimate_averages_readings_across_every_move(chain3: Network) -> None:
    """§3.0.7: the loops' flow estimate is the model's flow at the current openings times
    a learnt reading/model ratio, so readings average across everybody's moves. A plant
    that passes 8 % more than its model, 5 % meters, every valve moved by ±1 % each cycle
    (the flows by ±2.5 %): over cycles 12–16 the estimates are off by less than half of
    what one reading is (5 %), and their σ says so; an estimate restarted at each move
    would stay as wide as one reading."""
    rng = np.random.default_rng(7)
    schedule = GainSchedule(chain3)
    ids = sorted(chain3.inlets)
    errors: list[float] = []
    for k in range(16):
        openings = {iid: 0.6 + 0.01 * math.sin(k + j) for j, iid in enumerate(ids)}
        truth = _plant_flows(chain3, openings, 1.08)
        schedule.noise = 0.05  # as learn_noise finds it (tested above)
        schedule.update(openings, None)
        schedule.observe({iid: q * (1.0 + rng.normal(0.0, 0.05)) for iid, q in truth.items()})
        if k >= 12:
            for iid in ids:
                estimate = schedule.flow_estimate(iid)
                assert estimate is not None
                assert estimate[1] < 0.05 / 2.0
                errors.append(math.log(estimate[0] / truth[iid]))
    assert math.sqrt(float(np.mean(np.square(errors)))) < 0.05 / 2.0


def test_pi_flow_estimate_restarts_at_a_fault_not_at_a_spike(chain3: Network) -> None:
    """A reading far beyond the ratio's σ is a suspect: alone (a spike, a 4 σ reading of a
    5 % meter) it moves nothing; followed by another as far the same way (a valve blocked
    to 30 %) the estimate follows at once instead of averaging it in over many cycles."""
    schedule = GainSchedule(chain3)
    ids = sorted(chain3.inlets)
    openings = dict.fromkeys(ids, 0.6)
    truth = _plant_flows(chain3, openings)
    for _ in range(6):
        schedule.update(openings, None)
        schedule.observe(truth)
    spike = dict(truth, B2=0.7 * truth["B2"])
    for flows in (spike, truth):
        schedule.update(openings, None)
        schedule.observe(flows)
        estimate = schedule.flow_estimate("B2")
        assert estimate is not None
        assert estimate[0] == pytest.approx(truth["B2"], rel=0.005)
    blocked = dict(truth, B2=0.3 * truth["B2"])
    for _ in range(2):
        schedule.update(openings, None)
        schedule.observe(blocked)
    estimate = schedule.flow_estimate("B2")
    assert estimate is not None
    assert estimate[0] == pytest.approx(blocked["B2"], rel=0.01)


def test_pi_flow_estimate_carries_a_lost_reading_and_starts_from_the_model(
    chain3: Network,
) -> None:
    """A lost reading is carried by the model at the new openings (the loops act on it)
    for ``RATIO_MAX_AGE`` cycles; an inlet not read yet has no estimate (held, §3.0.7-1)."""
    schedule = GainSchedule(chain3)
    ids = sorted(chain3.inlets)
    openings = dict.fromkeys(ids, 0.6)
    truth = _plant_flows(chain3, openings, 0.9)
    schedule.update(openings, None)
    schedule.observe({"B2": truth["B2"], "B3": truth["B3"]})  # B1 not read yet
    assert schedule.flow_estimate("B1") is None
    closed = dict(openings, B2=0.3)
    moved = _plant_flows(chain3, closed, 0.9)
    for age in range(1, RATIO_MAX_AGE + 2):
        schedule.update(closed, None)
        schedule.observe({})  # every reading lost
        estimate = schedule.flow_estimate("B2")
        if age <= RATIO_MAX_AGE:
            assert estimate is not None
            assert estimate[0] == pytest.approx(moved["B2"], rel=0.01)
        else:
            assert estimate is None  # too long unread: held, not guessed on
    assert moved["B2"] < 0.8 * truth["B2"]


def test_pi_schedule_memory_round_trips(chain3: Network) -> None:
    """A restart keeps the loops' learnt noise and flow estimates (HA's Store)."""
    import json

    schedule = GainSchedule(chain3)
    openings = dict.fromkeys(chain3.inlets, 0.6)
    truth = _plant_flows(chain3, openings, 0.9)
    schedule.learn_noise(truth, openings, None)
    schedule.noise = 0.04
    schedule.update(openings, None)
    schedule.observe(truth)
    again = GainSchedule(chain3)
    again.load(json.loads(json.dumps(schedule.to_dict())))
    assert again.to_dict() == schedule.to_dict()
    again.load({"noise": "loud", "ratios": {"B1": {"mean": float("nan")}, "X": {}}, "speed": []})
    assert again.noise == 0.03  # the prior: the entry could not be read
