"""Traditional PI never moves a valve against its own flow error (§5.3.6-1).

The gain schedule adds the loops' common move (their median error over their collective
gain) to each loop's own step. Where the errors are no common mode — after start-up the
near buildings far above their goals and the far ones short, or goals changed both ways by
new weights — that move outweighed the own step, the sensitivity came out negative and the
loop moved its valve the wrong way: estate12's far buildings B011 and B012, short by
12 % and 25 % with their valves fully open, were closed with the others (1.0 → 0.69) and fell
to 76 % of design. Such a step is refused: the loop is held and says why.
"""

from __future__ import annotations

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.control.pi import AGAINST_ERROR, AGAINST_Z
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import STEP_S, all_open, apply

FAR = ("B011", "B012")  # short while every other building is far above its goal


def test_no_loop_moves_its_valve_against_its_own_error_after_start_up() -> None:
    network = all_open(load_network("estate12"))
    ctl = make_controller(network, ControllerConfig(algorithm="traditional", level="intermediate"))
    sim = Simulator(network, outdoor_c=-5.0)
    before = sim.state()
    cmds = ctl.step(Measurements.from_plant(before))
    against = []
    for iid, opening in cmds.openings.items():
        err = ctl._pi_errors[iid]
        assert err is not None
        moved = opening - ctl._pi_from[iid]
        if err.error * moved < 0 and abs(err.error) > AGAINST_Z * (ctl._flow_std(iid, err) or 0.0):
            against.append((iid, round(err.error, 3), round(moved, 3)))
    assert against == []
    assert ctl.pi_schedule.common < 0  # the others close together …
    for iid in FAR:
        assert ctl._pi_errors[iid].error > 0.1  # … while these are short
        assert cmds.held[iid] == AGAINST_ERROR
    apply(sim, cmds)
    after = sim.step(STEP_S)
    for iid in FAR:  # the pressure the others free is theirs
        assert after.inlets[iid].flow_m3h > before.inlets[iid].flow_m3h
