"""The pump loop on the estimated flows (issue 9 pump goal, §8.2.4, §5.3.6-3).

A pump speed change moves every flow by one factor (affinity laws, valves standing), so
once the network is quiet the controller slows the pump until the worst-served inlet's
estimate less two standard errors meets its set flow — without landing any valve again.
How far it goes is set by how well the flows are known: far with exact meters, not at all
while an inlet is not known.
"""

from __future__ import annotations

import json

import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import Controller, make_controller
from custom_components.heatbalance.engine.oracle import oracle

from .test_control_closed_loop import all_open, run

STEPS = 16


def test_exact_meters_let_the_pump_bring_every_flow_near_set_flow(builtin) -> None:
    """Exact flow readings: every flow ends within 1 % above its set flow, none below, and
    the pump at ≤1.03 × the oracle's power (without the loop: the 1.5 % aim, 1.045×)."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    verdicts, sim, history = run(network, ctl, STEPS, sigma=0.0)
    state = sim.state()
    ratios = [state.inlets[i].flow_m3h / n.design_flow_m3h for i, n in network.inlets.items()]
    assert min(ratios) >= 1.0, ratios
    assert max(ratios) < 1.01, ratios
    assert ctl.trim < 1.0
    best = oracle(network, outdoor_c=-5.0).pump_power_w
    assert state.pump.power_w / best <= 1.03
    assert all(verdicts[-4:])
    # the loop moved the pump alone: its last slow-down sent no valve command
    scaled = [c for c in history if c.pump_speed is not None and not c.openings]
    assert scaled, "the pump loop never slowed the pump on its own"


def test_noisy_meters_slow_the_pump_less(builtin) -> None:
    """2 % meters: the estimates are less sure, so the loop leaves more above set flow."""
    trims = []
    for sigma in (0.0, 0.02):
        network = all_open(builtin("estate12"))
        ctl = make_controller(network, ControllerConfig())
        run(network, ctl, STEPS, sigma=sigma)
        trims.append(ctl.trim)
    assert trims[0] < trims[1] <= 1.0


def test_an_inlet_without_an_estimate_holds_the_loop(builtin) -> None:
    """A building never read (its flow unknown) could be starved by a slower pump: the loop
    does not slow it (§5.3.6-3 fail-safe)."""

    def silence(_: int, meas: Measurements) -> None:
        meas.inlets.pop("B004", None)

    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    run(network, ctl, STEPS, sigma=0.0, tamper=silence)
    assert ctl.trim == 1.0


def test_the_loop_state_round_trips(builtin) -> None:
    """A restarted controller keeps where the loop has brought the goals."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    _, sim, _ = run(network, ctl, STEPS, sigma=0.0)
    copy_ = Controller.from_dict(network, json.loads(json.dumps(ctl.as_dict())))
    assert copy_.trim == pytest.approx(ctl.trim)
    assert copy_.quiet == ctl.quiet
    meas = Measurements.from_plant(sim.state())
    a, b = ctl.step(meas), copy_.step(meas)
    assert a.openings == pytest.approx(b.openings)
    assert a.pump_speed == pytest.approx(b.pump_speed)


def test_a_held_cycle_keeps_the_goals_where_they_were(builtin) -> None:
    """A balanced plant is left alone (§8.2.5: the loop holds every command, ControlLoop.held):
    the pump loop's goals stay where the pump really is. Without that they sank cycle after
    cycle while the pump stood, to set flow itself, the next plan's goals on the band's edge."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    _, sim, _ = run(network, ctl, 3, sigma=0.0)
    before = ctl.trim
    for _ in range(12):  # the network is quiet: the loop would slow the pump every 3rd cycle
        ctl.step(Measurements.from_plant(sim.state()))
        ctl.held()
        sim.step(1800.0)
    assert ctl.trim == before


def test_a_slowdown_the_plan_asks_for_is_left_to_the_loop_once_it_holds_the_pump(builtin) -> None:
    """Once the pump loop has slowed the pump (trim < 1), a plan asking for less still is the
    model's error (a re-plan would land every valve with it, §8.2.5); a speed-up (someone
    short), a plan at full speed or one before the loop acted are sent as before."""
    ctl = make_controller(all_open(builtin("estate12")), ControllerConfig())
    assert not ctl._loop_holds_slowdown(0.95, 0.97, False, {})  # the loop has not acted
    ctl.trim = 0.995
    assert ctl._loop_holds_slowdown(0.95, 0.97, False, {})
    assert not ctl._loop_holds_slowdown(0.99, 0.97, False, {})  # faster: sent
    assert not ctl._loop_holds_slowdown(0.95, 0.97, True, {})  # full speed needed: sent
