"""Thermal model: energy balance, pipe decay, emitters, ejectors, zero flow (§4.1.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custom_components.heatbalance.engine.hydraulics import solve_hydraulics
from custom_components.heatbalance.engine.model import WATER_CP, WATER_DENSITY, Device
from custom_components.heatbalance.engine.thermal import solve_thermal

from .nets import chain, inlet

CAP = WATER_DENSITY * WATER_CP / 3600.0  # W/K per m³/h


def _solve(net, room=18.0, supply=60.0, **kw):
    hyd = solve_hydraulics(net, **kw)
    rooms = np.full(len(hyd.inlet_ids), room)
    return hyd, solve_thermal(net, hyd, supply_c=supply, outdoor_c=-5.0, room_c=rooms)


def test_heat_from_substation_equals_delivered_plus_pipe_losses() -> None:
    net = chain(4, pipe_m=600.0)
    hyd, th = _solve(net)
    source = hyd.pump_flow_m3h * CAP * (60.0 - th.network_return_c)
    assert source == pytest.approx(th.heat_w.sum() + th.pipe_loss_w, rel=1e-9)
    assert th.pipe_loss_w > 0


def test_supply_temperature_decays_along_the_main_as_closed_form() -> None:
    net = chain(1, pipe_m=2000.0, diameter_mm=100.0)
    net.pipes[0].heat_loss_w_mk = 0.5
    hyd, th = _solve(net)
    q = hyd.pipe_supply_flow_m3h[0]
    g = net.ground_c
    expected = g + (60.0 - g) * math.exp(-0.5 * 2000.0 / (q * CAP))
    assert th.supply_c[0] == pytest.approx(expected, rel=1e-9)


def test_emitter_meets_water_at_the_return_temperature() -> None:
    """Both heat equations hold at the solved return temperature."""
    net = chain(2)
    hyd, th = _solve(net, room=20.0)
    b = net.inlets["B1"]
    em = b.emitter
    water = hyd.inlet_flow_m3h[0] * CAP * (th.supply_c[0] - th.return_c[0])
    dtm = (th.supply_c[0] + th.return_c[0]) / 2 - 20.0
    dtm_d = (em.design_supply_c + em.design_return_c) / 2 - em.design_room_c
    emitted = b.design_load_kw * 1000 * (dtm / dtm_d) ** em.exponent
    assert th.heat_w[0] == pytest.approx(water)
    assert water == pytest.approx(emitted, rel=1e-6)
    # at design flow, design supply and design room the emitter gives its design load
    assert th.return_c[0] < th.supply_c[0]


def test_design_conditions_return_design_load() -> None:
    """A valve set so the inlet gets exactly its design flow gives design ΔT and load."""
    net = chain(1, pipe_m=1.0, diameter_mm=300.0)
    net.pipes[0].heat_loss_w_mk = 0.0
    b = net.inlets["B1"]
    b.device = Device("flow_valve", kvs=40.0, setpoint=b.design_flow_m3h)
    _hyd, th = _solve(net)
    assert th.return_c[0] == pytest.approx(45.0, abs=1e-3)
    assert th.heat_w[0] == pytest.approx(b.design_load_kw * 1000, rel=1e-4)


def test_more_flow_raises_return_temperature() -> None:
    net = chain(1)
    _h, low = _solve(net, openings=np.array([0.5]))
    _h, high = _solve(net, openings=np.array([1.0]))
    assert high.return_c[0] > low.return_c[0]
    assert high.heat_w[0] > low.heat_w[0]


def test_ejector_mixing_lowers_building_supply_but_not_energy_balance() -> None:
    net = chain(1)
    net.inlets["B1"].device = Device("manual_ejector", kvs=10.0, mixing_ratio=1.0)
    hyd, th = _solve(net)
    plain_hyd, plain = _solve(chain(1))
    assert hyd.inlet_flow_m3h[0] == pytest.approx(plain_hyd.inlet_flow_m3h[0])
    # the same network water gives less heat when mixed down (lower emitter temperature)
    assert th.heat_w[0] < plain.heat_w[0]
    assert th.heat_w[0] == pytest.approx(
        hyd.inlet_flow_m3h[0] * CAP * (th.supply_c[0] - th.return_c[0])
    )


def test_zero_flow_gives_no_heat_and_no_nan() -> None:
    net = chain(2)
    _hyd, th = _solve(net, openings=np.zeros(2))
    assert np.all(np.isfinite(th.return_c))
    assert np.all(th.heat_w < 100.0)
    assert np.isfinite(th.network_return_c)


def test_households_mix_into_their_building() -> None:
    net = chain(1)
    for k in range(3):
        net.inlets[f"H{k}"] = inlet(
            f"H{k}", "N1", 20.0, kind="household", parent="B1", device=Device("iot_valve", kvs=1.5)
        )
    hyd, th = _solve(net)
    idx = {i: k for k, i in enumerate(hyd.inlet_ids)}
    kids = [idx[f"H{k}"] for k in range(3)]
    b = idx["B1"]
    assert th.heat_w[b] == pytest.approx(th.heat_w[kids].sum())
    mixed = np.dot(hyd.inlet_flow_m3h[kids], th.return_c[kids]) / hyd.inlet_flow_m3h[kids].sum()
    assert th.return_c[b] == pytest.approx(mixed)
