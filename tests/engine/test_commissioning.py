"""Commissioning presettings (§7.2.5) and the record (§7.2.6), checked by solving the network."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from custom_components.heatbalance.engine.commissioning import (
    CommissioningError,
    apply_presettings,
    commission,
    mixing_ratio,
    presettings,
    target_flows,
)
from custom_components.heatbalance.engine.hydraulics import solve_hydraulics
from custom_components.heatbalance.engine.model import Device
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.oracle import (
    MAX_BIG_FLOW_SPEED,
    big_flow,
    big_flow_speed,
    oracle,
    steady_reference,
)

from .nets import chain


def _num(value: float | None) -> float:
    """A record value that must be present."""
    assert value is not None
    return value


def _ratios(network) -> np.ndarray:
    """Solved flow over design flow of every inlet."""
    res = solve_hydraulics(network)
    design = np.array([network.inlets[i].design_flow_m3h for i in res.inlet_ids])
    return res.inlet_flow_m3h / design


@pytest.mark.parametrize("name", ["estate12", "district120", "loop8"])
def test_presettings_give_design_flows_on_builtins(builtin, name: str) -> None:
    """§7.2.5-6: with the presettings applied every inlet gets its design flow."""
    net = builtin(name)
    before = _ratios(net)
    assert before.max() - before.min() > 0.1  # the built-ins start unbalanced
    applied = apply_presettings(net, presettings(net))
    after = _ratios(applied)
    assert np.all(np.abs(after - 1.0) < 1e-3)


@pytest.mark.parametrize("name", ["estate12", "loop8"])
def test_worst_valve_fully_open_sets_lowest_pump_speed(builtin, name: str) -> None:
    """The lowest head that serves everyone: one valve ends fully open, the pump slows."""
    net = builtin(name)
    record = commission(net)
    openings = [_num(r.opening) for r in record.inlets]
    assert max(openings) == pytest.approx(1.0)
    assert record.pump.speed < net.substation.pump.max_speed
    # One percent slower and the fully open inlet starves.
    slower = apply_presettings(net, presettings(net))
    slower.substation.pump.speed = record.pump.speed * 0.99
    assert _ratios(slower).min() < 0.995


def test_record_fields_and_json(builtin) -> None:
    """§7.2.6: a dated record with device settings, expected flows and pressures, the pump."""
    record = commission(builtin("estate12"), date=dt.date(2026, 11, 28))
    data = record.as_dict()
    json.dumps(data, allow_nan=False)
    assert data["format"] == "heatbalance.commissioning/1"
    assert data["date"] == "2026-11-28"
    assert data["network"] == "estate12"
    assert set(data["pump"]) == {"speed", "frequency_hz", "flow_m3h", "head_m", "power_w"}
    assert data["pump"]["frequency_hz"] == pytest.approx(50.0 * data["pump"]["speed"], rel=1e-4)
    row = data["inlets"][0]
    for key in ("inlet_id", "device_type", "opening", "kv", "expected_flow_m3h"):
        assert row[key] is not None
    assert row["measured_flow_m3h"] is None  # left for the handheld meter
    assert record.max_flow_deviation < 1e-3
    assert record.inlet(row["inlet_id"]).inlet_id == row["inlet_id"]
    with pytest.raises(KeyError):
        record.inlet("nope")


def test_households_behind_buildings() -> None:
    """A building with households: its valve throttles, its worst household ends fully open."""
    net = generate_network(4, 3, seed=1)
    record = commission(net)
    assert record.max_flow_deviation < 1e-3
    buildings = ("B001", "B002", "B003", "B004")
    for building in buildings:
        kids = [r for r in record.inlets if r.parent == building]
        assert len(kids) == 3
        assert max(_num(r.opening) for r in kids) == pytest.approx(1.0)
        # The building carries what its households draw.
        total = sum(r.target_flow_m3h for r in kids)
        assert record.inlet(building).target_flow_m3h == pytest.approx(total)
    # Only the worst-placed building (the farthest) keeps its own valve fully open.
    throttled = [b for b in buildings if _num(record.inlet(b).opening) < 0.999]
    assert throttled == ["B001", "B002", "B003"]


def test_every_device_type_gets_its_setting() -> None:
    """§7.2.5 (1)–(7): opening and turns, flow and ΔP setpoints, mixing ratio, pump speed."""
    net = chain(5, diameter_mm=150.0)
    design = {iid: inlet.design_flow_m3h for iid, inlet in net.inlets.items()}
    net.inlets["B1"].device = Device(type="static_valve", kvs=40.0)
    net.inlets["B2"].device = Device(type="flow_valve", kvs=40.0, setpoint=1.0)
    net.inlets["B3"].device = Device(type="dp_valve", kvs=40.0, setpoint=5.0)
    net.inlets["B4"].device = Device(type="manual_ejector", kvs=40.0)
    net.inlets["B5"].device = Device(type="electric_valve", kvs=40.0)
    net.substation.pump.design_head_m, net.substation.pump.shutoff_head_m = 24.0, 30.0
    net.inlets["B4"].emitter.design_supply_c = 50.0
    net.inlets["B4"].emitter.design_return_c = 40.0
    record = commission(net)
    assert record.target_scale == 1.0
    b1, b2, b3, b4 = (record.inlet(f"B{k}") for k in range(1, 5))
    assert b1.turns == pytest.approx(4.0 * _num(b1.opening))
    assert b2.setpoint == pytest.approx(design["B2"])
    assert b2.setpoint_unit == "m3/h"
    # ΔP valve: the building-side resistance at design flow (§7.2.5-3).
    assert b3.setpoint == pytest.approx(net.inlets["B3"].internal_dp_kpa, rel=1e-6)
    assert b3.setpoint_unit == "kPa"
    # Ejector: (60 − 50)/(50 − 40) = 1 (§7.2.5-4).
    assert b4.mixing_ratio == pytest.approx(1.0)
    assert record.max_flow_deviation < 1e-3


def test_distributed_pumps_get_frequencies() -> None:
    """§7.2.5-7: user pumps lift their circuits; the source pump gives the least head."""
    net = chain(3)
    for inlet in net.inlets.values():
        inlet.device = Device(type="distributed_pump", pump_head_m=8.0, pump_flow_m3h=25.0)
    net.substation.pump.min_speed = 0.3
    record = commission(net)
    speeds = [_num(r.speed) for r in record.inlets]
    assert all(0.0 < s <= 1.0 for s in speeds)
    assert record.inlets[-1].frequency_hz == pytest.approx(50.0 * speeds[-1])
    # The farthest user pump runs flat out; the source pump gives only the rest.
    assert speeds[-1] == pytest.approx(1.0)
    assert speeds[0] < speeds[-1]
    assert record.pump.speed < 1.0
    assert record.max_flow_deviation < 1e-3


def test_surplus_through_a_stopped_pump_is_flagged() -> None:
    """A pump inlet next to the substation gets more than target even stopped: said so."""
    net = chain(3)
    net.inlets["B1"].device = Device(type="distributed_pump", pump_head_m=3.0, pump_flow_m3h=25.0)
    record = commission(net)
    assert record.inlet("B1").speed == 0.0
    assert any("B1" in note and "distributed pump" in note for note in record.notes)


def test_weak_pump_scales_every_target_alike(builtin) -> None:
    """A pump too weak for design: all flows scaled by one factor, nobody starves alone."""
    net = builtin("estate12")
    net.substation.pump.shutoff_head_m *= 0.5
    net.substation.pump.design_head_m *= 0.5
    record = commission(net)
    assert record.target_scale < 1.0
    assert record.pump.speed == pytest.approx(net.substation.pump.max_speed)
    ratios = _ratios(apply_presettings(net, presettings(net)))
    assert np.ptp(ratios) < 2e-3
    assert ratios.mean() == pytest.approx(record.target_scale, rel=2e-3)
    assert any("scaled" in note for note in record.notes)


def test_area_basis_shares_network_flow_by_heating_area(builtin) -> None:
    """§7.2.5-1: the network flow shared by heating area."""
    net = builtin("estate12")
    flows = target_flows(net, "area")
    total = sum(i.design_flow_m3h for i in net.inlets.values())
    area = sum(i.heating_area_m2 for i in net.inlets.values())
    assert sum(flows.values()) == pytest.approx(total)
    inlet = net.inlets["B001"]
    assert flows["B001"] == pytest.approx(total * inlet.heating_area_m2 / area)
    record = commission(net, basis="area")
    assert record.basis == "area"
    assert record.inlet("B001").expected_flow_m3h == pytest.approx(flows["B001"], rel=1e-3)


def test_area_basis_recurses_into_households() -> None:
    """A household's share is of its building's flow."""
    net = generate_network(2, 2, seed=3)
    flows = target_flows(net, "area")
    kids = [i for i in net.inlets.values() if i.parent == "B001"]
    assert sum(flows[k.id] for k in kids) == pytest.approx(flows["B001"])


def test_no_inlets_is_a_clear_error() -> None:
    """Nothing to commission: said so."""
    net = chain(1)
    net.inlets.clear()
    with pytest.raises(CommissioningError, match="no inlets"):
        commission(net)


def test_missing_design_load_is_a_clear_error() -> None:
    """An inlet without a design load has no target: the error names it."""
    net = chain(2)
    net.inlets["B2"].design_load_kw = 0.0
    with pytest.raises(CommissioningError, match="B2"):
        commission(net)


def test_area_basis_without_areas_and_unknown_basis() -> None:
    """No heating areas, or a basis that does not exist: clear errors."""
    net = chain(2)
    for inlet in net.inlets.values():
        inlet.heating_area_m2 = 0.0
    with pytest.raises(CommissioningError, match="heating area"):
        commission(net, basis="area")
    with pytest.raises(CommissioningError, match="basis"):
        target_flows(net, "volume")  # type: ignore[arg-type]


def test_unsolvable_network_is_a_clear_error() -> None:
    """A valve without Kvs cannot be modelled: the hydraulic error becomes ours."""
    net = chain(2)
    net.inlets["B1"].device = Device(type="static_valve", kvs=None)
    with pytest.raises(CommissioningError, match="kvs"):
        commission(net)


def test_ejector_with_inverted_design_temperatures() -> None:
    """An emitter whose design return is above its supply has no mixing ratio."""
    net = chain(1)
    inlet = net.inlets["B1"]
    inlet.emitter.design_return_c = 70.0
    with pytest.raises(CommissioningError, match="not above"):
        mixing_ratio(net, inlet)


# --- the oracle and the "big flow, small ΔT" baseline ----------------------------------------
@pytest.mark.parametrize("name", ["estate12", "loop8"])
def test_oracle_beats_big_flow(builtin, name: str) -> None:
    """Oracle: set flows (design × weight, §5.3.6-5) at the least pump power; big flow:
    worst served, pump wasted. loop8 weights one building 1.5."""
    net = builtin(name)
    best = oracle(net)
    big = big_flow(net)
    start = steady_reference("initial", net)
    weights = [i.weight for i in net.inlets.values()]
    assert best.min_flow_ratio == pytest.approx(min(weights), abs=1e-4)
    assert best.max_flow_ratio == pytest.approx(max(weights), abs=1e-4)
    assert best.pump_power_w < start.pump_power_w < big.pump_power_w
    assert big.min_flow_ratio >= 1.0 - 1e-6
    assert big.max_flow_ratio > 1.5  # the near buildings overflow
    assert big.overheating_w > best.overheating_w
    assert big.spread_k > best.spread_k
    assert big.as_dict()["name"] == "big_flow"


def test_big_flow_speed_beyond_the_pump_is_flagged() -> None:
    """A pump that must run faster than its VFD allows means a bigger pump: flagged."""
    net = chain(3)
    big = big_flow(net)
    assert big.beyond_pump == (big.pump_speed > net.substation.pump.max_speed)
    assert big.min_flow_ratio >= 1.0 - 1e-6


def test_big_flow_speed_limits() -> None:
    """Already served at minimum speed → minimum; never served → the search's ceiling."""
    net = chain(2)
    for inlet in net.inlets.values():
        inlet.design_load_kw = 1.0
        inlet.internal_dp_kpa = 0.1
    assert big_flow_speed(net) == net.substation.pump.min_speed
    starved = chain(2)
    starved.inlets["B2"].device = Device(type="electric_valve", kvs=10.0, max_opening=0.0)
    assert big_flow_speed(starved) == MAX_BIG_FLOW_SPEED


def test_dp_valve_over_households_holds_what_they_share() -> None:
    """§7.2.5-3 over households: the ΔP between building supply and street return."""
    net = generate_network(3, 3, seed=5)
    kvs = 4.0 * net.inlets["B001"].design_flow_m3h
    net.inlets["B001"].device = Device(type="dp_valve", kvs=kvs, setpoint=10.0)
    record = commission(net)
    row = record.inlet("B001")
    assert row.setpoint_unit == "kPa"
    kids = [r for r in record.inlets if r.parent == "B001"]
    # The households' own pressure: what they are offered after the building's valve.
    shared = {round(k.expected_dp_available_kpa, 3) for k in kids}
    assert len(shared) == 1
    assert row.setpoint == pytest.approx(kids[0].expected_dp_available_kpa, rel=1e-3)
    assert record.max_flow_deviation < 1e-3


def test_oversized_pump_runs_at_minimum_and_valves_throttle() -> None:
    """A pump far too strong: minimum speed, said in the notes, flows still on target."""
    net = chain(3, diameter_mm=150.0)
    for inlet in net.inlets.values():
        inlet.device = Device(type="electric_valve", kvs=40.0)
    net.substation.pump.design_head_m, net.substation.pump.shutoff_head_m = 200.0, 250.0
    net.substation.pump.min_speed = 0.6
    record = commission(net)
    assert record.pump.speed == pytest.approx(0.6)
    assert any("minimum speed" in note for note in record.notes)
    assert record.max_flow_deviation < 1e-3
    assert max(_num(r.opening) for r in record.inlets) < 1.0


def test_inlet_without_device_is_noted() -> None:
    """No balancing device: nothing to set, and the record says why."""
    net = chain(2)
    net.inlets["B2"].device = Device(type="none")
    row = commission(net).inlet("B2")
    assert row.opening is None
    assert "not adjustable" in row.note
