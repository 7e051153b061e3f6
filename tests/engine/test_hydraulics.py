"""Hydraulic solver: conservation laws, closed-form cases, controlled valves, loops (§5.3.6-4).

Checks are independent of the solver's internals where it matters: pipe drops are recomputed
from Darcy–Weisbach here, duty points are solved by hand, mass balance is summed per network
node from the reported flows.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.hydraulics import (
    CLOSED_KV_FRACTION,
    KINEMATIC_VISCOSITY,
    STEEP_REL,
    HydraulicError,
    HydraulicModel,
    HydraulicResult,
    friction_factor,
    friction_with_slope,
    solve_hydraulics,
)
from custom_components.heatbalance.engine.hydraulics.friction import pipe_law
from custom_components.heatbalance.engine.hydraulics.topology import (
    MAX_LISTED_PROBLEMS,
    build_topology,
    pipe_tree,
)
from custom_components.heatbalance.engine.model import (
    GRAVITY,
    WATER_DENSITY,
    Device,
    Network,
    Node,
    Pipe,
)

from .hydraulic_nets import make_inlet, mixed_network, random_network
from .nets import chain, inlet

RHO_G = WATER_DENSITY * GRAVITY


# --- independent checks ------------------------------------------------------------------------
def _node_balance(net: Network, res: HydraulicResult) -> float:
    """Largest mass imbalance (m³/h) at any network node, supply and return sides."""
    worst = 0.0
    for nid in net.nodes:
        for side, flows in (("s", res.pipe_supply_flow_m3h), ("r", res.pipe_return_flow_m3h)):
            sign = 1 if side == "s" else -1
            total = 0.0
            for k, pipe in enumerate(net.pipes):
                if pipe.to_node == nid:
                    total += sign * flows[k]
                if pipe.from_node == nid:
                    total -= sign * flows[k]
            for k, iid in enumerate(res.inlet_ids):
                i = net.inlets[iid]
                if i.node == nid and not i.parent:
                    total -= sign * res.inlet_flow_m3h[k]
            if nid == net.substation.node:
                total += sign * res.pump_flow_m3h
            worst = max(worst, abs(total))
    return worst


def _building_balance(net: Network, res: HydraulicResult) -> float:
    """Largest difference between a building's flow and the sum of its households'."""
    flows = dict(zip(res.inlet_ids, res.inlet_flow_m3h, strict=True))
    worst = 0.0
    for iid in net.inlets:
        kids = net.children(iid)
        if kids:
            worst = max(worst, abs(flows[iid] - sum(flows[k.id] for k in kids)))
    return worst


def _darcy_kpa(pipe: Pipe, q_m3h: float, d_mm: float) -> float:
    """Pressure drop along one pipe at flow ``q_m3h`` (sign follows the flow)."""
    d = d_mm / 1000.0
    area = math.pi * d * d / 4.0
    v = q_m3h / 3600.0 / area
    re = max(abs(v) * d / KINEMATIC_VISCOSITY, 1e-9)
    lam = float(friction_factor(np.array([re]), np.array([pipe.roughness_mm / 1000.0 / d]))[0])
    return (lam * pipe.length_m / d + pipe.zeta) * WATER_DENSITY * v * abs(v) / 2.0 / 1000.0


def _pipe_law_error(net: Network, res: HydraulicResult) -> float:
    """Largest |reported pressure difference − Darcy drop| over supply and return pipes (kPa).

    Gauge pressures include elevation (lower up the hill), so ρ·g·Δz is added back first.
    """
    idx = {nid: k for k, nid in enumerate(res.node_ids)}
    z = np.array([net.nodes[n].elevation_m for n in res.node_ids])
    worst = 0.0
    for k, pipe in enumerate(net.pipes):
        a, b = idx[pipe.from_node], idx[pipe.to_node]
        lift = RHO_G * (z[a] - z[b]) / 1000.0
        supply = res.node_supply_kpa[a] - res.node_supply_kpa[b] + lift
        back = res.node_return_kpa[b] - res.node_return_kpa[a] - lift
        worst = max(
            worst,
            abs(supply - _darcy_kpa(pipe, res.pipe_supply_flow_m3h[k], pipe.inner_diameter_mm)),
            abs(back - _darcy_kpa(pipe, res.pipe_return_flow_m3h[k], pipe.return_diameter_mm)),
        )
    return worst


def _regulated_ok(net: Network, res: HydraulicResult) -> None:
    """Every self-operated valve holds its target or is fully open (Kv = Kvs)."""
    for k, iid in enumerate(res.inlet_ids):
        dev = net.inlets[iid].device
        q, kv = res.inlet_flow_m3h[k], res.valve_kv[k]
        if dev.type == "flow_valve":
            holds = abs(q - dev.setpoint) <= 1e-6 * max(dev.setpoint, 1e-3) + 1e-9
            assert holds or kv == pytest.approx(dev.kvs, rel=1e-6), iid
            assert q <= dev.setpoint * (1 + 1e-6) + 1e-9, iid
        if dev.type == "dp_valve" and not net.children(iid):
            circuit = res.dp_available_kpa[k] - res.valve_dp_kpa[k]
            holds = circuit == pytest.approx(dev.setpoint, rel=1e-5)
            assert holds or kv == pytest.approx(dev.kvs, rel=1e-6), iid
            assert circuit <= dev.setpoint * (1 + 1e-5), iid


def _grid(n: int = 3) -> Network:
    """An n×n mesh of streets with a building at every crossing (many loops)."""
    nodes = {f"G{r}{c}": Node(f"G{r}{c}") for r in range(n) for c in range(n)}
    pipes = []
    for r in range(n):
        for c in range(n):
            if c + 1 < n:
                pipes.append(Pipe(f"H{r}{c}", f"G{r}{c}", f"G{r}{c + 1}", 120.0, 80.0))
            if r + 1 < n:
                pipes.append(Pipe(f"V{r}{c}", f"G{r}{c}", f"G{r + 1}{c}", 90.0, 65.0))
    net = chain(1)
    net.nodes = {"S": Node("S")} | nodes
    net.pipes = [Pipe("P0", "S", "G00", 50.0, 150.0), *pipes]
    net.inlets = {f"B{nid}": inlet(f"B{nid}", nid, 150.0) for nid in nodes}
    total = sum(i.design_flow_m3h for i in net.inlets.values())
    net.substation.pump.design_flow_m3h = total
    return net


# --- conservation -------------------------------------------------------------------------------
def test_mass_is_conserved_at_every_node() -> None:
    net = chain(5)
    res = solve_hydraulics(net)
    assert res.converged
    assert _node_balance(net, res) < 1e-9
    assert res.pump_flow_m3h == pytest.approx(res.inlet_flow_m3h.sum(), rel=1e-12)


def test_every_pipe_obeys_darcy_weisbach_with_elevation() -> None:
    """Reported pressures and flows satisfy the pipe law, recomputed here, on every pipe."""
    net = chain(4, pipe_m=300.0, diameter_mm=65.0)
    net.nodes["N3"].elevation_m = 12.0
    net.pipes[1].zeta = 3.5
    net.pipes[2].roughness_mm = 0.5
    res = solve_hydraulics(net)
    assert _pipe_law_error(net, res) < 1e-6


def test_looped_mesh_closes_every_loop() -> None:
    """A 3×3 street mesh: pressures are single-valued, so every loop sums to zero."""
    net = _grid(3)
    res = solve_hydraulics(net)
    assert _node_balance(net, res) < 1e-9
    assert _pipe_law_error(net, res) < 1e-6
    # One explicit loop G00→G01→G11→G10→G00 on the supply side, from flows alone.
    k = {p.id: p for p in net.pipes}
    q = dict(zip((p.id for p in net.pipes), res.pipe_supply_flow_m3h, strict=True))
    loop = (
        _darcy_kpa(k["H00"], q["H00"], 80.0)
        + _darcy_kpa(k["V01"], q["V01"], 65.0)
        - _darcy_kpa(k["H10"], q["H10"], 80.0)
        - _darcy_kpa(k["V00"], q["V00"], 65.0)
    )
    assert abs(loop) < 1e-6
    assert np.any(res.pipe_supply_flow_m3h < 0) or np.all(res.pipe_supply_flow_m3h > 0)


@pytest.mark.parametrize("seed", range(6))
def test_pipe_tree_spans_the_network_and_its_chords_close_the_loops(seed: int) -> None:
    """One spanning tree for the solver and the panel (§5.3.5-1): every node is reached from
    the substation, each through one pipe to its parent; the other pipes close loops; the
    distance along the tree adds up pipe by pipe."""
    net = random_network(seed, n_nodes=9, chords=3)
    tree = pipe_tree(net)
    ids = list(net.nodes)
    assert sorted(tree.order) == list(range(len(ids)))
    assert ids[tree.order[0]] == "N0"
    tree_pipes = [tree.via[k] for k in tree.order[1:]]
    assert sorted(tree_pipes + tree.chords) == list(range(len(net.pipes)))
    dist = tree.distances_m(net)
    for k in tree.order[1:]:
        pipe = net.pipes[tree.via[k]]
        assert {ids[k], ids[tree.up[k]]} == {pipe.from_node, pipe.to_node}
        assert tree.sign[k] == (1.0 if pipe.to_node == ids[k] else -1.0)
        assert dist[k] == pytest.approx(dist[tree.up[k]] + pipe.length_m)
    solver = build_topology(net)  # the solver's arrays are this tree
    assert solver.tree_up.tolist() == tree.up
    assert solver.chords.tolist() == tree.chords


def test_looped_main_changes_the_split() -> None:
    """Adding a ring pipe to a chain feeds the far end from both sides."""
    net = chain(3)
    base = solve_hydraulics(net)
    net.pipes.append(Pipe("PL", "S", "N3", 300.0, 80.0))
    res = solve_hydraulics(net)
    assert _node_balance(net, res) < 1e-9
    assert res.pipe_supply_flow_m3h[-1] > 0
    assert res.inlet_flow_m3h[2] > base.inlet_flow_m3h[2]


# --- closed-form cases --------------------------------------------------------------------------
def _single_branch(**kw: float) -> Network:
    """Pump, heat exchanger and one inlet, with pipes of negligible loss."""
    return chain(1, pipe_m=0.01, diameter_mm=500.0, **kw)


def test_single_branch_matches_closed_form_duty_point() -> None:
    net = _single_branch()
    b = net.inlets["B1"]
    pump, sub = net.substation.pump, net.substation
    qd = b.design_flow_m3h
    # Δp in kPa as c·Q² (Q in m³/h): valve 100/Kv², internal, heat exchanger; pump in kPa too.
    c = 100 / b.device.kvs**2 + b.internal_dp_kpa / qd**2 + sub.hx_dp_kpa / pump.design_flow_m3h**2
    h0 = pump.shutoff_head_m * RHO_G / 1000
    k = pump.curve_k * RHO_G / 1000
    expected = math.sqrt(h0 / (c + k))
    res = solve_hydraulics(net)
    assert res.inlet_flow_m3h[0] == pytest.approx(expected, rel=1e-5)
    assert res.valve_dp_kpa[0] == pytest.approx(100 * (expected / b.device.kvs) ** 2, rel=1e-5)
    assert res.pump_head_m == pytest.approx(pump.head_m(expected), rel=1e-5)
    assert res.pump_power_w == pytest.approx(pump.power_w(expected, res.pump_head_m))
    assert res.dp_available_kpa[0] == pytest.approx(
        c * expected**2 - sub.hx_dp_kpa * (expected / pump.design_flow_m3h) ** 2, rel=1e-4
    )


def test_parallel_valves_split_by_kv() -> None:
    """Two valves at one node, no internal resistance to speak of: Q1/Q2 = Kv1/Kv2."""
    net = _single_branch(internal_dp_kpa=1e-9)
    net.inlets["B2"] = inlet(
        "B2", "N1", internal_dp_kpa=1e-9, device=Device("electric_valve", kvs=5.0)
    )
    res = solve_hydraulics(net)
    assert res.inlet_flow_m3h[0] / res.inlet_flow_m3h[1] == pytest.approx(2.0, rel=1e-6)


def _kv_equal_percentage(kvs: float, h: float, r: float) -> float:
    """Kv of an equal-percentage valve, written out here rather than taken from the model."""
    if h >= 1 / r:
        return kvs * r ** (h - 1)
    return kvs * r ** (1 / r - 1) * h * r


@pytest.mark.parametrize("opening", [0.0, 0.02, 0.2, 0.5, 0.8, 1.0])
def test_equal_percentage_valve_follows_its_characteristic(opening: float) -> None:
    """With a flat pump curve and nothing else in the way, Q = Kv(h)·√(H/100)."""
    net = _single_branch(internal_dp_kpa=1e-9)
    net.inlets["B1"].device = Device("electric_valve", kvs=10.0, rangeability=30.0)
    pump = net.substation.pump
    pump.shutoff_head_m = pump.design_head_m = 10.0
    net.substation.hx_dp_kpa = 1e-9
    res = solve_hydraulics(net, openings=np.array([opening]))
    kv = max(_kv_equal_percentage(10.0, opening, 30.0), CLOSED_KV_FRACTION * 10.0)
    assert res.valve_kv[0] == pytest.approx(_kv_equal_percentage(10.0, opening, 30.0), abs=1e-12)
    head_kpa = 10.0 * RHO_G / 1000
    # Converged means flows settled to 1e-9 × design flow (here ~1e-8 m³/h) in absolute terms.
    assert res.inlet_flow_m3h[0] == pytest.approx(
        kv * math.sqrt(head_kpa / 100), rel=1e-6, abs=1e-7
    )


def test_linear_valve_and_kv_of_every_opening_matches_the_model() -> None:
    """The vectorised characteristic equals Device.kv for both curves, with min/max limits."""
    net = chain(4)
    devices = [
        Device("electric_valve", kvs=8.0, characteristic="linear"),
        Device("iot_valve", kvs=8.0, rangeability=50.0),
        Device("static_valve", kvs=8.0, min_opening=0.2),
        Device("electric_valve", kvs=8.0, max_opening=0.6, characteristic="linear"),
    ]
    for k, dev in enumerate(devices, start=1):
        net.inlets[f"B{k}"].device = dev
    model = HydraulicModel(net)
    for h in (0.0, 0.01, 0.3, 0.9):
        res = model.solve(np.full(4, h))
        expected = [d.kv(min(max(h, d.min_opening), d.max_opening)) for d in devices]
        assert res.valve_kv == pytest.approx(expected, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 3))
def test_opening_a_valve_never_lowers_its_flow(h1: float, h2: float, k: int) -> None:
    """Kv grows with opening, so flow does too; the other inlets lose flow (or keep it)."""
    lo, hi = sorted((h1, h2))
    net = chain(4)
    model = HydraulicModel(net)
    base = np.full(4, 0.7)
    low, high = base.copy(), base.copy()
    low[k], high[k] = lo, hi
    a, b = model.solve(low), model.solve(high)
    assert b.inlet_flow_m3h[k] >= a.inlet_flow_m3h[k] - 1e-9
    others = np.arange(4) != k
    assert np.all(b.inlet_flow_m3h[others] <= a.inlet_flow_m3h[others] + 1e-9)


def test_pump_speed_follows_affinity_law_on_a_quadratic_system() -> None:
    """Valves and pump curve are quadratic; pipes nearly so: flow scales with speed."""
    net = chain(2)
    full = solve_hydraulics(net, pump_speed=1.0)
    half = solve_hydraulics(net, pump_speed=0.5)
    assert half.pump_flow_m3h / full.pump_flow_m3h == pytest.approx(0.5, rel=0.02)
    assert half.pump_power_w < full.pump_power_w / 6
    assert half.pump_speed == 0.5


def test_all_valves_open_overflow_near_and_starve_far() -> None:
    """The classic unbalance: the nearest building gets more than the farthest."""
    res = solve_hydraulics(chain(5, pipe_m=400.0, diameter_mm=80.0))
    assert np.all(np.diff(res.inlet_flow_m3h) < 0)
    assert np.all(np.diff(res.dp_available_kpa) < 0)


# --- controlled and special devices -------------------------------------------------------------
def test_flow_valve_holds_setpoint_and_saturates() -> None:
    """§7.2.5-2 self-operated flow valve: holds its flow while head allows, else runs open."""
    net = chain(3)
    net.inlets["B1"].device = Device("flow_valve", kvs=10.0, setpoint=6.0)
    res = solve_hydraulics(net)
    assert res.inlet_flow_m3h[0] == pytest.approx(6.0, rel=STEEP_REL * 10)
    assert res.valve_kv[0] < 10.0
    net.inlets["B1"].device.setpoint = 500.0
    saturated = solve_hydraulics(net)
    open_valve = solve_hydraulics(chain(3))
    assert saturated.inlet_flow_m3h[0] == pytest.approx(open_valve.inlet_flow_m3h[0], rel=1e-9)
    assert saturated.valve_kv[0] == pytest.approx(10.0)


def test_flow_valve_setpoint_override_and_zero_setpoint() -> None:
    net = chain(3)
    net.inlets["B2"].device = Device("flow_valve", kvs=10.0, setpoint=6.0)
    model = HydraulicModel(net)
    res = model.solve(setpoints=np.array([np.nan, 4.5, np.nan]))
    assert res.inlet_flow_m3h[1] == pytest.approx(4.5, rel=1e-6)
    shut = model.solve(setpoints=np.array([np.nan, 0.0, np.nan]))
    assert abs(shut.inlet_flow_m3h[1]) < 1e-6


def test_dp_valve_holds_circuit_pressure() -> None:
    """§7.2.5-3 self-operated ΔP valve: the circuit behind it sees the set ΔP."""
    net = chain(2)
    b = net.inlets["B1"]
    b.device = Device("dp_valve", kvs=40.0, setpoint=10.0)
    res = solve_hydraulics(net)
    q = res.inlet_flow_m3h[0]
    circuit = b.internal_dp_kpa * (q / b.design_flow_m3h) ** 2
    assert circuit == pytest.approx(10.0, rel=1e-6)
    assert res.dp_available_kpa[0] - res.valve_dp_kpa[0] == pytest.approx(10.0, rel=1e-6)


def test_dp_valve_over_households_holds_the_building_dp() -> None:
    """A ΔP valve at a building holds supply−return ΔP at its households, whatever they do."""
    net = chain(2)
    net.inlets["B1"].device = Device("dp_valve", kvs=30.0, setpoint=25.0)
    net.inlets["B1"].internal_dp_kpa = 5.0
    for k in range(5):
        dev = Device("iot_valve", kvs=1.0, opening=0.2 * (k + 1))
        net.inlets[f"H{k}"] = make_inlet(f"H{k}", "N1", 12.0, dev, parent="B1")
    model = HydraulicModel(net)
    idx = {i: k for k, i in enumerate(model.inlet_ids)}
    households = [idx[f"H{k}"] for k in range(5)]
    for openings in (None, np.array([np.nan, np.nan, 1.0, 1.0, 1.0, 0.0, 0.1])):
        res = model.solve(openings)
        assert res.dp_available_kpa[households] == pytest.approx(np.full(5, 25.0), rel=1e-5)
        assert _building_balance(net, res) < 1e-9
    # Starved: too little head for the setpoint, so the valve runs fully open.
    starved = model.solve(pump_speed=0.3)
    assert starved.valve_kv[idx["B1"]] == pytest.approx(30.0, rel=1e-6)
    assert np.all(starved.dp_available_kpa[households] < 25.0)


def test_households_draw_through_their_building() -> None:
    net = chain(2)
    net.inlets["B1"].device = Device("electric_valve", kvs=16.0)
    for k in range(4):
        hid = f"H{k}"
        net.inlets[hid] = inlet(
            hid, "N1", 10.0, kind="household", parent="B1", device=Device("iot_valve", kvs=1.0)
        )
    res = solve_hydraulics(net)
    idx = {i: k for k, i in enumerate(res.inlet_ids)}
    assert _building_balance(net, res) < 1e-12
    b1 = net.inlets["B1"]
    service = b1.internal_dp_kpa * (res.inlet_flow_m3h[idx["B1"]] / b1.design_flow_m3h) ** 2
    assert res.dp_available_kpa[idx["H0"]] == pytest.approx(
        res.dp_available_kpa[idx["B1"]] - res.valve_dp_kpa[idx["B1"]] - service, rel=1e-9
    )
    assert _node_balance(net, res) < 1e-9


def test_distributed_pump_adds_head_and_reports_it_as_negative_drop() -> None:
    net = chain(2)
    plain = solve_hydraulics(net)
    b2 = net.inlets["B2"]
    b2.device = Device("distributed_pump", pump_head_m=3.0, pump_flow_m3h=17.0)
    boosted = solve_hydraulics(net)
    assert boosted.inlet_flow_m3h[1] > plain.inlet_flow_m3h[1]
    q = boosted.inlet_flow_m3h[1]
    lift_kpa = (1.25 * 3.0 - 0.25 * 3.0 * (q / 17.0) ** 2) * RHO_G / 1000
    assert boosted.valve_dp_kpa[1] == pytest.approx(-lift_kpa, rel=1e-9)
    circuit = b2.internal_dp_kpa * (q / b2.design_flow_m3h) ** 2
    assert boosted.dp_available_kpa[1] - boosted.valve_dp_kpa[1] == pytest.approx(circuit, rel=1e-6)
    slower = solve_hydraulics(net, inlet_speeds=np.array([np.nan, 0.5]))
    assert slower.inlet_flow_m3h[1] < q


def test_distributed_pump_drives_flow_with_the_main_pump_stopped() -> None:
    net = chain(2)
    net.inlets["B2"].device = Device("distributed_pump", pump_head_m=5.0, pump_flow_m3h=17.0)
    res = solve_hydraulics(net, pump_speed=0.0)
    assert res.inlet_flow_m3h[1] > 1.0
    assert res.inlet_flow_m3h[0] < 0  # B1's branch carries it back: a short circuit upstream
    assert _node_balance(net, res) < 1e-9


def test_ejector_network_side_is_its_nozzle() -> None:
    """Network side of an ejector: Q = Kv_nozzle·√(ΔP/100); the mixing ratio is thermal only."""
    net = chain(2)
    net.inlets["B1"].device = Device("manual_ejector", kvs=4.0, mixing_ratio=1.5)
    net.inlets["B2"].device = Device("electric_ejector", kvs=4.0, mixing_ratio=1.0, opening=0.5)
    res = solve_hydraulics(net)
    kv = [4.0, Device("electric_ejector", kvs=4.0).kv(0.5)]
    expected = np.array(kv) * np.sqrt(res.dp_available_kpa / 100.0)
    assert res.inlet_flow_m3h == pytest.approx(expected, rel=1e-9)
    net.inlets["B1"].device.mixing_ratio = 3.0
    assert solve_hydraulics(net).inlet_flow_m3h == pytest.approx(res.inlet_flow_m3h)


def test_inlet_without_device_is_its_internal_circuit() -> None:
    net = chain(1)
    net.inlets["B1"].device = Device("none")
    res = solve_hydraulics(net)
    b = net.inlets["B1"]
    q = res.inlet_flow_m3h[0]
    assert res.dp_available_kpa[0] == pytest.approx(
        b.internal_dp_kpa * (q / b.design_flow_m3h) ** 2
    )
    assert res.valve_dp_kpa[0] == 0.0
    assert math.isnan(res.inlet("B1")["valve_kv"])


def test_blockage_factor_cuts_flow() -> None:
    net = chain(2)
    model = HydraulicModel(net)
    clean = model.solve()
    blocked = model.solve(kv_factor=np.array([0.3, 1.0]))
    assert blocked.inlet_flow_m3h[0] < 0.6 * clean.inlet_flow_m3h[0]


# --- zero flow, closed valves, elevation --------------------------------------------------------
def test_stopped_pump_gives_exactly_zero_flow() -> None:
    net = chain(3)
    net.nodes["N2"].elevation_m = 6.0
    res = solve_hydraulics(net, pump_speed=0.0)
    assert res.converged
    assert np.all(res.inlet_flow_m3h == 0.0)
    assert res.pump_flow_m3h == 0.0
    assert res.pump_power_w == 0.0
    static = net.substation.static_pressure_kpa
    n2 = res.node_ids.index("N2")
    assert res.node_supply_kpa[n2] == pytest.approx(static - 6.0 * RHO_G / 1000)


def test_all_valves_closed_is_a_dead_headed_pump_not_an_error() -> None:
    net = chain(3)
    res = solve_hydraulics(net, openings=np.zeros(3))
    assert res.converged
    # A closed valve keeps Kv = 1e-6·Kvs: micro-litres per hour, not a singular matrix.
    assert res.pump_flow_m3h < 1e-4
    assert res.pump_head_m == pytest.approx(net.substation.pump.shutoff_head_m, rel=1e-6)
    assert np.all(res.dp_available_kpa > 100)


def test_closing_a_valve_reduces_its_flow_and_raises_the_others() -> None:
    net = chain(3)
    model = HydraulicModel(net)
    base = model.solve()
    closed = model.solve(np.array([1.0, 0.0, 1.0]), warm_start=base)
    assert closed.inlet_flow_m3h[1] < 1e-4
    assert closed.inlet_flow_m3h[0] > base.inlet_flow_m3h[0]
    assert closed.inlet_flow_m3h[2] > base.inlet_flow_m3h[2]


def test_elevation_shifts_gauge_pressure_only() -> None:
    flat = solve_hydraulics(chain(2))
    net = chain(2)
    net.nodes["N2"] = Node("N2", elevation_m=10.0)
    hilly = solve_hydraulics(net)
    assert hilly.inlet_flow_m3h == pytest.approx(flat.inlet_flow_m3h, rel=1e-12)
    n2 = hilly.node_ids.index("N2")
    assert flat.node_supply_kpa[n2] - hilly.node_supply_kpa[n2] == pytest.approx(10 * RHO_G / 1000)
    s = hilly.node_ids.index("S")
    assert hilly.node_return_kpa[s] == pytest.approx(net.substation.static_pressure_kpa)
    assert hilly.inlet("B2")["flow_m3h"] == pytest.approx(flat.inlet_flow_m3h[1])


# --- repeated solves ----------------------------------------------------------------------------
def test_warm_start_reaches_the_cold_answer_in_fewer_steps() -> None:
    net = mixed_network()
    model = HydraulicModel(net)
    cold = model.solve()
    again = model.solve(warm_start=cold)
    assert again.iterations <= 2
    assert again.inlet_flow_m3h == pytest.approx(cold.inlet_flow_m3h, rel=1e-9)
    changed = model.openings()
    changed[[0, 7, 8]] = [0.1, 0.0, 1.0]
    warm = model.solve(changed, 0.8, warm_start=cold)
    fresh = model.solve(changed, 0.8)
    assert warm.inlet_flow_m3h == pytest.approx(fresh.inlet_flow_m3h, rel=1e-7, abs=1e-6)
    assert warm.iterations <= fresh.iterations
    from_array = model.solve(changed, 0.8, warm_start=cold.link_flow)
    assert from_array.inlet_flow_m3h == pytest.approx(fresh.inlet_flow_m3h, rel=1e-7, abs=1e-6)


def test_model_reads_device_settings_at_each_solve() -> None:
    net = chain(2)
    model = HydraulicModel(net)
    before = model.solve()
    net.inlets["B1"].device.opening = 0.3
    after = model.solve()
    assert after.inlet_flow_m3h[0] < before.inlet_flow_m3h[0]
    assert model.openings() == pytest.approx([0.3, 1.0])


# --- robustness ---------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4), st.floats(0.0, 1.0))
@example([0.0, 1.0, 1.0, 0.015625], 1e-5)  # random draw: −1.016e-6 m³/h at B3
@example([1.0, 0.015625, 1.0, 0.015625], 5.292743804012495e-05)  # worst of 20,000: −4.7e-6
def test_any_openings_converge_with_mass_balance(openings: list[float], speed: float) -> None:
    """Converged, mass balanced, and no backflow beyond what the convergence test resolves.

    The solver stops when the last Newton step moved no link by more than 1e-9 × the pump's
    design flow (or the quadratic phase predicts the next one below that). That bounds the
    step, not the error: at a pump speed of ~1e-5 (a head of ~1e-9 m) every flow is below
    the inlets' derivative floor (``q_floor``, which keeps Newton defined at zero flow),
    Newton is a chord method there and converges linearly, and the stop leaves an error of
    up to ~100 × the step — 6.7e-8 × the pump's design flow (−4.7e-6 m³/h) in 20,000 random
    draws. So the backflow bound is relative to the pump's design flow, 1e-6 of it (an
    absolute −1e-6 m³/h is tighter than the criterion resolves); a real backflow is orders
    of magnitude beyond it.
    """
    net = chain(4)
    res = solve_hydraulics(net, openings=np.array(openings), pump_speed=speed)
    assert res.converged
    assert np.all(res.inlet_flow_m3h >= -1e-6 * net.substation.pump.design_flow_m3h)
    assert _node_balance(net, res) < 1e-7


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.sampled_from([1.0, 0.6, 0.0]))
def test_random_networks_with_every_device_converge(seed: int, speed: float) -> None:
    """Trees with loop chords, all device types, households: converged and consistent."""
    net = random_network(seed)
    res = solve_hydraulics(net, pump_speed=speed)
    assert res.converged
    assert res.iterations <= 35
    assert _node_balance(net, res) < 1e-7
    assert _building_balance(net, res) < 1e-7
    assert _pipe_law_error(net, res) < 1e-4
    _regulated_ok(net, res)


def test_mixed_network_is_consistent() -> None:
    net = mixed_network()
    res = solve_hydraulics(net)
    assert _node_balance(net, res) < 1e-9
    assert _pipe_law_error(net, res) < 1e-6
    _regulated_ok(net, res)
    flows = dict(zip(res.inlet_ids, res.inlet_flow_m3h, strict=True))
    assert flows["E2"] == pytest.approx(8.0, rel=1e-6)


def test_non_convergence_is_reported() -> None:
    with pytest.raises(HydraulicError, match=r"no hydraulic solution after 1 iterations .* m³/h"):
        solve_hydraulics(chain(3), max_iter=1)
    res = solve_hydraulics(chain(3), max_iter=1, raise_on_failure=False)
    assert not res.converged
    assert res.iterations == 1


# --- bad input ----------------------------------------------------------------------------------
def _set(path: str, value: object):
    """A mutator setting ``inlets.B1.device.kvs``-style attribute paths on a chain(2)."""

    def mutate(net: Network) -> None:
        parts = path.split(".")
        obj: object = net
        for part in parts[:-1]:
            if isinstance(obj, dict):
                obj = obj[part]
            elif isinstance(obj, list):
                obj = obj[int(part)]
            else:
                obj = getattr(obj, part)
        setattr(obj, parts[-1], value)

    return mutate


def _add_household(parent: str, node: str = "N1"):
    def mutate(net: Network) -> None:
        net.inlets["H"] = make_inlet("H", node, 10.0, Device("iot_valve", kvs=1.0), parent=parent)

    return mutate


def _orphan_node(net: Network) -> None:
    net.nodes["X"] = Node("X")


def _parent_loop(net: Network) -> None:
    net.inlets["B1"].parent, net.inlets["B2"].parent = "B2", "B1"
    net.inlets["B2"].node = "N1"


def _nested_dp(net: Network) -> None:
    net.inlets["B1"].device = Device("dp_valve", kvs=10.0, setpoint=20.0)
    net.inlets["U"] = make_inlet("U", "N1", 40.0, Device("iot_valve", kvs=2.0), parent="B1")
    net.inlets["U"].type = "unit"  # a staircase unit between building and household
    net.inlets["H"] = make_inlet("H", "N1", 10.0, Device("iot_valve", kvs=1.0), parent="U")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            _set("inlets.B1.device", Device("static_valve")),
            r"inlet B1, field device\.kvs: required for a valve or ejector \(static_valve\)",
        ),
        (_set("inlets.B1.device", Device("electric_ejector", kvs=-1.0)), r"kvs: must be > 0"),
        (
            _set("inlets.B1.device", Device("distributed_pump", pump_head_m=3.0)),
            r"needs pump_head_m and pump_flow_m3h",
        ),
        (_set("inlets.B1.internal_dp_kpa", -1.0), r"internal_dp_kpa: must be ≥ 0"),
        (
            _set("inlets.B1.device.type", "turbine"),
            r"inlet B1, field device.type: unknown device type 'turbine'",
        ),
        (
            _set("inlets.B1.internal_dp_kpa", "lots"),
            r"inlet B1, field internal_dp_kpa: must be ≥ 0",
        ),
        (_set("inlets.B1.design_load_kw", 0.0), r"design_load_kw: it and design_dt_k must be > 0"),
        (_set("inlets.B1.node", "nowhere"), r"inlet B1, field node: unknown node nowhere"),
        (_set("inlets.B1.device", Device("iot_valve", kvs=1.0, rangeability=1.0)), r"rangeability"),
        (_add_household("ghost"), r"inlet H, field parent: unknown inlet ghost"),
        (_add_household("B1", node="N2"), r"inlet H, field node: must be its parent's node N1"),
        (_set("pipes.0.length_m", 0.0), r"pipe P1, field length_m: must be > 0 \(got 0.0\)"),
        (_orphan_node, r"node X: not connected to the substation"),
        (_parent_loop, r"field parent: parent links form a loop"),
        (_nested_dp, r"ΔP valve over a circuit that contains buildings"),
        (_set("substation.node", "Z"), r"substation SS, field node: unknown node Z"),
        (_set("substation.hx_dp_kpa", -5.0), r"field hx_dp_kpa: must be ≥ 0"),
        (
            _set("substation.pump.shutoff_head_m", 5.0),
            r"field pump.shutoff_head_m: must be ≥ design_head_m",
        ),
        (_set("substation.pump.design_flow_m3h", 0.0), r"design flow and head must be > 0"),
    ],
)
def test_bad_networks_get_a_clear_error(mutate, message) -> None:
    net = chain(2)
    mutate(net)
    with pytest.raises(HydraulicError) as err:
        solve_hydraulics(net)
    text = str(err.value)
    assert text.startswith("network 'chain' cannot be solved")
    assert re.search(message, text), text


def test_bad_pipe_and_device_problems_are_all_listed() -> None:
    net = chain(3)
    net.inlets["B1"].device = Device("none")
    net.inlets["B1"].internal_dp_kpa = 0.0
    net.inlets["B2"].device = Device("dp_valve", kvs=5.0, setpoint=10.0)
    net.inlets["B2"].internal_dp_kpa = 0.0
    net.pipes[0].inner_diameter_mm = 0.0
    net.pipes[1].roughness_mm = -1.0
    net.pipes.append(Pipe("PX", "N3", "N3", 10.0, 50.0))
    net.pipes.append(Pipe("PY", "N3", "nowhere", 10.0, 50.0))
    with pytest.raises(HydraulicError) as err:
        solve_hydraulics(net)
    text = str(err.value)
    for fragment in (
        "inlet B1: no resistance at all",
        "inlet B2: a ΔP valve holds its circuit's ΔP",
        "pipe P1, field inner_diameter_mm: must be > 0",
        "pipe P2, field roughness_mm: must be ≥ 0",
        "pipe PX: starts and ends at node N3",
        "pipe PY, field to: unknown node nowhere",
    ):
        assert fragment in text


def test_problem_lists_are_capped() -> None:
    net = chain(MAX_LISTED_PROBLEMS + 2)
    for i in net.inlets.values():
        i.device = Device("static_valve")
    with pytest.raises(HydraulicError, match=r"… and 2 more"):
        solve_hydraulics(net)


def test_flow_valve_without_setpoint_is_an_error() -> None:
    net = chain(2)
    net.inlets["B1"].device = Device("flow_valve", kvs=10.0)
    with pytest.raises(
        HydraulicError,
        match=r"inlet B1, field device.setpoint: a flow valve needs its flow \(m³/h\)",
    ):
        solve_hydraulics(net)
    net.inlets["B1"].device = Device("dp_valve", kvs=10.0, setpoint=-3.0)
    with pytest.raises(HydraulicError, match=r"\(kPa\), got -3.0"):
        solve_hydraulics(net)


def test_bad_arguments_get_a_clear_error() -> None:
    model = HydraulicModel(chain(2))
    with pytest.raises(HydraulicError, match=r"openings: expected 2 values"):
        model.solve(np.ones(3))
    with pytest.raises(HydraulicError, match=r"openings: values must be finite"):
        model.solve(np.array([np.inf, 1.0]))
    with pytest.raises(HydraulicError, match=r"kv_factor: values must be finite and ≥ 0"):
        model.solve(kv_factor=np.array([-1.0, 1.0]))
    with pytest.raises(HydraulicError, match=r"pump speed must be a number ≥ 0"):
        model.solve(pump_speed=-0.5)
    with pytest.raises(HydraulicError, match=r"pump speed"):
        model.solve(pump_speed=float("nan"))
    with pytest.raises(HydraulicError, match=r"warm start does not belong"):
        model.solve(warm_start=np.ones(3))
    with pytest.raises(KeyError):
        model.solve().inlet("nope")


def test_a_pump_speed_beyond_the_vfd_is_refused_as_by_the_cli() -> None:
    """Speed 3 is nine times the head (160 m on this pump): refused, not solved."""
    net = chain(2)
    with pytest.raises(HydraulicError, match=r"pump speed 3 is above the pump's VFD maximum 1"):
        solve_hydraulics(net, pump_speed=3.0)
    net.substation.pump.speed = 3.0
    with pytest.raises(HydraulicError, match=r"field pump\.speed: 3 is above the VFD maximum"):
        solve_hydraulics(net)


def test_nan_opening_means_the_devices_own() -> None:
    net = chain(2)
    net.inlets["B2"].device.opening = 0.4
    model = HydraulicModel(net)
    assert model.solve(np.array([1.0, np.nan])).inlet_flow_m3h == pytest.approx(
        model.solve().inlet_flow_m3h
    )


# --- friction -----------------------------------------------------------------------------------
def test_friction_factor_regimes() -> None:
    re = np.array([1000.0, 3000.0, 1e5])
    f = friction_factor(re, np.full(3, 1e-3))
    assert f[0] == pytest.approx(0.064)
    assert 0.019 < f[2] < 0.024  # Moody chart, ε/d = 0.001, Re = 1e5
    assert min(f[0], f[2]) < f[1] < 0.064


@pytest.mark.parametrize("rr", [0.0, 1e-4, 1e-3, 1e-2])
@pytest.mark.parametrize("re", [5e3, 3e4, 2e5, 1e6, 1e7])
def test_friction_factor_solves_colebrook(re: float, rr: float) -> None:
    lam = float(friction_factor(np.array([re]), np.array([rr]))[0])
    residual = 1 / math.sqrt(lam) + 2 * math.log10(rr / 3.7 + 2.51 / (re * math.sqrt(lam)))
    assert abs(residual) < 1e-6 / math.sqrt(lam)


def test_friction_is_continuous_and_its_slope_is_exact() -> None:
    """No jumps at Re 2,000 and 4,000; d ln λ/d ln Re matches a finite difference."""
    rr = np.full(2, 1e-3)
    for edge in (2000.0, 4000.0):
        lam = friction_factor(np.array([edge * (1 - 1e-9), edge * (1 + 1e-9)]), rr)
        assert lam[0] == pytest.approx(lam[1], rel=1e-6)
    re = np.array([500.0, 2500.0, 3900.0, 8000.0, 1e5, 1e7])
    rough = np.full(len(re), 2e-4)
    _, slope = friction_with_slope(re, rough)
    h = 1e-6
    up = friction_factor(re * (1 + h), rough)
    down = friction_factor(re * (1 - h), rough)
    numeric = (np.log(up) - np.log(down)) / (np.log1p(h) - np.log1p(-h))
    assert slope == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_pipe_law_derivative_matches_finite_difference() -> None:
    d, length, eps, zeta = 0.08, 200.0, 1e-4, 2.0
    area = math.pi * d * d / 4
    dyn = WATER_DENSITY / (2 * area * area)
    args = (
        np.full(1, length / d * dyn),
        np.full(1, zeta * dyn),
        np.full(1, KINEMATIC_VISCOSITY * area / d),
        np.full(1, eps / d),
    )
    for q in (-0.01, -1e-5, 0.0, 2e-5, 5e-5, 1e-3, 0.02):
        value, deriv = pipe_law(np.array([q]), *args)
        h = max(abs(q) * 1e-6, 1e-12)
        up, _ = pipe_law(np.array([q + h]), *args)
        down, _ = pipe_law(np.array([q - h]), *args)
        assert deriv[0] == pytest.approx((up[0] - down[0]) / (2 * h), rel=1e-3)
        assert deriv[0] > 0
        assert np.sign(value[0]) == np.sign(q)


# --- packaging ----------------------------------------------------------------------------------
def test_importing_the_solver_does_not_load_scipy_sparse() -> None:
    """Import stays cheap (the integration imports the engine at HA start-up)."""
    code = (
        "import sys, custom_components.heatbalance.engine.hydraulics as h; "
        "print('scipy.sparse' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
