"""Doing what the control loop's :class:`Dispatch` says, as HA's coordinator does, for the
engine tests that run the loop against a simulated plant."""

from __future__ import annotations

from custom_components.heatbalance.engine.loop import ControlLoop, Dispatch
from custom_components.heatbalance.engine.simulator import Simulator


def send(loop: ControlLoop, sim: Simulator, dispatch: Dispatch) -> None:
    """Send the cycle's openings and pump speed unless the loop held them (manual mode or
    the §8.2.5 balanced hold), and tell the loop what went out."""
    if dispatch.held is not None:
        return
    for iid, opening in dispatch.openings.items():
        sim.set_opening(iid, opening)
    if dispatch.pump_speed is not None:
        sim.set_pump_speed(dispatch.pump_speed)
    loop.commanded(dict(dispatch.openings))
