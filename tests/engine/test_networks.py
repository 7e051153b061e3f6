"""Built-in example networks and the generator (issue 2 item 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custom_components.heatbalance.engine.hydraulics import solve_hydraulics
from custom_components.heatbalance.engine.loader import load_network, network_to_dict
from custom_components.heatbalance.engine.model import Device
from custom_components.heatbalance.engine.networks import builtin_names, builtin_path
from custom_components.heatbalance.engine.networks.build_builtins import BUILTINS, write
from custom_components.heatbalance.engine.networks.generator import generate_network


def test_builtins_are_listed() -> None:
    assert builtin_names() == ["district120", "estate12", "households1200", "loop8"]
    assert builtin_path("../etc/passwd") is None
    assert builtin_path("nope") is None


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_files_are_what_the_generator_makes(name, tmp_path) -> None:
    """The stored files are reproducible from build_builtins (nobody edited them by hand)."""
    write(name, tmp_path)
    fresh = load_network(tmp_path / f"{name}.yaml")
    assert network_to_dict(fresh) == network_to_dict(load_network(name))


@pytest.mark.parametrize("name", ["estate12", "district120", "households1200", "loop8"])
def test_builtins_start_unbalanced_near_overflow_far_starve(name) -> None:
    """All valves open (§7.2.5 before commissioning): some overflow > 1.15, some starve < 0.85."""
    net = load_network(name)
    assert all(i.device.opening == 1.0 for i in net.inlets.values())
    res = solve_hydraulics(net)
    assert res.converged
    top = [k for k, i in enumerate(res.inlet_ids) if net.inlets[i].parent is None]
    design = np.array([net.inlets[res.inlet_ids[k]].design_flow_m3h for k in top])
    ratio = res.inlet_flow_m3h[top] / design
    assert ratio.max() > 1.15
    assert ratio.min() < 0.85


def _opening_for(device: Device, kv: float) -> float:
    """Inverse of Device.kv on its equal-percentage or linear characteristic."""
    assert device.kvs is not None
    share = min(kv / device.kvs, 1.0)
    if device.characteristic == "linear":
        return share
    r = device.rangeability
    opening = 1.0 + math.log(max(share, 1e-9)) / math.log(r)
    return opening if opening >= 1.0 / r else share / r ** (1.0 / r - 1.0) / r


@pytest.mark.parametrize("name", ["estate12", "district120", "households1200", "loop8"])
def test_builtins_are_feasible_once_balanced(name) -> None:
    """Throttling every terminal valve toward its design flow leaves none short (pump sizing).

    A plain proportional balancing loop: Kv ← Kv / ratio^0.8, capped at the valve's Kvs. If the
    pump head were too small for the farthest inlet, its valve would hit fully open short of flow.
    """
    net = load_network(name)
    leaves = [i for i in net.inlets.values() if not net.children(i.id)]
    for _ in range(25):
        res = solve_hydraulics(net)
        flows = dict(zip(res.inlet_ids, res.inlet_flow_m3h, strict=True))
        for inlet in leaves:
            ratio = flows[inlet.id] / inlet.design_flow_m3h
            inlet.device.opening = _opening_for(inlet.device, inlet.device.kv() / ratio**0.8)
    res = solve_hydraulics(net)
    flows = dict(zip(res.inlet_ids, res.inlet_flow_m3h, strict=True))
    ratios = np.array([flows[i.id] / i.design_flow_m3h for i in leaves])
    assert ratios.min() > 0.98
    assert ratios.max() < 1.1
    assert res.pump_flow_m3h == pytest.approx(net.substation.pump.design_flow_m3h, rel=0.05)


def test_sizes() -> None:
    households = load_network("households1200")
    kinds = [i.type for i in households.inlets.values()]
    assert kinds.count("household") == 1200
    assert kinds.count("building") == 40
    assert all(i.device.type == "iot_valve" for i in households.inlets.values() if i.parent)
    assert len(load_network("district120").inlets) == 120
    loop = load_network("loop8")
    assert any(p.id == "PLOOP" for p in loop.pipes)


def test_generator_is_deterministic_by_seed() -> None:
    a = network_to_dict(generate_network(20, 3, seed=7))
    assert a == network_to_dict(generate_network(20, 3, seed=7))
    assert a != network_to_dict(generate_network(20, 3, seed=8))
    with pytest.raises(ValueError, match="at least one building"):
        generate_network(0)


def test_generator_looped_trunk_solves() -> None:
    """``loop=True`` ties the trunk end back to the substation: a meshed network that solves."""
    net = generate_network(10, loop=True, seed=3)
    loop = next(p for p in net.pipes if p.id == "PLOOP")
    assert (loop.from_node, loop.to_node) == ("T5", "S")
    res = solve_hydraulics(net)
    assert res.converged
    flows = dict(zip(res.pipe_ids, res.pipe_supply_flow_m3h, strict=True))
    assert flows["PLOOP"] < 0  # supply water runs S → T5 through the tie-back too
    total = sum(i.design_flow_m3h for i in net.inlets.values())
    assert net.substation.pump.design_flow_m3h == pytest.approx(total, abs=0.01)
