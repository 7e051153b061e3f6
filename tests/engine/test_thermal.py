"""Thermal model: pipe decay, mixing, emitters, ejectors, households, zero flow (§4.1.1).

Expected values are computed here from first principles (closed forms, energy balances,
the emitter law written out), never read back from the model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.hydraulics import solve_hydraulics
from custom_components.heatbalance.engine.model import (
    WATER_CP,
    WATER_DENSITY,
    Device,
    Network,
    Node,
    Pipe,
    Pump,
    Substation,
)
from custom_components.heatbalance.engine.thermal import ThermalModel, solve_thermal

from .nets import chain, inlet

CAP = WATER_DENSITY * WATER_CP / 3600.0  # W/K per m³/h


def _solve(net, room=18.0, supply=60.0, **kw):
    hyd = solve_hydraulics(net, **kw)
    rooms = np.full(len(hyd.inlet_ids), room)
    return hyd, solve_thermal(net, hyd, supply_c=supply, outdoor_c=-5.0, room_c=rooms)


def _log_mean(hot: float, cold: float) -> float:
    return (hot - cold) / math.log(hot / cold)


def _emitted(inlet, t_in: float, t_out: float, room: float) -> float:
    """The emitter law written out: Q_d·(ΔT_ln/ΔT_ln,d)^n."""
    em = inlet.emitter
    design = _log_mean(em.design_supply_c - em.design_room_c, em.design_return_c - em.design_room_c)
    return (
        inlet.design_load_kw
        * 1000
        * (_log_mean(t_in - room, t_out - room) / design) ** (em.exponent)
    )


def _diamond(short_m: float = 100.0, long_m: float = 400.0) -> Network:
    """S feeds C along two paths of different length (S→A→C, S→B→C), a building at A and C."""
    nodes = {k: Node(k) for k in ("S", "A", "B", "C")}
    pipes = [
        Pipe("SA", "S", "A", short_m, 80.0, heat_loss_w_mk=0.6),
        Pipe("AC", "A", "C", short_m, 80.0, heat_loss_w_mk=0.6),
        Pipe("SB", "S", "B", long_m, 80.0, heat_loss_w_mk=0.6),
        Pipe("BC", "B", "C", long_m, 80.0, heat_loss_w_mk=0.6),
    ]
    inlets = {"IA": inlet("IA", "A", 200.0), "IC": inlet("IC", "C", 400.0)}
    total = sum(i.design_flow_m3h for i in inlets.values())
    pump = Pump(design_flow_m3h=total, design_head_m=12.0, shutoff_head_m=15.0)
    return Network(
        name="diamond",
        substation=Substation(id="SS", node="S", pump=pump, supply_c=60.0),
        nodes=nodes,
        pipes=pipes,
        inlets=inlets,
    )


# --- energy and pipes -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["estate12", "district120", "households1200", "loop8"])
def test_substation_heat_is_delivered_heat_plus_pipe_losses(builtin, name) -> None:
    net = builtin(name)
    hyd, th = _solve(net)
    top = np.array([net.inlets[i].parent is None for i in hyd.inlet_ids])
    source = hyd.pump_flow_m3h * CAP * (60.0 - th.network_return_c)
    assert source == pytest.approx(th.heat_w[top].sum() + th.pipe_loss_w, rel=1e-9)
    assert th.pipe_loss_w == pytest.approx(th.supply_loss_w + th.return_loss_w)
    assert 0 < th.return_loss_w < th.supply_loss_w  # cooler water loses less
    assert np.all(th.supply_c < 60.0)
    assert np.all(th.supply_c > net.ground_c)


def test_supply_temperature_decays_along_the_main_as_closed_form() -> None:
    net = chain(3, pipe_m=800.0)
    for pipe in net.pipes:
        pipe.heat_loss_w_mk = 0.5
    hyd, th = _solve(net)
    g = net.ground_c
    expected = 60.0
    for k in range(3):
        q = hyd.pipe_supply_flow_m3h[k]
        expected = g + (expected - g) * math.exp(-0.5 * 800.0 / (q * CAP))
        assert th.supply_c[k] == pytest.approx(expected, rel=1e-12)
        assert th.node_supply_c[th.node_ids.index(f"N{k + 1}")] == pytest.approx(expected)


def test_return_side_mixes_and_cools_back_to_the_substation() -> None:
    net = chain(2, pipe_m=500.0)
    hyd, th = _solve(net)
    g = net.ground_c
    decay = [math.exp(-0.25 * 500.0 / (q * CAP)) for q in hyd.pipe_return_flow_m3h]
    at_n2 = th.return_c[1]  # only B2 returns into N2
    into_n1 = g + (at_n2 - g) * decay[1]
    q1, q2 = hyd.inlet_flow_m3h
    at_n1 = (q1 * th.return_c[0] + q2 * into_n1) / (q1 + q2)
    assert th.node_return_c[th.node_ids.index("N1")] == pytest.approx(at_n1, rel=1e-12)
    assert th.network_return_c == pytest.approx(g + (at_n1 - g) * decay[0], rel=1e-12)


def test_loop_mixes_the_two_paths_by_flow() -> None:
    net = _diamond()
    hyd, th = _solve(net)
    flow = dict(zip(hyd.pipe_ids, hyd.pipe_supply_flow_m3h, strict=True))
    assert flow["AC"] > 0
    assert flow["BC"] > 0

    def out(t_in: float, pipe: str) -> float:
        g, length = net.ground_c, net.pipes[hyd.pipe_ids.index(pipe)].length_m
        return g + (t_in - g) * math.exp(-0.6 * length / (flow[pipe] * CAP))

    t_a, t_b = out(60.0, "SA"), out(60.0, "SB")
    t_c = (flow["AC"] * out(t_a, "AC") + flow["BC"] * out(t_b, "BC")) / (flow["AC"] + flow["BC"])
    assert th.supply_c[hyd.inlet_ids.index("IC")] == pytest.approx(t_c, rel=1e-12)


def test_stagnant_pipe_and_dead_branch_give_no_nan() -> None:
    """A cross pipe between equal pressures carries nothing; a closed branch sits at ground."""
    net = _diamond(short_m=200.0, long_m=200.0)
    net.pipes.append(Pipe("AB", "A", "B", 50.0, 80.0))
    net.nodes["D"] = Node("D")
    net.pipes.append(Pipe("CD", "C", "D", 100.0, 50.0))
    net.inlets["IA"].design_load_kw = 400.0
    net.inlets["IB"] = inlet("IB", "B", 400.0)
    net.inlets["ID"] = inlet("ID", "D", 100.0)
    openings = np.array([1.0, 1.0, 1.0, 0.0])  # IA, IC, IB, ID: the dead end is shut
    hyd, th = _solve(net, openings=openings)
    assert abs(hyd.pipe_supply_flow_m3h[hyd.pipe_ids.index("AB")]) < 1e-6
    for arr in (th.supply_c, th.return_c, th.heat_w, th.node_supply_c, th.node_return_c):
        assert np.all(np.isfinite(arr))
    d = hyd.inlet_ids.index("ID")
    assert th.heat_w[d] < 1.0
    assert th.supply_c[d] == pytest.approx(net.ground_c, abs=0.5)  # stagnant water cooled
    assert th.supply_c[hyd.inlet_ids.index("IA")] == pytest.approx(
        th.supply_c[hyd.inlet_ids.index("IB")], abs=1e-9
    )


def test_no_heat_loss_keeps_the_supply_temperature() -> None:
    net = chain(3)
    for pipe in net.pipes:
        pipe.heat_loss_w_mk = 0.0
    _hyd, th = _solve(net, supply=70.0)
    assert np.allclose(th.supply_c, 70.0)
    assert th.pipe_loss_w == 0.0


# --- emitters -------------------------------------------------------------------------------
def test_emitter_law_and_water_agree_at_the_return_temperature() -> None:
    net = chain(2)
    hyd, th = _solve(net, room=20.0)
    for k, iid in enumerate(hyd.inlet_ids):
        water = hyd.inlet_flow_m3h[k] * CAP * (th.supply_c[k] - th.return_c[k])
        assert th.heat_w[k] == pytest.approx(water, rel=1e-12)
        emitted = _emitted(net.inlets[iid], th.supply_c[k], th.return_c[k], 20.0)
        assert water == pytest.approx(emitted, rel=1e-9)


def test_design_flow_at_design_temperatures_gives_design_load() -> None:
    net = chain(1, pipe_m=1.0, diameter_mm=300.0)
    net.pipes[0].heat_loss_w_mk = 0.0
    b = net.inlets["B1"]
    b.device = Device("flow_valve", kvs=40.0, setpoint=b.design_flow_m3h)
    _hyd, th = _solve(net)
    assert th.return_c[0] == pytest.approx(45.0, abs=1e-3)
    assert th.heat_w[0] == pytest.approx(b.design_load_kw * 1000, rel=1e-4)


def test_more_flow_more_heat_and_a_warmer_return() -> None:
    net = chain(1)
    _h, low = _solve(net, openings=np.array([0.4]))
    _h, high = _solve(net, openings=np.array([1.0]))
    assert high.return_c[0] > low.return_c[0]
    assert high.heat_w[0] > low.heat_w[0]


def test_sensitivity_is_minus_the_derivative_of_heat_by_room_temperature() -> None:
    net = chain(3)
    hyd = solve_hydraulics(net)
    model = ThermalModel(net, hyd.inlet_ids)
    rooms = np.array([16.0, 20.0, 23.0])
    base = model.solve(hyd, supply_c=60.0, room_c=rooms)
    h = 1e-4
    up = model.solve(hyd, supply_c=60.0, room_c=rooms + h)
    down = model.solve(hyd, supply_c=60.0, room_c=rooms - h)
    numeric = -(up.heat_w - down.heat_w) / (2 * h)
    assert base.emitter_sensitivity_w_k == pytest.approx(numeric, rel=1e-5)
    assert np.all(numeric > 0)


def test_linear_emitter_matches_the_closed_form() -> None:
    """n = 1: T_r = T_room + (T_s − T_room)·exp(−UA/(ṁ·c_p)) with UA = Q_d/ΔT_ln,d."""
    net = chain(1)
    b = net.inlets["B1"]
    b.emitter.exponent = 1.0
    hyd, th = _solve(net, room=19.0)
    ua = b.design_load_kw * 1000 / _log_mean(42.0, 27.0)
    cap = hyd.inlet_flow_m3h[0] * CAP
    expected = 19.0 + (th.supply_c[0] - 19.0) * math.exp(-ua / cap)
    assert th.return_c[0] == pytest.approx(expected, rel=1e-12)


def test_zero_flow_returns_at_room_temperature_with_no_heat() -> None:
    net = chain(2)
    hyd, th = _solve(net, room=21.0, openings=np.zeros(2))
    assert np.all(hyd.inlet_flow_m3h < 0.01)  # a closed valve only leaks
    assert np.allclose(th.return_c, 21.0, atol=1e-6)
    assert np.all(th.heat_w < 1.0)
    assert np.isfinite(th.network_return_c)
    model = ThermalModel(net)
    em = model.emitters(np.array([0.0, -1.0]), np.array([60.0, 60.0]), np.array([20.0, 20.0]))
    assert np.array_equal(em.return_c, [20.0, 20.0])
    assert np.array_equal(em.heat_w, [0.0, 0.0])
    assert np.array_equal(em.sensitivity_w_k, [0.0, 0.0])


def test_water_colder_than_the_room_takes_heat_from_it() -> None:
    net = chain(1)
    model = ThermalModel(net)
    em = model.emitters(np.array([5.0]), np.array([15.0]), np.array([20.0]))
    assert em.heat_w[0] < 0
    assert 15.0 < em.return_c[0] < 20.0
    mirrored = model.emitters(np.array([5.0]), np.array([25.0]), np.array([20.0]))
    assert em.heat_w[0] == pytest.approx(-mirrored.heat_w[0])


@settings(max_examples=200, deadline=None)
@given(
    flow=st.floats(1e-6, 500.0),
    supply=st.floats(21.0, 130.0),
    room=st.floats(-30.0, 20.0),
    mixing=st.floats(0.0, 3.0),
    exponent=st.floats(1.0, 2.0),
)
def test_emitter_solution_is_physical_for_any_operating_point(
    flow, supply, room, mixing, exponent
) -> None:
    net = chain(1)
    b = net.inlets["B1"]
    b.emitter.exponent = exponent
    b.device = Device("manual_ejector", kvs=10.0, mixing_ratio=mixing)
    em = ThermalModel(net).emitters(np.array([flow]), np.array([supply]), np.array([room]))
    t_r, t_b, q = em.return_c[0], em.building_supply_c[0], em.heat_w[0]
    eps = 1e-9
    assert room - eps <= t_r <= t_b + eps
    assert t_b <= supply + eps
    assert t_b == pytest.approx((supply + mixing * t_r) / (1 + mixing), abs=1e-9)
    assert 0.0 <= q <= flow * CAP * (supply - room) * (1 + 1e-12)
    if t_r - room > 1e-6 and t_b - t_r > 1e-6:  # away from the limits the law holds
        assert q == pytest.approx(_emitted(b, t_b, t_r, room), rel=1e-6)


# --- ejectors and households ----------------------------------------------------------------
def test_ejector_mixes_return_water_into_the_building_supply() -> None:
    net = chain(1)
    net.inlets["B1"].device = Device("manual_ejector", kvs=10.0, mixing_ratio=1.5)
    hyd, th = _solve(net)
    plain = ThermalModel(chain(1)).solve(hyd, supply_c=60.0)  # same network water, no ejector
    ts, tr, tb = th.supply_c[0], th.return_c[0], th.building_supply_c[0]
    assert tb == pytest.approx((ts + 1.5 * tr) / 2.5, rel=1e-12)
    assert th.building_flow_m3h[0] == pytest.approx(2.5 * hyd.inlet_flow_m3h[0])
    building_side = th.building_flow_m3h[0] * CAP * (tb - tr)
    assert building_side == pytest.approx(th.heat_w[0], rel=1e-9)
    assert th.heat_w[0] == pytest.approx(_emitted(net.inlets["B1"], tb, tr, 18.0), rel=1e-9)
    assert th.heat_w[0] < plain.heat_w[0]  # the same network water mixed down heats less


def _with_households(n: int = 3) -> Network:
    net = chain(1)
    for k in range(n):
        net.inlets[f"H{k}"] = inlet(
            f"H{k}", "N1", 20.0, kind="household", parent="B1", device=Device("iot_valve", kvs=1.5)
        )
    return net


def test_households_are_fed_by_and_return_through_their_building() -> None:
    net = _with_households()
    rooms = np.array([18.0, 17.0, 20.0, 22.0])  # B1 (not used), H0, H1, H2
    hyd = solve_hydraulics(net)
    th = solve_thermal(net, hyd, supply_c=60.0, outdoor_c=-5.0, room_c=rooms)
    idx = {i: k for k, i in enumerate(hyd.inlet_ids)}
    kids = [idx[f"H{k}"] for k in range(3)]
    b = idx["B1"]
    assert np.allclose(th.supply_c[kids], th.supply_c[b])
    assert th.heat_w[b] == pytest.approx(th.heat_w[kids].sum())
    q = hyd.inlet_flow_m3h[kids]
    assert th.return_c[b] == pytest.approx(np.dot(q, th.return_c[kids]) / q.sum())
    assert th.heat_w[idx["H0"]] > th.heat_w[idx["H2"]]  # the colder room draws more
    assert th.emitter_sensitivity_w_k[b] == 0.0


def test_a_building_whose_households_are_shut_returns_at_their_room_temperature() -> None:
    net = _with_households(2)
    hyd = solve_hydraulics(net, openings=np.array([1.0, 0.0, 0.0]))
    rooms = np.array([np.nan, 19.0, 21.0])
    th = solve_thermal(net, hyd, supply_c=60.0, outdoor_c=-5.0, room_c=rooms)
    assert np.all(np.isfinite(th.return_c))
    assert th.return_c[0] == pytest.approx(20.0, abs=0.01)


# --- bookkeeping and errors -----------------------------------------------------------------
def test_model_reuses_its_factorisation_only_for_the_same_flows() -> None:
    net = chain(3)
    model = ThermalModel(net)
    first = solve_hydraulics(net)
    second = solve_hydraulics(net, openings=np.array([0.3, 1.0, 1.0]))
    assert model.transport(first) is model.transport(first)
    for hyd in (first, second, first):
        got = model.solve(hyd, supply_c=60.0)
        fresh = ThermalModel(net).solve(hyd, supply_c=60.0)
        assert np.allclose(got.return_c, fresh.return_c, rtol=0, atol=1e-9)
        assert got.network_return_c == pytest.approx(fresh.network_return_c, abs=1e-9)


def test_room_nan_means_the_setpoint() -> None:
    net = chain(2)
    net.inlets["B2"].room_setpoint_c = 22.0
    hyd = solve_hydraulics(net)
    by_nan = solve_thermal(net, hyd, supply_c=60.0, outdoor_c=0.0, room_c=np.full(2, np.nan))
    given_ = solve_thermal(net, hyd, supply_c=60.0, outdoor_c=0.0, room_c=np.array([18.0, 22.0]))
    assert np.array_equal(by_nan.heat_w, given_.heat_w)


def test_what_the_model_cannot_represent_is_refused_by_name() -> None:
    net = _with_households(1)
    net.inlets["B1"].device = Device("manual_ejector", kvs=10.0, mixing_ratio=1.0)
    with pytest.raises(ValueError, match="inlet B1: an ejector at a building that feeds"):
        ThermalModel(net)
    net = chain(1)
    net.inlets["B1"].emitter.design_return_c = 17.0
    with pytest.raises(ValueError, match="inlet B1: emitter design temperatures"):
        ThermalModel(net)
    net = chain(1)
    net.inlets["B1"].emitter.exponent = 0.8
    with pytest.raises(ValueError, match="inlet B1: emitter exponent"):
        ThermalModel(net)
    with pytest.raises(ValueError, match="different inlets"):
        ThermalModel(chain(1)).transport(solve_hydraulics(chain(2)))


def test_equal_design_temperatures_use_the_plain_excess() -> None:
    net = chain(1)
    em = net.inlets["B1"].emitter
    em.design_return_c = em.design_supply_c
    model = ThermalModel(net)
    assert model.dt_design[0] == pytest.approx(em.design_supply_c - em.design_room_c)
