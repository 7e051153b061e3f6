"""Closed-loop control against the real Simulator (§3.0.6, §3.0.7, §8.2.4).

Every run starts from all valves open at full pump speed (the unbalanced state of a network
nobody balanced) and takes 30-minute control steps. The controller sees measurements with
1 % flow-meter noise; the band is judged on the plant's true state by ``evaluate()``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pytest

from custom_components.heatbalance.engine.control.base import (
    Commands,
    ControllerConfig,
    Measurements,
)
from custom_components.heatbalance.engine.control.controller import Controller, make_controller
from custom_components.heatbalance.engine.evaluation import evaluate
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator

STEP_S = 1800.0


def all_open(network: Network) -> Network:
    """The start of every run: every valve open, the pump at full speed."""
    for inlet in network.inlets.values():
        inlet.device.opening = 1.0
    network.substation.pump.speed = 1.0
    return network


def noisy(state_measurements: Measurements, rng: np.random.Generator, sigma: float) -> None:
    """Multiply every flow reading by (1 + σ·N(0, 1)): a flow meter's relative noise."""
    for reading in state_measurements.inlets.values():
        if reading.flow_m3h is not None:
            reading.flow_m3h *= 1.0 + sigma * rng.standard_normal()


def apply(sim: Simulator, cmds: Commands) -> None:
    """Send a step's commands to the plant."""
    for iid, opening in cmds.openings.items():
        sim.set_opening(iid, opening)
    if cmds.pump_speed is not None:
        sim.set_pump_speed(cmds.pump_speed)


def run(
    network: Network,
    controller: Controller,
    steps: int,
    *,
    sigma: float = 0.01,
    seed: int = 1,
    target: str = "flow",
    sim: Simulator | None = None,
    tamper: Callable[[int, Measurements], None] | None = None,
) -> tuple[list[bool | None], Simulator, list[Commands]]:
    """Closed loop; per step whether the whole network is in the advanced band."""
    sim = sim or Simulator(network, outdoor_c=-5.0)
    rng = np.random.default_rng(seed)
    state = sim.state()
    verdicts: list[bool | None] = []
    history: list[Commands] = []
    for k in range(steps):
        meas = Measurements.from_plant(state)
        noisy(meas, rng, sigma)
        if tamper is not None:
            tamper(k, meas)
        cmds = controller.step(meas)
        history.append(cmds)
        apply(sim, cmds)
        state = sim.step(STEP_S)
        verdicts.append(evaluate(sim.network, state, level="advanced", target=target).in_band)
    return verdicts, sim, history


def first_held_band(verdicts: list[bool | None]) -> int | None:
    """First step (1-based) from which the network stays in band to the end."""
    for k in range(len(verdicts)):
        if all(v is True for v in verdicts[k:]):
            return k + 1
    return None


@pytest.mark.parametrize("name", ["estate12", "district120", "loop8"])
def test_model_based_reaches_the_advanced_flow_band_in_a_few_steps(builtin, name: str) -> None:
    """Issue 3 goal: advanced band (flow 0…+5 %, §8.2.4) in ≤6 steps with 1 % noise, held."""
    network = all_open(builtin(name))
    start = Simulator(network, outdoor_c=-5.0).state().pump
    ctl = make_controller(network, ControllerConfig(algorithm="model", target="flow"))
    verdicts, sim, _ = run(network, ctl, 10)
    reached = first_held_band(verdicts)
    assert reached is not None
    assert reached <= 3, verdicts
    end = sim.state().pump
    assert sim.pump_speed < 1.0  # the lowest head that serves the worst circuit
    assert end.power_w < 0.95 * start.power_w


def test_model_based_pump_leaves_the_worst_circuit_nearly_open(builtin) -> None:
    """§3.0.7: the pump slows until the worst-placed circuit's valve is (nearly) fully open."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    _, sim, _ = run(network, ctl, 5)
    assert max(sim.openings) >= 0.95


def test_traditional_pi_converges_but_more_slowly(builtin) -> None:
    """Plain PI (§5.3.6-1) gets there too, but needs more steps than the model: the valves
    are coupled and each loop sees only its own flow. (It asserted more than 6 steps until
    the loops closed together after start-up, 7 Dec: 4 steps now.)"""
    steps = {}
    for algorithm in ("traditional", "model"):
        network = all_open(builtin("estate12"))
        ctl = make_controller(network, ControllerConfig(algorithm=algorithm, target="flow"))
        verdicts, sim, _ = run(network, ctl, 40)
        steps[algorithm] = first_held_band(verdicts)
        if algorithm == "traditional":
            assert sim.pump_speed == 1.0  # PI does not run the pump
    assert steps["traditional"] is not None
    assert steps["model"] is not None
    assert steps["traditional"] > steps["model"]


def test_model_based_room_target_brings_rooms_to_setpoint(builtin) -> None:
    """§3.0.7-4/§4.1.1: room target by an outer loop on the flow targets; ±1 K (§8.2.4)."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig(target="room"))
    start = Simulator(network, outdoor_c=-5.0).state()
    before = max(abs(s.room_c - network.inlets[i].room_setpoint_c) for i, s in start.inlets.items())
    _, sim, _ = run(network, ctl, 72, target="room")
    state = sim.state()
    after = [abs(s.room_c - network.inlets[i].room_setpoint_c) for i, s in state.inlets.items()]
    assert before > 2.0  # the open network overheats the near buildings
    assert max(after) < 1.0
    assert state.pump.power_w < 0.5 * start.pump.power_w  # less water for warm rooms


def test_model_based_return_target_narrows_the_return_spread(builtin) -> None:
    """§4.1.1 return-temperature target via the heating-curve static model (§3.0.6)."""
    network = all_open(builtin("estate12"))
    start = Simulator(network, outdoor_c=-5.0).state()
    spread0 = np.ptp([s.return_c for s in start.inlets.values()])
    ctl = make_controller(network, ControllerConfig(target="return"))
    verdicts, sim, _ = run(network, ctl, 30, target="return")
    spread = np.ptp([s.return_c for s in sim.state().inlets.values()])
    assert spread < 0.5 < spread0
    assert verdicts[-1] is True


def test_identification_learns_a_blockage_and_still_balances(builtin) -> None:
    """§3.0.7-3 self-correction: a strainer clogged to 30 % Kv is learnt by RLS."""
    network = all_open(builtin("estate12"))
    sim = Simulator(network, outdoor_c=-5.0)
    sim.inject_fault("B001", "blockage", factor=0.3)
    ctl = make_controller(network, ControllerConfig())
    verdicts, _, history = run(network, ctl, 10, sim=sim)
    assert any("B001" in c.faults for c in history[:2])  # alarmed (§5.3.7), naming it
    assert history[-1].faults["B001"].startswith("blocked")
    assert verdicts[-4:] == [True] * 4  # learnt, still served: balanced
    assert ctl.model.identifiers["B001"].valve_factor == pytest.approx(1 / 0.3**2, rel=0.1)
    assert ctl.model.identifiers["B003"].valve_factor == pytest.approx(1.0, abs=0.1)


def test_a_blockage_the_pump_cannot_overcome_is_isolated(builtin) -> None:
    """Issue 9 fault isolation (§5.3.7): one blocked building does not throttle everyone.

    It is planned fully open at what it can get and alarmed; every other inlet keeps the
    advanced band (before: every target was scaled down, all inlets at −16…−26 %).
    """
    network = all_open(builtin("estate12"))
    sim = Simulator(network, outdoor_c=-5.0)
    sim.inject_fault("B003", "blockage", factor=0.3)
    ctl = make_controller(network, ControllerConfig())
    _, sim, history = run(network, ctl, 12, sim=sim)
    state = sim.state()
    others = [s.flow_m3h / s.design_flow_m3h for i, s in state.inlets.items() if i != "B003"]
    assert min(others) >= 1.0
    assert max(others) <= 1.05
    assert sim.openings[sim.ids.index("B003")] == 1.0
    assert state.inlets["B003"].flow_m3h < 0.95 * state.inlets["B003"].design_flow_m3h
    assert any("B003" in c.faults for c in history[:2])


def test_stuck_valve_does_not_stop_the_others(builtin) -> None:
    """A valve stuck at 30 % keeps its position; the plan works around it."""
    network = all_open(builtin("district120"))
    sim = Simulator(network, outdoor_c=-5.0)
    sim.inject_fault("B010", "stuck", at=0.3)
    ctl = make_controller(network, ControllerConfig())
    _, sim, _ = run(network, ctl, 6, sim=sim)
    state = sim.state()
    others = [s.flow_m3h / s.design_flow_m3h for i, s in state.inlets.items() if i != "B010"]
    assert min(others) >= 0.99
    assert max(others) <= 1.05


@pytest.mark.parametrize("name", ["estate12", "loop8"])
def test_pi_works_around_a_stuck_valve(builtin, name: str) -> None:
    """PI (HA's default) with one valve stuck at 30 %: the stuck loop is held (not wound
    up) and its starving error does not enter the loops' common mode, so every other inlet
    reaches the intermediate band (§8.2.3) within 12 steps. (With the mean error as common
    mode, 0–10 % of the others stayed in band.)"""
    network = all_open(builtin(name))
    victim = sorted(network.inlets)[len(network.inlets) // 2]
    sim = Simulator(network, outdoor_c=-5.0)
    sim.inject_fault(victim, "stuck", at=0.3)
    ctl = make_controller(network, ControllerConfig(algorithm="traditional"))
    _, sim, history = run(network, ctl, 12, sim=sim)
    others = [i for i in network.inlets if i != victim]
    ev = evaluate(sim.network, sim.state(), level="intermediate", target="flow", inlets=others)
    assert ev.in_band, ev.share_in_band
    assert victim in history[-1].held  # named stuck, no command


def test_manual_network_computes_but_never_commands(builtin) -> None:
    """§5.3.6-6: manual mode shows what would be done and moves nothing."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig(auto=False))
    _, sim, history = run(network, ctl, 3)
    for cmds in history:
        assert cmds.openings == {}
        assert cmds.pump_speed is None
        assert len(cmds.proposed) == len(network.inlets)
        assert cmds.proposed_pump_speed is not None
    assert all(o == 1.0 for o in sim.openings)
    assert history[0].proposed["B001"] < 0.9  # the near building would be throttled


def test_manual_inlet_is_left_alone_and_planned_around(builtin) -> None:
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig(manual_inlets=["B002"]))
    _, sim, history = run(network, ctl, 5)
    assert all("B002" not in c.openings for c in history)
    assert sim.openings[sim.ids.index("B002")] == 1.0
    assert history[0].held["B002"].startswith("manual")
    others = [s.flow_m3h / s.design_flow_m3h for i, s in sim.state().inlets.items() if i != "B002"]
    assert min(others) >= 0.99


def test_manual_weight_raises_a_special_buildings_flow(builtin) -> None:
    """§5.3.6-5: a weight of 1.2 asks 20 % more water for that building."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig(weights={"B005": 1.2}))
    _, sim, history = run(network, ctl, 4)
    s = sim.state().inlets["B005"]
    assert s.flow_m3h / s.design_flow_m3h == pytest.approx(1.2 * ctl.aim, rel=0.02)
    assert history[-1].targets["B005"] == pytest.approx(s.design_flow_m3h * 1.2 * ctl.aim)
    assert history[-1].setpoints == {}  # no self-operated valve setpoints from this controller


def test_mixed_algorithms_per_inlet(builtin) -> None:
    """§5.3.6-2: some inlets on PI, the rest model-based, in one network."""
    network = all_open(builtin("estate12"))
    cfg = ControllerConfig(inlet_algorithms={"B001": "traditional", "B002": "traditional"})
    ctl = make_controller(network, cfg)
    verdicts, _, _ = run(network, ctl, 30)
    assert first_held_band(verdicts) is not None


def test_dropouts_from_the_start_are_planned_open_loop_and_say_why(builtin) -> None:
    """§3.0.7-1: a flow that never comes (nothing at all, NaN, negative) is no reading; from
    a cold start such an inlet is planned from the model alone and flagged in
    ``Commands.open_loop`` (9s); the rest carries on.

    Expectation changed by 9s: before, these were held where they stood (fully open), drawing
    what the open valve passed while the plan counted them at design (bench_robust "silent
    5%": silent inlets at up to 3.2× design, the others out of band). A device heard from
    neither by flow nor by position for ``MAX_ESTIMATE_AGE`` cycles is still held
    (tests/engine/test_silent_meters.py)."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())

    def drop(k: int, meas: Measurements) -> None:
        meas.inlets.pop("B004")
        meas.inlets["B005"].flow_m3h = float("nan")
        meas.inlets["B006"].flow_m3h = -3.0

    _, sim, history = run(network, ctl, 3, tamper=drop)
    for cmds in history:
        assert {"B004", "B005", "B006"} <= set(cmds.open_loop)
        assert not {"B004", "B005", "B006"} & set(cmds.held)
        assert len(cmds.held) == 0  # the rest carries on
    assert all(sim.openings[sim.ids.index(i)] < 1.0 for i in ("B004", "B005", "B006"))


def test_a_single_spike_is_rejected_not_acted_on(builtin) -> None:
    """A flow reading three times too high once is held, not chased."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())

    def spike(k: int, meas: Measurements) -> None:
        if k == 4:
            meas.inlets["B007"].flow_m3h = (meas.inlets["B007"].flow_m3h or 0.0) * 3.0

    verdicts, _, history = run(network, ctl, 6, tamper=spike)
    assert "B007" in history[4].held
    assert "B007" not in history[4].openings
    assert verdicts[-1] is True


def test_pump_is_held_when_most_of_the_network_is_dark(builtin) -> None:
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    meas = Measurements.from_plant(Simulator(network, outdoor_c=-5.0).state())
    for iid in list(meas.inlets)[:8]:
        meas.inlets.pop(iid)
    cmds = ctl.step(meas)
    assert cmds.pump_speed is None
    assert any("pump held" in n for n in cmds.notes)


@pytest.mark.parametrize(
    "cfg",
    [
        ControllerConfig(inlet_algorithms={"B001": "traditional"}, target="flow"),
        ControllerConfig(algorithm="traditional"),  # the loops' schedule memory too
    ],
    ids=["model-and-one-pi", "pi"],
)
def test_state_round_trips_and_continues_identically(builtin, cfg: ControllerConfig) -> None:
    """``as_dict``/``from_dict``: a restarted controller decides exactly as before."""
    import json

    network = all_open(builtin("estate12"))
    ctl = make_controller(network, cfg)
    _, sim, _ = run(network, ctl, 3)
    copy_ = Controller.from_dict(network, json.loads(json.dumps(ctl.as_dict())))
    meas = Measurements.from_plant(sim.state())
    a, b = ctl.step(meas), copy_.step(meas)
    assert a.openings == pytest.approx(b.openings)
    assert a.pump_speed == pytest.approx(b.pump_speed)


def test_household_valves_steer_rooms_to_their_own_setpoints() -> None:
    """§3.0.7-4: household valves toward room temperature, buildings on flow (§5.3.6-2)."""
    from .test_control_properties import network as household_network

    network = household_network()
    network.inlets["B3H1"].room_setpoint_c = 20.0  # one household wants it warmer
    cfg = ControllerConfig(target="flow", type_targets={"iot_valve": "room"})
    ctl = make_controller(network, cfg)
    _, sim, history = run(network, ctl, 72, target="room")
    state = sim.state()
    assert history[-1].targets["B3H1"] == 20.0
    assert state.inlets["B3H1"].room_c == pytest.approx(20.0, abs=0.5)
    assert state.inlets["B3H2"].room_c == pytest.approx(18.0, abs=1.0)
    assert state.inlets["B3H1"].flow_m3h > 1.5 * state.inlets["B3H2"].flow_m3h
    for iid in ("B1", "B2"):
        s = state.inlets[iid]
        assert 1.0 <= s.flow_m3h / s.design_flow_m3h <= 1.05


def test_model_self_corrects_when_the_network_file_is_wrong(builtin) -> None:
    """§3.0.7-3: circuits 20…80 % stiffer than the file says are learnt by RLS.

    The advanced band is NOT reached here (measured over 8 noise seeds: never held within
    14 steps; docs/control.md): the RLS prior is kept strong so flow-meter noise does not
    move a correct model. What is asserted is that the model learns the plant and the flows
    come within −3…+6 % of set flow everywhere (without learning: 0.963 at the worst).
    """
    network = all_open(builtin("district120"))
    plant = copy.deepcopy(network)
    rng = np.random.default_rng(0)
    for inlet in plant.inlets.values():
        inlet.internal_dp_kpa *= 1.5 * rng.uniform(0.8, 1.2)
    sim = Simulator(plant, outdoor_c=-5.0)
    ctl = make_controller(network, ControllerConfig())  # believes the file
    run(network, ctl, 10, sim=sim)
    factors = [i.circuit_factor for i in ctl.model.identifiers.values()]
    assert np.median(factors) == pytest.approx(1.5, rel=0.15)
    ratios = [s.flow_m3h / s.design_flow_m3h for s in sim.state().inlets.values()]
    assert min(ratios) > 0.97
    assert max(ratios) < 1.06


def test_pressure_residuals_correct_a_wrong_pipe_model(builtin) -> None:
    """§3.0.7-3: pipes rougher than the file (×1.5 roughness) show up in the learnt pipes."""
    network = all_open(builtin("district120"))
    plant = copy.deepcopy(network)
    for pipe in plant.pipes:
        pipe.roughness_mm *= 1.5
    sim = Simulator(plant, outdoor_c=-5.0)
    ctl = make_controller(network, ControllerConfig())
    verdicts, _, _ = run(network, ctl, 12, sim=sim)
    assert verdicts[-3:] == [True] * 3, verdicts
    # the pipes' learnt resistance (not per-inlet residuals: they are carried over it)
    assert ctl.learned_corrections()["pipe_resistance_factor"] > 1.05


def test_readings_as_plain_mappings_or_garbage_are_handled(builtin) -> None:
    """An integration may hand over dicts; anything unreadable counts as missing."""
    network = all_open(builtin("estate12"))
    state = Simulator(network, outdoor_c=-5.0).state()
    meas = Measurements.from_plant(state)
    as_dicts = {iid: vars(r) | {"unknown": 1} for iid, r in meas.inlets.items()}
    as_dicts["B002"] = {"flow_m3h": "abc", "opening": "x", "flagged": "flow_m3h"}
    as_dicts["B003"] = 42  # type: ignore[assignment]
    meas.inlets = as_dicts  # type: ignore[assignment]
    cmds = make_controller(network, ControllerConfig()).step(meas)
    assert "B001" in cmds.openings
    assert {"B002", "B003"} <= set(cmds.open_loop)  # no reading (9s: planned, not held)
    assert any("B003" in n for n in cmds.notes)
    assert make_controller(network, ControllerConfig()).step(None).notes  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "sigma"), [("estate12", 0.02), ("loop8", 0.02)])
def test_gain_scheduled_pi_reaches_the_intermediate_band_within_12_steps(
    builtin, name: str, sigma: float
) -> None:
    """Issue 9 goal: PI — the HA default — in the intermediate band (flow −5…+10 %, §8.2.3)
    within 12 steps at 2 % meter noise, held; and after settling it does not hunt."""
    network = all_open(builtin(name))
    sim = Simulator(network, outdoor_c=-5.0)
    ctl = make_controller(network, ControllerConfig(algorithm="traditional", target="flow"))
    rng = np.random.default_rng(3)
    state = sim.state()
    verdicts, moves = [], 0
    for k in range(20):
        meas = Measurements.from_plant(state)
        noisy(meas, rng, sigma)
        cmds = ctl.step(meas)
        moves += len(cmds.openings) if k >= 10 else 0
        apply(sim, cmds)
        state = sim.step(STEP_S)
        verdicts.append(evaluate(sim.network, state, level="intermediate", target="flow").in_band)
    reached = first_held_band(verdicts)
    assert reached is not None, verdicts
    assert reached <= 12, verdicts
    assert moves / (10 * len(ctl.ids)) < 0.35  # most valves rest in most steps


@pytest.mark.parametrize(("algorithm", "carried"), [("traditional", False), ("model", True)])
def test_estimates_carried_by_the_model_only_where_it_regulates(
    builtin, algorithm: str, carried: bool
) -> None:
    """Under PI alone the model is identified (to name a blocked valve) but never planned
    from: carrying the estimates through moves by its forward answer lost PI's intermediate
    band at 5 % noise (bench_robust --algorithm traditional, 5 seeds: every seed ≤12 steps
    on 2/11 networks, held at the end on 5/11; without it 6/11 and 10/11)."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig(algorithm=algorithm, target="flow"))
    calls: list[int] = []
    forward = ctl.model.move_factors

    def counted(*args, **kwargs):  # the real forward answer, counted
        calls.append(1)
        return forward(*args, **kwargs)

    ctl.model.move_factors = counted  # type: ignore[method-assign]
    run(network, ctl, 4, sigma=0.05)
    assert bool(calls) is carried
