"""Networks and faults no benchmark had: found by the hidden-check probe (issue 9, 9x).

Each test pins one finding on a generated network of a shape the benchmarks did not have
(valves of unusual Kvs, …), run closed loop through the engine's controller.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import PUMP_SHORT, make_controller
from custom_components.heatbalance.engine.control.safety import MIN_OPENING
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator
from devtools.network_shapes import design_off

from .test_control_closed_loop import all_open, noisy, run


def oversized_valve_network() -> tuple[Network, str]:
    """12 buildings; one valve 10× oversized: at its minimum opening it still passes +10 %."""
    network = all_open(generate_network(12, seed=47, name="weirdkvs12"))
    iid = sorted(i for i, x in network.inlets.items() if x.parent is None)[1]
    network.inlets[iid].device.kvs = (network.inlets[iid].device.kvs or 1.0) * 10.0
    return network, iid


@pytest.mark.parametrize("algorithm", ["model", "traditional"])
def test_a_valve_held_at_its_minimum_opening_is_not_commanded_again(algorithm: str) -> None:
    """§5.3.6-3/§8.2.5: a valve the safety limit holds at its minimum opening gets no
    command to where it already stands. The limit is still reported (§5.3.8-1 alarm).

    Before, every step re-sent the same 5 % (1.0 commands per step after settling on a
    10× oversized valve: radio traffic to a battery valve, and counted as hunting).
    """
    network, iid = oversized_valve_network()
    ctl = make_controller(network, ControllerConfig(algorithm=algorithm))
    _, _, history = run(network, ctl, 12)
    at_min = [k for k, c in enumerate(history) if c.openings.get(iid) == pytest.approx(0.05)]
    assert at_min, "the oversized valve should reach its minimum opening"
    later = history[at_min[0] + 1 :]
    assert later
    assert all(iid not in c.openings for c in later)
    assert all(MIN_OPENING in c.limited.get(iid, []) for c in later)


def test_impossible_flow_readings_are_no_evidence_of_a_meter_bias() -> None:
    """§3.0.7-1: a flow reading far beyond any the inlet can pass (10× design) is a broken
    reading; the meter check must not take it as a biased meter (§3.0.7-5).

    Before, two such readings in a row (1e9 m³/h, a Modbus register read as garbage) made
    the meter check name a flow meter bias of e^18 and divide every later reading of that
    meter by it for 12 cycles: on the controller's API (no data cleaning in front of it)
    3-km comb runs with absurd readings drove inlets to +58 % … +179 % of their set flow.
    """
    network = all_open(generate_network(12, seed=47, name="g12"))
    victim = "B004"
    ctl = make_controller(network, ControllerConfig())

    def garbage(k: int, meas: Measurements) -> None:
        if k in (3, 4):
            meas.inlets[victim].flow_m3h = 1e9

    _, _, history = run(network, ctl, 10, tamper=garbage)
    assert ctl.meters.factors == {}
    assert not any(f.inlet_id == victim for f in ctl.meter_findings)
    assert all(victim not in c.faults for c in history)


def test_the_pump_is_not_slowed_for_an_inlet_that_fell_silent() -> None:
    """§5.3.6-3 fail-safe: an inlet whose readings stop (its device no longer answers) is
    held where it is; it still draws water, so the pump must not be slowed on the plan's
    word that nobody needs the head it got.

    Before, once its estimate expired (8 cycles) the silent inlet left the plan's
    constraints, and the plan cut the pump 0.977 → 0.887: a 2-building network's silent
    building fell to −12 % and the other to −2 % of set flow.
    """
    network = all_open(generate_network(2, seed=42, name="tiny2"))
    silent = "B002"
    ctl = make_controller(network, ControllerConfig())

    def falls_silent(k: int, meas: Measurements) -> None:
        if k >= 7:
            meas.inlets.pop(silent, None)

    _, sim, history = run(network, ctl, 24, tamper=falls_silent)
    speeds = [c.pump_speed for c in history[7:] if c.pump_speed is not None]
    before = next(c.pump_speed for c in reversed(history[:7]) if c.pump_speed is not None)
    assert all(s >= before - 1e-9 for s in speeds)
    state = sim.state()
    flow = state.inlets[silent].flow_m3h / state.inlets[silent].design_flow_m3h
    assert flow >= 0.95  # §8.2.3 intermediate band's lower edge


def test_households_without_a_flow_meter_are_planned_from_the_model() -> None:
    """§3.0.7 model-based control where only some households are metered (advanced level):
    a household whose valve answers but that has no flow meter is set by the model's plan,
    the metered ones and the building meter correcting the model.

    Before, every household never read was held where it stood (fully open) as "no usable
    reading": its metered siblings were throttled to their band and the unmetered ones took
    the rest — 8 buildings × 12 households, every other one unmetered: 19 % of the
    households in band, the worst +46.6 %.
    """
    network = all_open(generate_network(8, 12, seed=43, name="deep8x12"))
    households = sorted(i for i, x in network.inlets.items() if x.parent is not None)
    unmetered = set(households[::2])
    ctl = make_controller(network, ControllerConfig())

    def no_meter(_: int, meas: Measurements) -> None:
        for iid in unmetered:
            meas.inlets[iid].flow_m3h = None

    verdicts, sim, _ = run(network, ctl, 12, tamper=no_meter)
    state = sim.state()
    ratios = [state.inlets[h].flow_m3h / state.inlets[h].design_flow_m3h for h in households]
    assert max(ratios) <= 1.05
    assert min(ratios) >= 1.0 - 0.05
    assert verdicts[-1] is True  # advanced band (§8.2.4) at every inlet


def test_a_building_whose_residents_close_their_radiators_does_not_throttle_the_others() -> None:
    """§5.3.7-3/§5.3.6-5 fault isolation: a building whose heated circuit passes far less
    than the network file says (residents closed every radiator; or a clogged strainer
    inside) cannot take its set flow even with its valve fully open. It gets what it can and
    is named; every other building keeps its band (issue 9 item 3).

    Before, only a valve identified as blocked left the plan: with the circuit ×10 the plan
    scaled every target to what that building could get, and the 11 healthy buildings fell
    from the advanced band to −21 % of their set flow (here; estate12 in bench_robust: −10 %).
    """
    network = all_open(generate_network(12, seed=47, name="closed12"))
    victim = sorted(i for i, x in network.inlets.items() if x.parent is None)[6]
    ctl = make_controller(network, ControllerConfig())
    sim = Simulator(network, outdoor_c=-5.0)
    before, sim, _ = run(network, ctl, 6, sim=sim)
    assert before[-1] is True  # balanced (advanced band, §8.2.4) before the residents act
    sim.set_circuit(victim, 10.0)
    _, sim, history = run(network, ctl, 10, sim=sim)
    state = sim.state()
    others = [
        state.inlets[i].flow_m3h / state.inlets[i].design_flow_m3h
        for i in network.inlets
        if i != victim
    ]
    assert min(others) >= 1.0 - 0.05  # §8.2.3: none throttled below the intermediate band
    assert victim in history[-1].faults  # named (§5.3.7-3)
    assert state.inlets[victim].opening == pytest.approx(1.0)  # it gets all it can


def test_a_pump_that_does_not_reach_its_command_leaves_an_even_shortfall() -> None:
    """§5.3.8-4/§5.3.6-5: a pump that runs at 90 % of the speed it is told (a worn pump, a
    VFD limit or scaling) cannot serve everyone; the inlets share the shortfall evenly (no
    weights here) and the valves settle — the controller sizes them for the speed the pump
    really runs at, and carries its estimates by the speed change it really made.

    Before, the estimates were carried by the commanded speed ratio (+11 % while the flows
    did not change) and the valves were sized for a speed that never came: the pump was
    driven down to 0.81, the buildings spread 0.76…0.97 of their set flow and 2–12 valves
    moved every step to the end (here; bench_robust loop8: −24…+20 %, 0.40 moves per inlet
    and step). Now every building gets 0.91, nothing moves after the first step.
    """
    network = all_open(generate_network(12, seed=47, name="weakpump12"))
    ctl = make_controller(network, ControllerConfig())
    sim = Simulator(network, outdoor_c=-5.0)
    rng = np.random.default_rng(3)
    moves = []
    for _ in range(16):
        meas = Measurements.from_plant(sim.state())
        noisy(meas, rng, 0.01)
        cmds = ctl.step(meas)
        moves.append(len(cmds.openings))
        for iid, opening in cmds.openings.items():
            sim.set_opening(iid, opening)
        if cmds.pump_speed is not None:
            sim.set_pump_speed(0.9 * cmds.pump_speed)
        sim.advance(1800.0)
    state = sim.state()
    ratios = [s.flow_m3h / network.inlets[i].design_flow_m3h for i, s in state.inlets.items()]
    assert max(ratios) - min(ratios) <= 0.05  # an even shortfall, none served at others' cost
    assert min(ratios) >= 0.85  # what a pump at 90 % of its speed gives everyone
    assert sum(moves[-6:]) <= 2  # settled: no hunting after a speed that never comes
    assert any(PUMP_SHORT in n for n in cmds.notes)  # the operator is told why


def test_a_blocked_inlet_that_can_pass_its_share_of_a_short_pump_stays_regulated() -> None:
    """§5.3.6-5 / §5.3.7: a valve found blocked (it passes less than the file says) leaves
    the plan only when it cannot pass its goal; when the pump cannot serve anyone fully
    (the file's design loads ×1.3), every inlet gets the same share of its set flow, the
    blocked one too.

    Before, any blocked inlet left a plan whose targets were scaled down — also when the
    pump, not the blocked valve, made it short: planned fully open, the "blocked" building
    (its Kvs ×2 in the file) took 1.09 of its set flow while the 19 others got 0.81
    (hidden-check shape gen20-designx1.3, bench_robust "plant: file's Kvs x2").
    """
    plant = all_open(design_off())
    victim = "B011"
    configured = copy.deepcopy(plant)
    device = configured.inlets[victim].device
    device.kvs = float(device.kvs or 1.0) * 2.0
    ctl = make_controller(configured, ControllerConfig())
    sim = Simulator(plant, outdoor_c=plant.design.outdoor_c)
    _, sim, history = run(configured, ctl, 12, sigma=0.0, sim=sim)
    assert any(victim in c.faults for c in history)  # still named (its valve passes less)
    state = sim.state()
    shares = {i: state.inlets[i].flow_m3h / plant.inlets[i].design_flow_m3h for i in plant.inlets}
    others = [v for i, v in shares.items() if i != victim]
    assert max(others) < 0.9  # the pump is short for everyone
    assert shares[victim] <= max(others) + 0.03, (shares[victim], min(others), max(others))
