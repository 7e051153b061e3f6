"""The control loop as Home Assistant drives it: findings and commands that are not sent.

Home Assistant does not send every command the loop computes (a balanced plant is left
alone, §8.2.5; manual mode waits for the operator, §5.3.6-6) and raises alarms from the
loop's findings only. These tests hold the loop to both.
"""

from __future__ import annotations

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.simulator import Simulator

CYCLE_S = 1800.0


def _loop(name: str = "estate12") -> tuple[ControlLoop, Simulator]:
    net = load_network(name)
    config = LoopConfig(ControllerConfig(algorithm="model", level="intermediate"))
    return ControlLoop(net, config, cycle_s=CYCLE_S), Simulator(net, outdoor_c=net.design.outdoor_c)


def test_faults_the_controller_finds_are_findings() -> None:
    """A blocked building (Kv × 0.3, §5.3.7-3) the controller identifies from its own moves
    is among the loop's findings — what HA raises alarms from — from the same cycle."""
    loop, sim = _loop()
    sim.inject_fault("B007", "blockage", factor=0.3)
    found = None
    for k in range(6):
        out = loop.step(Measurements.from_plant(sim.state()))
        kinds = {(f.inlet_id, f.kind) for f in out.findings}
        for iid, why in loop.controller.faults.items():
            assert (iid, "stuck" if why.startswith("stuck") else "blockage") in kinds
        if ("B007", "blockage") in kinds:
            found = k
            break
        for iid, opening in out.commands.openings.items():
            sim.set_opening(iid, opening)
        loop.commanded(out.commands.openings)
        sim.advance(CYCLE_S)
    assert found is not None


def test_commands_not_sent_are_forgotten() -> None:
    """Commands computed but never sent (HA's balanced or manual state): no healthy valve is
    diagnosed stuck for not following them, and a valve without feedback is still assumed
    where it really is — so the first command sent stays within the step limit of it."""
    loop, sim = _loop()
    for _ in range(4):
        meas = Measurements.from_plant(sim.state())
        out = loop.step(meas)
        assert out.commands.openings  # the plant is unbalanced: it wants to move
        loop.held()
        sim.advance(CYCLE_S)
    assert not loop.controller.faults
    meas = Measurements.from_plant(sim.state())
    for reading in meas.inlets.values():
        reading.opening = None  # valves without position feedback
    out = loop.step(meas)
    step = loop.config.controller.limits.max_step
    for iid, opening in out.commands.openings.items():
        real = float(sim.openings[sim.ids.index(iid)])
        assert abs(opening - real) <= step + 1e-9, iid
