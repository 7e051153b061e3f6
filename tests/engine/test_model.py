"""Tests of the network dataclasses' own physics: curves, characteristics, design flow."""

from __future__ import annotations

import math

import pytest

from custom_components.heatbalance.engine.model import (
    Device,
    HeatingCurve,
    Pump,
    Substation,
    design_flow_m3h,
)


def test_design_flow_carries_the_load() -> None:
    """100 kW at ΔT 15 K is about 5.85 m³/h of water at 60 °C."""
    flow = design_flow_m3h(100.0, 15.0)
    assert flow == pytest.approx(100e3 / (983.2 * 4186.0 * 15.0) * 3600.0)
    assert 5.8 < flow < 5.9


def test_heating_curve_interpolates_and_is_flat_outside() -> None:
    """§3.0.6 static model: supply temperature follows outdoor temperature linearly."""
    curve = HeatingCurve(points=[(5.0, 40.0), (-10.0, 60.0)])
    assert curve.supply_c(-10.0) == 60.0
    assert curve.supply_c(-2.5) == pytest.approx(50.0)
    assert curve.supply_c(-20.0) == 60.0
    assert curve.supply_c(12.0) == 40.0


def test_substation_prefers_the_heating_curve() -> None:
    pump = Pump(design_flow_m3h=100.0, design_head_m=20.0, shutoff_head_m=26.0)
    fixed = Substation(id="s", node="n", pump=pump, supply_c=55.0)
    curved = Substation(
        id="s", node="n", pump=pump, heating_curve=HeatingCurve([(0.0, 45.0), (-10.0, 60.0)])
    )
    assert fixed.supply_temperature_c(-5.0) == 55.0
    assert curved.supply_temperature_c(-5.0) == pytest.approx(52.5)
    with pytest.raises(ValueError, match="neither supply_c nor heating_curve"):
        Substation(id="s", node="n", pump=pump).supply_temperature_c(0.0)


def test_pump_curve_follows_affinity_laws() -> None:
    pump = Pump(design_flow_m3h=100.0, design_head_m=20.0, shutoff_head_m=26.0)
    assert pump.head_m(0.0) == 26.0
    assert pump.head_m(100.0) == pytest.approx(20.0)
    assert pump.head_m(0.0, speed=0.5) == pytest.approx(6.5)
    # hydraulic power ρ·g·Q·H over efficiency
    assert pump.power_w(100.0, 20.0) == pytest.approx(983.2 * 9.81 * 100 / 3600 * 20 / 0.7)
    assert pump.power_w(100.0, -3.0) == 0.0


def test_equal_percentage_valve_characteristic() -> None:
    valve = Device(type="electric_valve", kvs=10.0, rangeability=30.0)
    assert valve.kv(1.0) == pytest.approx(10.0)
    assert valve.kv(0.5) == pytest.approx(10.0 * 30.0**-0.5)
    # each 10 % of stroke multiplies Kv by the same factor
    ratio = valve.kv(0.8) / valve.kv(0.7)
    assert valve.kv(0.5) / valve.kv(0.4) == pytest.approx(ratio)
    assert valve.kv(0.0) == 0.0
    # continuous at the knee 1/R, where the closing line starts
    knee = 1.0 / 30.0
    assert valve.kv(knee - 1e-9) == pytest.approx(valve.kv(knee), rel=1e-6)
    assert valve.kv(2.0) == valve.kv(1.0)


def test_linear_valve_and_current_opening() -> None:
    valve = Device(type="static_valve", kvs=4.0, characteristic="linear", opening=0.25)
    assert valve.kv() == pytest.approx(1.0)
    assert not valve.actuated
    with pytest.raises(ValueError, match="no kvs"):
        Device(type="none").kv(0.5)
    assert Device(type="iot_valve", kvs=1.0).actuated
    assert math.isclose(Device(type="distributed_pump").speed, 1.0)
