"""Faults under traditional PI, Home Assistant's default algorithm (issue 9, §5.3.7).

A blocked valve is a plant fault to alarm whichever algorithm regulates the network: the
identification that names it (the valve passes far less than its characteristic) used to
run only inside the model-based step, so under PI a blocked building was never named.
"""

from __future__ import annotations

import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import all_open, run

KV_FACTOR = 0.3


@pytest.mark.parametrize("name", ["estate12", "loop8"])
def test_pi_names_a_blocked_building_within_two_steps(builtin, name: str) -> None:
    network = all_open(builtin(name))
    blocked = sorted(network.inlets)[len(network.inlets) // 2]
    sim = Simulator(network, outdoor_c=-5.0)
    sim.inject_fault(blocked, "blockage", factor=KV_FACTOR)
    ctl = make_controller(network, ControllerConfig(algorithm="traditional"))
    _, _, history = run(network, ctl, 4, sim=sim)
    assert any(blocked in c.faults for c in history[:2]), [c.faults for c in history]
    assert set(history[-1].faults) == {blocked}  # nobody else blamed


def test_pi_names_a_blocked_building_over_households() -> None:
    """A building feeding households: judged from its valve ΔP, as under the model."""
    network = all_open(generate_network(6, 4, seed=31, name="gen6x4-s31"))
    blocked = sorted(i for i, x in network.inlets.items() if x.parent is None)[2]
    sim = Simulator(network, outdoor_c=-5.0)
    sim.inject_fault(blocked, "blockage", factor=KV_FACTOR)
    ctl = make_controller(network, ControllerConfig(algorithm="traditional"))
    _, _, history = run(network, ctl, 3, sim=sim)
    assert any(blocked in c.faults for c in history[:2]), [c.faults for c in history]
