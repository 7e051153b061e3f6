"""Households under traditional PI (HA's default algorithm): a building serves its households.

A household loop whose valve stands fully open short of its aim cannot help itself; only
its building's valve can give it more (§8.2.4 judges households at the advanced level).
"""

from __future__ import annotations

import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.evaluation import band
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import all_open, run

ADVANCED = band("advanced", "flow")


@pytest.mark.parametrize(
    ("buildings", "households", "seed"), [(10, 8, 23), (6, 4, 13), (8, 12, 43), (6, 4, 3)]
)
def test_a_building_reopened_after_a_shutdown_serves_every_household(
    buildings: int, households: int, seed: int
) -> None:
    """A building shut at the start (bench_robust "shut building") is reopened by its loop;
    its households' loops all opened fully while it was shut. A household that stays fully
    open short of its aim makes its building open further, so after 16 cycles (1 % meters)
    every household is in the advanced flow band (§8.2.4). Before, the building rested at
    its own aim on the sum of its households and left the fully open ones at 0.88–0.98 of
    design (gen10x8 B006H06, gen6x4 B004H04, gen8x12 B005H01/H07/H10/H11)."""
    network = all_open(generate_network(buildings, households, seed=seed, name="shut"))
    tops = sorted(i for i, x in network.inlets.items() if x.parent is None)
    shut = tops[len(tops) // 2]
    sim = Simulator(network, outdoor_c=-5.0)
    sim.set_opening(shut, 0.0)
    ctl = make_controller(network, ControllerConfig(algorithm="traditional"))
    _, sim, _ = run(network, ctl, 16, sim=sim, seed=0)
    state = sim.state()
    ratios = {
        iid: state.inlets[iid].flow_m3h / state.inlets[iid].design_flow_m3h
        for iid, inlet in network.inlets.items()
        if inlet.parent == shut
    }
    low, high = 1.0 + ADVANCED.lower / 100.0, 1.0 + ADVANCED.upper / 100.0
    assert all(low <= r <= high for r in ratios.values()), {
        iid: round(r, 4) for iid, r in ratios.items()
    }
