"""A pump that cannot serve everyone: the operator's weights decide who is served first
(§5.3.6-5), the rest share the shortfall proportionally — in the oracle (commissioning's
plan), in the model-based controller (the planner's allocation) and in traditional PI (the
same rule on the water its loops carry) alike.

The plant's pump has 80 % of its head (the benchmark's "pump head −20 %"); one building of
estate12 is weighted 1.2 (an old, poorly insulated building the operator favours).
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from custom_components.heatbalance.engine.commissioning import apply_presettings, presettings
from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import Controller, make_controller
from custom_components.heatbalance.engine.control.planner import PRIORITY_FLOOR, priority_tiers
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.oracle import weighted
from custom_components.heatbalance.engine.simulator import PlantState, Simulator

STEP_S = 1800.0
FAVOURED = "B006"  # estate12's middle building
WEIGHT = 1.2


def weak_pump(network: Network, factor: float = 0.8) -> Network:
    """A copy whose pump has ``factor`` × its head (hidden from the controller)."""
    out = copy.deepcopy(network)
    out.substation.pump.shutoff_head_m *= factor
    out.substation.pump.design_head_m *= factor
    return out


def served(network: Network, state: PlantState, weights: dict[str, float]) -> dict[str, float]:
    """Each inlet's flow over its set flow (design × weight)."""
    return {
        iid: s.flow_m3h / (network.inlets[iid].design_flow_m3h * weights.get(iid, 1.0))
        for iid, s in state.inlets.items()
    }


def oracle_served(plant: Network, weights: dict[str, float]) -> dict[str, float]:
    """The oracle's steady state (commissioning presettings on the weighted targets)."""
    settled = apply_presettings(plant, presettings(weighted(plant, weights)))
    sim = Simulator(settled, outdoor_c=plant.design.outdoor_c)
    return served(plant, sim.state(), weights)


def test_priority_tiers_lowest_weight_first() -> None:
    weights = np.array([1.0, 1.2, 0.8, 1.0, 2.0])
    scalable = np.array([True, True, True, True, False])
    tiers = [(mask.tolist(), last) for mask, last in priority_tiers(weights, scalable)]
    assert tiers == [
        ([False, False, True, False, False], False),
        ([True, False, True, True, False], False),
        ([True, True, True, True, False], True),
    ]


def test_oracle_serves_the_weighted_building_first() -> None:
    plant = weak_pump(load_network("estate12"))
    equal = oracle_served(plant, {})
    assert max(equal.values()) < 0.99  # the weak pump cannot serve everyone
    assert max(equal.values()) - min(equal.values()) < 0.005  # equal weights: one factor
    favoured = oracle_served(plant, {FAVOURED: WEIGHT})
    assert favoured[FAVOURED] == pytest.approx(1.0, abs=0.005)
    others = [r for iid, r in favoured.items() if iid != FAVOURED]
    assert max(others) - min(others) < 0.005  # the others share the shortfall proportionally
    assert max(others) < min(equal.values())  # and give the favoured building its share


def test_priority_never_starves_the_others_below_the_floor() -> None:
    """With half the buildings weighted and a pump far too weak, the others would fall
    below the floor: everyone shares the shortfall by one factor again."""
    plant = weak_pump(load_network("estate12"), 0.3)
    weights = dict.fromkeys(sorted(plant.inlets)[::2], 2.0)
    ratios = oracle_served(plant, weights)
    assert min(ratios.values()) < PRIORITY_FLOOR
    assert max(ratios.values()) - min(ratios.values()) < 0.01


def closed_loop(
    network: Network,
    plant: Network,
    config: ControllerConfig,
    cycles: int,
    moves: list[int] | None = None,
) -> tuple[PlantState, Controller]:
    """The controller on the weak-pump plant from every valve open, 1 % flow noise (seed 3);
    the plant's state after ``cycles`` cycles, and the controller (``moves``: each cycle's
    count of valves moved is appended to it)."""
    controller = make_controller(network, config)
    start = copy.deepcopy(plant)
    for inlet in start.inlets.values():
        inlet.device.opening = inlet.device.max_opening
    sim = Simulator(start, outdoor_c=plant.design.outdoor_c)
    rng = np.random.default_rng(3)
    state = sim.state()
    for _ in range(cycles):
        meas = Measurements.from_plant(state)
        for reading in meas.inlets.values():
            if reading.flow_m3h is not None:
                reading.flow_m3h *= 1.0 + 0.01 * rng.standard_normal()
        cmds = controller.step(meas)
        if moves is not None:
            moves.append(len(cmds.openings))
        for iid, opening in cmds.openings.items():
            sim.set_opening(iid, opening)
        if cmds.pump_speed is not None:
            sim.set_pump_speed(cmds.pump_speed)
        state = sim.step(STEP_S)
    return state, controller


def test_controller_allocates_as_the_oracle_does() -> None:
    """The model-based controller, configured with the nominal pump (the weak head is hidden
    from it) and the operator's weight, ends where the oracle is: the favoured building in
    its band, every other within 1.5 % of the oracle's proportional share."""
    network = load_network("estate12")
    plant = weak_pump(network)
    weights = {FAVOURED: WEIGHT}
    oracle = oracle_served(plant, weights)
    config = ControllerConfig(weights=weights)
    got = served(plant, closed_loop(network, plant, config, 8)[0], weights)
    assert 1.0 <= got[FAVOURED] <= 1.0 + 2 * (config.aim - 1.0) + 0.01
    for iid, ratio in got.items():
        if iid != FAVOURED:
            assert ratio == pytest.approx(oracle[iid], abs=0.015), iid


@pytest.mark.parametrize("weights", [{FAVOURED: WEIGHT}, {}], ids=["weighted", "equal"])
def test_pi_shares_a_shortfall_as_the_oracle_does(weights: dict[str, float]) -> None:
    """Traditional PI (HA's default) measures the shortfall instead of planning it and
    shares it by the same rule (§5.3.6-5, ``planner.shortfall_factors``): the favoured
    building at its set flow, in its band, every other within 3 % of the oracle's
    proportional share (0.945 of set flow; with equal weights all of them at 0.949): PI
    rests inside its deadband around its aim, 2.5 % above the share of the loop that stands
    fully open. Unshared, PI rested with the near buildings at +1…+4 % and the far ones
    fully open at −18 % (off the oracle's share by up to 0.13), weights or not."""
    network = load_network("estate12")
    plant = weak_pump(network)
    oracle = oracle_served(plant, weights)
    config = ControllerConfig(algorithm="traditional", weights=weights)
    got = served(plant, closed_loop(network, plant, config, 16)[0], weights)
    if weights:
        assert 1.0 <= got[FAVOURED] <= 1.0 + 2 * (config.pi_aim - 1.0) + 0.01
    for iid, ratio in got.items():
        if iid not in weights:
            assert ratio == pytest.approx(oracle[iid], abs=0.03), iid


def test_pi_serves_a_favoured_building_over_households() -> None:
    """Buildings over households (bench_robust's gen10x8-households), the middle building
    and its households weighted 1.2: PI reads from the schedule's model how far the light
    buildings must close for the favoured one, fully open, to reach its set flow
    (``GainSchedule.freed_share``). After 16 cycles it stands at 0.993 of its set flow
    (asked: ≥ 0.98; 22h's 0.996), every other building 0.016…0.040 above the oracle's share
    (0.78; asked: 0…0.1; PI rests above its goal by its aim and deadband). Read from the flows
    alone (21d), the light share fell 0.002 a cycle: after 24 cycles the favoured building
    stood fully open at 0.92 of its set flow; unshared (main), at 0.86."""
    network = generate_network(10, 8, seed=23, name="gen10x8-households")
    favoured = {i for i, inlet in network.inlets.items() if FAVOURED in (i, inlet.parent)}
    weights = dict.fromkeys(favoured, WEIGHT)
    plant = weak_pump(network)
    oracle = oracle_served(plant, weights)
    config = ControllerConfig(algorithm="traditional", weights=weights)
    got = served(plant, closed_loop(network, plant, config, 16)[0], weights)
    assert got[FAVOURED] >= 0.98
    for iid, inlet in network.inlets.items():
        if inlet.parent is None and iid != FAVOURED:
            assert 0.0 <= got[iid] - oracle[iid] <= 0.1, iid


def test_pi_s_favoured_households_share_and_settle() -> None:
    """The same plant over 24 cycles: the households under a sharing building are balanced
    among their siblings (``Controller._pi_among_siblings``), so the favoured building's
    households all get their set flow (0.967…1.004; asked: each ≥ 0.95 of it), and once
    the light buildings' share is found only their building valves follow it: 0.06 valve
    moves per inlet and cycle in the second half (bench_robust's *moves*; asked: ≤ 0.1,
    half the issue's ceiling). Each household on its own share (22h), the favoured
    building's stood at 0.895…1.037 (two fully open below 0.92) and the light households
    chased their share to the end: 0.17 moves.
    """
    network = generate_network(10, 8, seed=23, name="gen10x8-households")
    favoured = {i for i, inlet in network.inlets.items() if FAVOURED in (i, inlet.parent)}
    weights = dict.fromkeys(favoured, WEIGHT)
    plant = weak_pump(network)
    config = ControllerConfig(algorithm="traditional", weights=weights)
    moves: list[int] = []
    got = served(plant, closed_loop(network, plant, config, 24, moves)[0], weights)
    assert min(got[iid] for iid in favoured) >= 0.95
    assert sum(moves[12:]) / (12 * len(network.inlets)) <= 0.1


def test_pi_s_shares_survive_a_restart() -> None:
    """The shares PI found are stored with the controller: restored from JSON, it keeps
    sharing and sends what an uninterrupted controller sends (issue 10)."""
    network = load_network("estate12")
    plant = weak_pump(network)
    config = ControllerConfig(algorithm="traditional", weights={FAVOURED: WEIGHT})
    state, controller = closed_loop(network, plant, config, 16)
    assert controller.pi_shares
    assert max(controller.pi_shares.values()) == 1.0
    assert min(controller.pi_shares.values()) < 0.99
    restored = Controller.from_dict(network, json.loads(json.dumps(controller.as_dict())))
    assert restored.pi_shares == controller.pi_shares
    meas = Measurements.from_plant(state)
    assert restored.step(meas).openings == controller.step(meas).openings
