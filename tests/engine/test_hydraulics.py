"""Hydraulic solver: conservation laws, closed-form cases, controlled valves, loops (§5.3.6-4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.hydraulics import (
    HydraulicError,
    HydraulicModel,
    friction_factor,
    solve_hydraulics,
)
from custom_components.heatbalance.engine.model import (
    GRAVITY,
    WATER_DENSITY,
    Device,
    Node,
    Pipe,
)

from .nets import chain, inlet

RHO_G = WATER_DENSITY * GRAVITY


def _node_balance(net, res) -> float:
    """Largest mass imbalance (m³/h) at any network node, supply and return sides."""
    worst = 0.0
    for nid in net.nodes:
        for side, flows in (("s", res.pipe_supply_flow_m3h), ("r", res.pipe_return_flow_m3h)):
            total = 0.0
            for k, pipe in enumerate(net.pipes):
                sign = 1 if side == "s" else -1
                if pipe.to_node == nid:
                    total += sign * flows[k]
                if pipe.from_node == nid:
                    total -= sign * flows[k]
            for k, iid in enumerate(res.inlet_ids):
                i = net.inlets[iid]
                if i.node == nid and not i.parent:
                    total += (-1 if side == "s" else 1) * res.inlet_flow_m3h[k]
            if nid == net.substation.node:
                total += (1 if side == "s" else -1) * res.pump_flow_m3h
            worst = max(worst, abs(total))
    return worst


def test_mass_is_conserved_at_every_node() -> None:
    net = chain(5)
    res = solve_hydraulics(net)
    assert res.converged
    assert _node_balance(net, res) < 1e-6
    assert res.pump_flow_m3h == pytest.approx(res.inlet_flow_m3h.sum(), rel=1e-9)


def test_all_valves_open_overflow_near_and_starve_far() -> None:
    """The classic unbalance: the nearest building gets more than the farthest."""
    res = solve_hydraulics(chain(5, pipe_m=400.0, diameter_mm=80.0))
    flows = res.inlet_flow_m3h
    assert np.all(np.diff(flows) < 0)
    assert np.all(np.diff(res.dp_available_kpa) < 0)


def test_single_branch_matches_closed_form_duty_point() -> None:
    """Pump, heat exchanger and one valve, with pipes of negligible loss: solve by hand."""
    net = chain(1, pipe_m=0.01, diameter_mm=500.0)
    b = net.inlets["B1"]
    pump, sub = net.substation.pump, net.substation
    qd = b.design_flow_m3h
    # Δp in kPa as c·Q² (Q in m³/h): valve 100/Kv², internal, heat exchanger; pump in kPa too.
    c = 100 / b.device.kvs**2 + b.internal_dp_kpa / qd**2 + sub.hx_dp_kpa / pump.design_flow_m3h**2
    h0 = pump.shutoff_head_m * RHO_G / 1000
    k = pump.curve_k * RHO_G / 1000
    expected = math.sqrt(h0 / (c + k))
    res = solve_hydraulics(net)
    assert res.inlet_flow_m3h[0] == pytest.approx(expected, rel=1e-4)
    assert res.valve_dp_kpa[0] == pytest.approx(100 * (expected / b.device.kvs) ** 2, rel=1e-4)
    assert res.pump_head_m == pytest.approx(pump.head_m(expected), rel=1e-4)


def test_parallel_valves_split_by_kv() -> None:
    """Two valves at one node, no internal resistance worth naming: Q1/Q2 = Kv1/Kv2."""
    net = chain(1, pipe_m=0.01, diameter_mm=500.0, internal_dp_kpa=1e-6)
    net.inlets["B2"] = inlet(
        "B2", "N1", internal_dp_kpa=1e-6, device=Device("electric_valve", kvs=5.0)
    )
    res = solve_hydraulics(net)
    assert res.inlet_flow_m3h[0] / res.inlet_flow_m3h[1] == pytest.approx(2.0, rel=1e-3)


def test_closing_a_valve_reduces_its_flow_and_raises_the_others() -> None:
    net = chain(3)
    model = HydraulicModel(net)
    base = model.solve()
    closed = model.solve(np.array([1.0, 0.0, 1.0]), warm_start=base)
    assert closed.inlet_flow_m3h[1] < 1e-3
    assert closed.inlet_flow_m3h[0] > base.inlet_flow_m3h[0]
    assert closed.inlet_flow_m3h[2] > base.inlet_flow_m3h[2]


def test_pump_speed_follows_affinity_law_on_a_fixed_system() -> None:
    """A pure quadratic system scales flow linearly with pump speed."""
    net = chain(2)
    full = solve_hydraulics(net, pump_speed=1.0)
    half = solve_hydraulics(net, pump_speed=0.5)
    assert half.pump_flow_m3h / full.pump_flow_m3h == pytest.approx(0.5, rel=0.02)
    assert half.pump_power_w < full.pump_power_w / 6


def test_blockage_factor_cuts_flow() -> None:
    net = chain(2)
    model = HydraulicModel(net)
    clean = model.solve()
    blocked = model.solve(kv_factor=np.array([0.3, 1.0]))
    assert blocked.inlet_flow_m3h[0] < 0.6 * clean.inlet_flow_m3h[0]


def test_flow_valve_holds_setpoint_and_saturates() -> None:
    """§7.2.5-2 self-operated flow valve: holds its flow while head allows, else runs open."""
    net = chain(3)
    net.inlets["B1"].device = Device("flow_valve", kvs=10.0, setpoint=6.0)
    res = solve_hydraulics(net)
    assert res.inlet_flow_m3h[0] == pytest.approx(6.0, rel=1e-3)
    net.inlets["B1"].device.setpoint = 500.0
    saturated = solve_hydraulics(net)
    open_valve = solve_hydraulics(chain(3))
    assert saturated.inlet_flow_m3h[0] == pytest.approx(open_valve.inlet_flow_m3h[0], rel=1e-3)


def test_dp_valve_holds_circuit_pressure() -> None:
    """§7.2.5-3 self-operated ΔP valve: the circuit behind it sees the set ΔP."""
    net = chain(2)
    b = net.inlets["B1"]
    b.device = Device("dp_valve", kvs=40.0, setpoint=10.0)
    res = solve_hydraulics(net)
    q = res.inlet_flow_m3h[0]
    circuit = b.internal_dp_kpa * (q / b.design_flow_m3h) ** 2
    assert circuit == pytest.approx(10.0, rel=1e-3)
    assert res.dp_available_kpa[0] - res.valve_dp_kpa[0] == pytest.approx(10.0, rel=1e-3)


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
    households = sum(res.inlet_flow_m3h[idx[f"H{k}"]] for k in range(4))
    assert res.inlet_flow_m3h[idx["B1"]] == pytest.approx(households, rel=1e-6)
    # each household is offered the building's pressure after the service valve and pipes
    b1 = net.inlets["B1"]
    service = b1.internal_dp_kpa * (res.inlet_flow_m3h[idx["B1"]] / b1.design_flow_m3h) ** 2
    assert res.dp_available_kpa[idx["H0"]] == pytest.approx(
        res.dp_available_kpa[idx["B1"]] - res.valve_dp_kpa[idx["B1"]] - service, rel=1e-6
    )
    assert _node_balance(net, res) < 1e-6


def test_looped_main_sums_pressure_to_zero_around_the_loop() -> None:
    net = chain(3)
    net.pipes.append(Pipe("PL", "S", "N3", 300.0, 80.0))
    res = solve_hydraulics(net)
    assert res.converged
    assert _node_balance(net, res) < 1e-6
    # supply-side pressure drops along S→N3 by both paths are the same (loop closes)
    ids = res.node_ids
    s, n3 = ids.index("S"), ids.index("N3")
    direct = res.node_supply_kpa[s] - res.node_supply_kpa[n3]
    assert direct > 0
    assert res.pipe_supply_flow_m3h[-1] > 0


def test_distributed_pump_adds_head() -> None:
    net = chain(2)
    plain = solve_hydraulics(net)
    net.inlets["B2"].device = Device("distributed_pump", pump_head_m=3.0, pump_flow_m3h=17.0)
    boosted = solve_hydraulics(net)
    assert boosted.inlet_flow_m3h[1] > plain.inlet_flow_m3h[1]
    assert boosted.valve_dp_kpa[1] == 0.0


def test_all_closed_gives_almost_no_flow_without_failing() -> None:
    net = chain(3)
    res = solve_hydraulics(net, openings=np.zeros(3))
    assert res.converged
    assert res.pump_flow_m3h < 0.01
    assert res.pump_head_m == pytest.approx(net.substation.pump.shutoff_head_m, rel=1e-3)


def test_non_convergence_is_reported() -> None:
    with pytest.raises(HydraulicError, match="no hydraulic solution"):
        solve_hydraulics(chain(3), max_iter=1)


def test_elevation_shifts_gauge_pressure_only() -> None:
    flat = solve_hydraulics(chain(2))
    net = chain(2)
    net.nodes["N2"] = Node("N2", elevation_m=10.0)
    hilly = solve_hydraulics(net)
    assert hilly.inlet_flow_m3h == pytest.approx(flat.inlet_flow_m3h)
    n2 = hilly.node_ids.index("N2")
    assert flat.node_supply_kpa[n2] - hilly.node_supply_kpa[n2] == pytest.approx(
        10 * RHO_G / 1000, rel=1e-6
    )
    assert hilly.inlet("B2")["flow_m3h"] == pytest.approx(flat.inlet_flow_m3h[1])


def test_friction_factor_regimes() -> None:
    re = np.array([1000.0, 3000.0, 1e5])
    f = friction_factor(re, np.full(3, 1e-3))
    assert f[0] == pytest.approx(0.064)
    assert 0.019 < f[2] < 0.024  # Moody chart, ε/d = 0.001, Re = 1e5
    assert min(f[0], f[2]) < f[1] < 0.064


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4), st.floats(0.3, 1.0))
def test_any_openings_converge_with_mass_balance(openings, speed) -> None:
    net = chain(4)
    res = solve_hydraulics(net, openings=np.array(openings), pump_speed=speed)
    assert res.converged
    assert np.all(res.inlet_flow_m3h >= -1e-9)
    assert _node_balance(net, res) < 1e-6
