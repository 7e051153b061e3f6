"""What to send this cycle is the control loop's answer (``ControlLoop.step`` →
``LoopResult.dispatch``), the same for Home Assistant, the CLI and the benchmarks.

Automatic mode sends while regulating, leaves a balanced network alone and re-enters
regulation when the balance breaks (§8.2.5), and sends at once when the operator asks to
balance now; manual mode proposes and moves nothing (§5.3.6-6). A held cycle is told to the
controller, so it never assumes its commands moved a valve.
"""

from __future__ import annotations

import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.evaluation import BALANCED as STATE_BALANCED
from custom_components.heatbalance.engine.evaluation import BalanceStateMachine
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.loop import (
    BALANCED,
    MANUAL,
    ControlLoop,
    Dispatch,
    LoopConfig,
)
from custom_components.heatbalance.engine.simulator import Simulator

from .dispatching import send

CYCLE_S = 1800.0


def _loop(auto: bool = True, manual: list[str] | None = None) -> tuple[ControlLoop, Simulator]:
    net = load_network("estate12")
    control = ControllerConfig(
        algorithm="model", level="intermediate", auto=auto, manual_inlets=manual or []
    )
    loop = ControlLoop(net, LoopConfig(control), cycle_s=CYCLE_S)
    return loop, Simulator(net, outdoor_c=net.design.outdoor_c)


def _send(loop: ControlLoop, sim: Simulator, dispatch: Dispatch) -> None:
    """Do what the loop said, as the coordinator does, and let a cycle pass."""
    send(loop, sim, dispatch)
    sim.advance(CYCLE_S)


def test_balanced_network_is_left_alone_until_the_balance_breaks() -> None:
    loop, sim = _loop()
    machine = BalanceStateMachine()
    for k in range(12):
        out = loop.step(Measurements.from_plant(sim.state()), balance=machine, clock_s=k * CYCLE_S)
        if machine.state == STATE_BALANCED:
            break
        assert out.dispatch.held is None  # regulating: sent
        assert out.dispatch.openings == out.commands.openings
        _send(loop, sim, out.dispatch)
    assert machine.state == STATE_BALANCED, "estate12 never balanced in 12 cycles"
    assert out.dispatch.held == BALANCED


def test_a_broken_balance_is_held_once_then_regulated() -> None:
    """A network balanced until now whose plant is far out of band (here: the unbalanced
    start): the first out-of-band verdict is hysteresis (§8.2.5: one reading neither
    declares balance nor breaks it), so what regulation would send is held — and the
    controller is told, so it does not assume those valves moved; the second re-enters
    regulation by itself."""
    loop, sim = _loop()
    machine = BalanceStateMachine(state=STATE_BALANCED)
    first = loop.step(Measurements.from_plant(sim.state()), balance=machine, clock_s=0.0)
    assert first.dispatch.held == BALANCED
    assert first.dispatch.openings  # what it would send ...
    assert not loop.controller.moved  # ... is not assumed moved
    sim.advance(CYCLE_S)
    again = loop.step(Measurements.from_plant(sim.state()), balance=machine, clock_s=CYCLE_S)
    assert again.dispatch.held is None
    assert again.dispatch.openings
    assert set(loop.controller.moved) == set(again.dispatch.openings)


def test_balance_now_sends_also_when_balanced() -> None:
    """The operator's "balance now" moves a balanced network's valves at once."""
    loop, sim = _loop()
    machine = BalanceStateMachine(state=STATE_BALANCED)
    meas = Measurements.from_plant(sim.state())
    now = loop.step(meas, balance=machine, clock_s=0.0, balance_now=True)
    assert machine.state == STATE_BALANCED
    assert now.dispatch.held is None
    assert now.dispatch.openings == now.commands.openings != {}


def test_manual_mode_proposes_and_moves_nothing() -> None:
    loop, sim = _loop(auto=False, manual=["B003"])
    out = loop.step(Measurements.from_plant(sim.state()))
    send = out.dispatch
    assert send.held == MANUAL
    assert not out.commands.openings
    assert out.commands.pump_speed is None
    assert send.openings  # an unbalanced plant: a proposal to confirm
    assert "B003" not in send.openings  # an inlet switched to manual is not proposed
    assert dict(send.openings) == {i: v for i, v in out.commands.proposed.items() if i != "B003"}
    assert send.pump_speed == out.commands.proposed_pump_speed
    assert not loop.controller.moved  # nothing assumed moved until the operator confirms
    # confirming later: the step limit holds from where the valves are
    confirmed, _ = loop.within_limits(send.openings)
    loop.commanded(confirmed)
    assert set(loop.controller.moved) <= set(send.openings)


def test_without_a_balance_state_every_automatic_cycle_sends() -> None:
    """The CLI runs no §8.2.5 state: each automatic step regulates."""
    loop, sim = _loop()
    for _ in range(3):
        out = loop.step(Measurements.from_plant(sim.state()))
        assert out.dispatch.held is None
        _send(loop, sim, out.dispatch)


def _after_three_cycles(loop: ControlLoop, sim: Simulator) -> Measurements:
    """The readings after three regulated cycles: the filters know every inlet by then."""
    for _ in range(3):
        out = loop.step(Measurements.from_plant(sim.state()))
        _send(loop, sim, out.dispatch)
    return Measurements.from_plant(sim.state())


def test_filled_in_is_the_filters_prediction_for_a_lost_reading_only() -> None:
    """What HA shows flagged as estimated (issue 10 item 3) is the loop's own answer: a lost
    reading's prediction while it may stand in, nothing for a reading that came, and a valve
    without feedback at the position the step limit starts from."""
    loop, sim = _loop()
    meas = _after_three_cycles(loop, sim)
    true_flow = meas.inlets["B003"].flow_m3h
    meas.inlets["B003"].flow_m3h = None  # lost this cycle
    meas.inlets["B004"].opening = None  # no position feedback
    out = loop.step(meas)
    lost = loop.filled_in("B003", meas.inlets["B003"], out.commands.assumed)
    assert set(lost) == {"flow_m3h"}
    assert lost["flow_m3h"] == pytest.approx(true_flow, rel=0.05)
    assert loop.filled_in("B001", meas.inlets["B001"], out.commands.assumed) == {}
    assumed = loop.filled_in("B004", meas.inlets["B004"], {"B004": "no feedback"})
    assert assumed == {"opening": loop.controller.known_position("B004")}


def test_filled_in_predicts_a_rejected_reading_too() -> None:
    """A reading cleaning rejected (60,000 m³/h, §3.0.7-1) was read but not used: the filter
    predicts it as it does a lost one, so HA shows the estimate beside the rejected value
    (before, a rejected reading had no estimate: a lost meter had one, a wild one none)."""
    loop, sim = _loop()
    meas = _after_three_cycles(loop, sim)
    true_flow = meas.inlets["B003"].flow_m3h
    meas.inlets["B003"].flow_m3h = 60000.0
    out = loop.step(meas)
    assert "flow_m3h" in out.measurements.inlets["B003"].flagged  # rejected by cleaning
    plain = loop.filled_in("B003", meas.inlets["B003"], out.commands.assumed)
    assert plain == {}  # not told it was rejected: the value is there
    got = loop.filled_in("B003", meas.inlets["B003"], out.commands.assumed, rejected={"flow_m3h"})
    assert set(got) == {"flow_m3h"}
    assert got["flow_m3h"] == pytest.approx(true_flow, rel=0.05)


def test_a_pump_speed_limited_again_is_the_one_the_controller_records() -> None:
    """§5.3.6-3: the operator narrowed the pump's speed step while the step ran, so the
    coordinator sends the step's speed limited again (``ControlLoop.step_within_limits``);
    the controller compares the drive's feedback with, and carries its estimates by, the
    speed sent — not the one it planned (before: 0.977 recorded, 0.99 sent)."""
    net = load_network("estate12")
    loop = ControlLoop(net, LoopConfig(ControllerConfig(level="advanced")), cycle_s=CYCLE_S)
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    out = loop.step(Measurements.from_plant(sim.state()))
    planned = out.dispatch.pump_speed
    assert planned is not None
    assert planned < 0.985  # slowed from full speed by more than 1 %
    openings, speed = loop.step_within_limits(
        out.dispatch.openings, planned, SafetyLimits(max_pump_step=0.01)
    )
    assert speed == pytest.approx(0.99)
    assert openings == dict(out.dispatch.openings)  # the valves' limits did not change
    ctl = loop.controller
    assert (ctl.last_speed, ctl.pump_ratio) == (pytest.approx(0.99), pytest.approx(0.99))
    assert ctl.pump_jump == pytest.approx(0.01)


def test_a_minimum_flow_raised_while_the_step_ran_keeps_a_starving_valve_open() -> None:
    """§5.3.6-3: a step that closes B012 (1.0 → 0.69) at 75 % of its set flow — PI's first
    step on estate12 did, before 19b refused a step against a loop's own error; it is given
    here — while the operator raised the minimum flow to 80 %: its commands, limited again
    under the new limits, close that valve no further (before, the re-limit left the
    minimum-flow rule out and B012 went to 0.69)."""
    net = load_network("estate12")
    control = ControllerConfig(algorithm="traditional", level="intermediate")
    loop = ControlLoop(net, LoopConfig(control), cycle_s=CYCLE_S)
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    out = loop.step(Measurements.from_plant(sim.state()))
    planned = {**out.dispatch.openings, "B012": 0.69}
    assert loop.controller.flow_ratio("B012") < 0.8
    openings, _ = loop.step_within_limits(planned, None, SafetyLimits(min_flow_ratio=0.8))
    assert openings["B012"] == 1.0  # where it stood before the step
    assert openings["B001"] == out.dispatch.openings["B001"]  # a well-served inlet as planned
