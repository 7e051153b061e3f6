"""A restart does not hide a valve moved by hand (issue 10, restart honesty; §5.3.8).

The loop judges a move by hand as a jump of the valve's feedback from last cycle's without a
command (``alarms.inlet_conditions``: ``opening_jump``). Last cycle's feedback was not
stored: a valve moved by hand while Home Assistant was down was not flagged at the first
cycle after its restart. It is stored now, with the openings sent since, so a valve the
last cycle before the restart moved is still judged as sent, not as moved by hand.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from custom_components.heatbalance.engine.alarms import Condition
from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.simulator import Simulator
from devtools.network_shapes import far_building

CYCLE_S = 1800.0
RESTART_AT = 4  # the loop is built again from its stored state before this cycle


def _readings(sim: Simulator, rng: np.random.Generator, k: int) -> Measurements:
    """Cycle ``k``'s readings, 1 % flow noise."""
    meas = Measurements.from_plant(sim.state())
    meas.time_s = k * CYCLE_S
    for r in meas.inlets.values():
        if r.flow_m3h is not None:
            r.flow_m3h = float(r.flow_m3h * (1.0 + rng.normal(0.0, 0.01)))
    return meas


def _jumps(conditions: list[Condition]) -> set[str]:
    return {c.location for c in conditions if c.reason == "opening_jump"}


def _run(
    restart: bool, by_hand: dict[str, float], restart_at: int = RESTART_AT
) -> list[tuple[set[str], dict[str, float], Any]]:
    """gen10-far from all open, AI controller, automatic mode, every command sent. While
    the plant runs unwatched before cycle ``RESTART_AT`` (Home Assistant down, if
    ``restart``) the valves in ``by_hand`` are set there by hand. Per cycle from then: the
    inlets flagged as moved by hand, the openings sent and the diagnoser's state."""
    net = far_building()
    config = LoopConfig(ControllerConfig(algorithm="model", level="intermediate"))
    loop = ControlLoop(net, config, cycle_s=CYCLE_S)
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    rng = np.random.default_rng(4)
    sent: dict[str, float] = {}
    out = []
    for k in range(1, restart_at + 3):
        if k == restart_at:
            for iid, opening in by_hand.items():
                sim.set_opening(iid, opening)
            sim.advance(CYCLE_S)
            if restart:  # HA's own record of what it sent is gone with it
                stored = json.loads(json.dumps(loop.as_dict()))
                loop, sent = ControlLoop(net, config, cycle_s=CYCLE_S, state=stored), {}
        result = loop.step(_readings(sim, rng, k), dispatched=sent)
        sent = dict(result.dispatch.openings)
        for iid, opening in sent.items():
            sim.set_opening(iid, opening)
        loop.commanded(sent)
        if k >= restart_at:
            out.append((_jumps(result.conditions), sent, loop.diagnoser.as_dict()))
        sim.advance(CYCLE_S)
    return out


HAND_MOVED = "B010"  # at 88 % open, not moved by the cycle before the restart
BY_HAND = 0.05  # … shut to 5 % by hand: 83 % of travel, beyond the 50 % step limit


@pytest.mark.parametrize("restart", [False, True], ids=["uninterrupted", "restarted"])
def test_a_valve_moved_by_hand_while_down_is_flagged_at_once(restart: bool) -> None:
    """B010 shut to 5 % by hand while Home Assistant is down: the first cycle after the
    restart flags it as an uninterrupted loop does (before: not flagged, nothing to compare
    its feedback with). No other valve is flagged, the ones the last cycle moved
    included."""
    whole = _run(False, {HAND_MOVED: BY_HAND})
    again = _run(restart, {HAND_MOVED: BY_HAND})
    assert whole[0][0] == {HAND_MOVED}
    assert again[0][0] == whole[0][0]
    assert again[1][0] == whole[1][0] == set()


def test_the_last_commands_before_a_restart_are_judged_as_sent() -> None:
    """Restarted right after cycle 2 sent B003, B004 and B008 (Home Assistant's own record of
    what it sent is lost with it): the first cycle after the restart judges those valves
    against their commands as the uninterrupted loop does — the diagnoser's state is the
    same — and flags no move by hand. Before, the loop had forgotten what was sent: the
    diagnoser never compared the three commands with their valves' feedback."""
    whole = _run(False, {}, restart_at=3)
    again = _run(True, {}, restart_at=3)
    assert whole[0][0] == again[0][0] == set()
    assert again[0][2] == whole[0][2]
    assert again[0][1] == whole[0][1]


@pytest.mark.parametrize(
    "damaged",
    [None, "x", 3, [], {"B003": "0.5"}, {"B003": 1.5}, {"B003": float("nan")}, {"B003": True}],
)
def test_damaged_stored_openings_restore_as_none(damaged: object) -> None:
    """A damaged stored part (feedback or sent) restores as none, a fresh loop's; never raises."""
    net = far_building()
    config = LoopConfig(ControllerConfig(algorithm="model", level="intermediate"))
    loop = ControlLoop(net, config, cycle_s=CYCLE_S, state={"openings": damaged, "sent": damaged})
    assert loop.as_dict()["openings"] == {} == loop.as_dict()["sent"]
    kept = ControlLoop(net, config, cycle_s=CYCLE_S, state={"openings": {"B003": 0.4, "gone": 0.2}})
    assert kept.as_dict()["openings"] == {"B003": 0.4}
