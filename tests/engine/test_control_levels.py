"""The level decides what is regulated (§3.0.4 Table 3.0.4, §3.0.5–§3.0.7, §4.1.1)."""

from __future__ import annotations

import copy

import pytest

from custom_components.heatbalance.engine.commissioning import presettings
from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.control.levels import (
    HOUSEHOLD_HOLD,
    PRIMARY_HOLD,
    ROOM_HOLD,
    hold_reason,
)
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import all_open, run


def _households() -> object:
    return all_open(generate_network(3, 3, seed=5, name="gen3x3"))


@pytest.mark.parametrize("algorithm", ["model", "traditional"])
def test_intermediate_moves_buildings_only_and_never_the_pump(algorithm: str) -> None:
    """§3.0.6 / Table 3.0.4: household valves are manual at the intermediate level."""
    net = _households()
    ctl = make_controller(net, ControllerConfig(algorithm=algorithm, level="intermediate"))
    _, _, history = run(net, ctl, 4, sigma=0.0)
    households = {i.id for i in net.inlets.values() if i.type == "household"}
    buildings = {i.id for i in net.inlets.values() if i.type != "household"}
    moved = {iid for cmds in history for iid in cmds.openings}
    assert moved
    assert moved <= buildings
    assert all(cmds.pump_speed is None for cmds in history)
    assert all(history[0].held[iid] == HOUSEHOLD_HOLD for iid in households)


def test_advanced_moves_households_and_the_pump() -> None:
    """§3.0.7-4: household inlets and the pump are regulated at the advanced level."""
    net = _households()
    ctl = make_controller(net, ControllerConfig(level="advanced"))
    _, _, history = run(net, ctl, 4, sigma=0.0)
    moved = {iid for cmds in history for iid in cmds.openings}
    assert any(net.inlets[iid].type == "household" for iid in moved)
    assert any(cmds.pump_speed is not None for cmds in history)


def test_level_changes_the_trajectory() -> None:
    """Before: identical trajectories whatever the level."""
    finals = {}
    for level in ("intermediate", "advanced"):
        net = _households()
        ctl = make_controller(net, ControllerConfig(level=level))
        _, sim, _ = run(net, ctl, 4, sigma=0.0)
        finals[level] = sim.openings.copy()
    assert (finals["intermediate"] != finals["advanced"]).any()


def test_primary_sends_the_commissioning_presettings_once_and_holds() -> None:
    """§3.0.5: no feedback regulation — the presettings, then nothing moves."""
    net = _households()
    expected = presettings(copy.deepcopy(net))
    ctl = make_controller(net, ControllerConfig(level="primary"))
    sim = Simulator(net, outdoor_c=-5.0)
    first = ctl.step(Measurements.from_plant(sim.state()))
    for iid, opening in first.openings.items():
        assert opening == pytest.approx(min(max(expected.openings[iid], 0.05), 1.0), abs=0.5 + 1e-9)
        sim.set_opening(iid, opening)
    assert first.openings
    assert first.pump_speed is not None
    sim.set_pump_speed(first.pump_speed)
    later = [ctl.step(Measurements.from_plant(sim.step(1800.0))) for _ in range(6)]
    # It converges on the presettings within the step limit, then holds whatever flows do.
    for cmds in later[-3:]:
        assert not cmds.openings
    for iid in first.openings:
        assert (
            sim.openings[sim.ids.index(iid)] == pytest.approx(expected.openings[iid], abs=0.01)
            or expected.openings[iid] < 0.05
        )


def test_room_target_below_advanced_is_held_with_the_clause() -> None:
    """§4.1.1: room temperature is an advanced-level target only."""
    net = _households()
    building = next(i.id for i in net.inlets.values() if i.type == "building")
    household = next(i.id for i in net.inlets.values() if i.type == "household")
    assert hold_reason(net, building, "intermediate", "room") == ROOM_HOLD
    assert hold_reason(net, building, "intermediate", "flow") is None
    assert hold_reason(net, household, "intermediate", "flow") == HOUSEHOLD_HOLD
    assert hold_reason(net, household, "advanced", "room") is None
    assert hold_reason(net, building, "primary", "flow") == PRIMARY_HOLD


def test_required_signals_follow_tables_4_3_2_and_4_3_3() -> None:
    """What an inlet must deliver remotely: intermediate (Table 4.3.2) by target, advanced
    (Table 4.3.3) for buildings and households apart; the primary level measures locally."""
    from custom_components.heatbalance.engine.control.levels import required_signals

    assert required_signals("primary", "flow", household=False) == ()
    assert required_signals("intermediate", "flow", household=False) == (
        "supply", "return", "flow", "device",
    )  # fmt: skip
    assert required_signals("intermediate", "return", household=False) == ("return", "device")
    assert required_signals("advanced", "flow", household=False) == ("flow", "device")
    assert required_signals("advanced", "room", household=False) == (
        "supply", "return", "flow", "device",
    )  # fmt: skip
    assert required_signals("advanced", "room", household=True) == ("return", "flow", "device")
    assert required_signals("intermediate", "room", household=False) == ()  # §4.1.1
