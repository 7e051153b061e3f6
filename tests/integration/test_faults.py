"""Balancing through Home Assistant on an imperfect plant (issue 10 × issue 9).

A simulated "field" plant stands behind HA entities (``devtools.field_plant``): its readings
reach sensor entities with noise or as ``unavailable``, its valves are real entities of HA's
valve component — without a position attribute, or with a blocked building. The regulation
result is judged on the field's *true* state, not on what the integration believes.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant, callback

from custom_components.heatbalance.const import EVENT_ALARM
from custom_components.heatbalance.engine.loader import load_network
from devtools.field_plant import (
    FieldPlant,
    Instruments,
    async_all_open_and_fresh,
    async_field_in_auto,
)
from devtools.field_plant import async_field_cycles as _run

from .conftest import RaisedAlarms, add_network

OUTDOOR = "sensor.field_outdoor"


async def _field_entry(
    hass: HomeAssistant, instruments: Instruments, algorithm: str = "ai"
) -> tuple[Any, FieldPlant]:
    """estate12 with the model-based controller (or ``algorithm``), every building on the
    field's entities, mapped in manual mode (nothing moves meanwhile), then switched to
    automatic."""
    network = load_network("estate12")
    hass.states.async_set(OUTDOOR, str(network.design.outdoor_c), {"unit_of_measurement": "°C"})
    options = {"algorithm": algorithm, "outdoor_entity": OUTDOOR, "mode": "manual"}
    entry = await add_network(hass, options=options)
    return entry, await async_field_in_auto(hass, entry, network, instruments)


async def test_blocked_building_alarmed_by_name(hass: HomeAssistant) -> None:
    """A building whose valve becomes blocked to 30 % of its Kv (§5.3.7-3) while the plant
    is regulated is raised as an equipment fault naming that building within 3 cycles (the
    controller identifies it from the flow its moves produce; HA entities carry no valve
    ΔP), and no other building is accused. The controller first learns the field for 4
    cycles: what it learnt on the demo plant before the mapping is forgotten (test_safety)."""
    entry, field = await _field_entry(hass, Instruments(noise=0.01))
    await _run(hass, entry, field, 4)
    field.sim.inject_fault("B007", "blockage", factor=0.3)
    alarms: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_ALARM, callback(lambda e: alarms.append(dict(e.data))))
    await _run(hass, entry, field, 3)
    faults = [a for a in alarms if a["alarm_type"] == "equipment_fault"]
    assert faults, alarms
    assert {a["location"] for a in faults} == {"B007"}
    assert faults[0]["location_name"] == entry.runtime_data.coordinator.events.location_name("B007")
    assert "block" in faults[0]["description"]  # the diagnoser's or the controller's finding


async def test_biased_flow_meter_alarmed_by_name(hass: HomeAssistant) -> None:
    """A building's flow meter reads 20 % high on a field plant whose heat meters (energy
    counters) and substation flow meter reach HA as entities: the meter check
    (engine/meters.py, §3.0.7-1) raises an equipment fault naming that building within 12
    cycles (6 measured), and no other inlet is accused of a meter fault. (A 10 % bias needs
    9–14 cycles at this noise, near the test's decision boundary: bench_robust measures it.)"""
    instruments = Instruments(noise=0.01, bias=("B007", 1.2), meters=True)
    entry, field = await _field_entry(hass, instruments)
    options = dict(entry.options) | {"substation_flow_entity": FieldPlant.SUBSTATION_FLOW}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()
    alarms: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_ALARM, callback(lambda e: alarms.append(dict(e.data))))
    await _run(hass, entry, field, 12)
    meter = [a for a in alarms if "meter" in a["description"]]
    assert meter, alarms
    assert {a["location"] for a in meter} == {"B007"}
    assert {a["alarm_type"] for a in meter} == {"equipment_fault"}


async def _alarm_cycles(
    hass: HomeAssistant, entry: Any, field: FieldPlant, n: int
) -> list[tuple[int, dict[str, Any]]]:
    """Run ``n`` cycles; every alarm raised, with the cycle it was raised in (1…n)."""
    raised = RaisedAlarms(hass)
    for k in range(1, n + 1):
        raised.cycle = k
        await _run(hass, entry, field, 1)
    return raised


async def test_ten_percent_meter_named_by_the_model_witness(hass: HomeAssistant) -> None:
    """+10 % on a building's flow meter behind HA entities (flow, temperatures, position;
    no valve ΔP): the controller's network model, solved at the read positions, is the
    meter check's witness beside the heat balance, so the flow meter is named within 12
    cycles (11 measured; 13 without the witness in bench_product_faults) and nobody else
    is accused of a meter fault. It was ≤ 8 (7 measured) while the network model's
    substation supply counted as a reading in the heat balances' common supply: here the
    model is the field plant, so that value was the water's exact temperature, which no
    real plant without a substation sensor gives; it is an estimate now, weighed by what
    its gaps to the readings show (meters.py ``_with_model``, issue 10)."""
    instruments = Instruments(noise=0.01, bias=("B007", 1.1), meters=True)
    entry, field = await _field_entry(hass, instruments)
    raised = await _alarm_cycles(hass, entry, field, 12)
    meter = [(k, a) for k, a in raised if "meter" in a["description"]]
    assert meter, raised
    assert {a["location"] for _, a in meter} == {"B007"}
    assert "flow meter" in meter[0][1]["description"]


async def test_substation_meter_off_the_sum_of_its_inlets_is_alarmed(hass: HomeAssistant) -> None:
    """The substation's flow meter reads 8 % high against the sum of the buildings' meters
    (issue 9 item 4, mass balance): an equipment fault on the network within 12 cycles
    (4 measured), none on a building. Before, the cleaning's one-cycle 5 % sum check
    dropped the reading, and a substation finding had no inlet reading to hang on: HA
    never heard of it."""
    instruments = Instruments(noise=0.01, meters=True, substation_bias=1.08)
    entry, field = await _field_entry(hass, instruments)
    options = dict(entry.options) | {"substation_flow_entity": FieldPlant.SUBSTATION_FLOW}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()
    raised = await _alarm_cycles(hass, entry, field, 12)
    meter = [(k, a) for k, a in raised if "meter" in a["description"]]
    assert meter, raised
    assert {a["location"] for _, a in meter} == {"network"}
    assert {a["alarm_type"] for _, a in meter} == {"equipment_fault"}


async def test_sound_meters_raise_no_meter_alarm_in_a_day(hass: HomeAssistant) -> None:
    """Sound meters behind HA entities (1 % noise on flow and temperatures, heat meter
    counters, the substation flow meter mapped; no valve ΔP: the model witness speaks):
    48 cycles, a day of regulation from all-open, and no meter alarm anywhere."""
    instruments = Instruments(noise=0.01, meters=True)
    entry, field = await _field_entry(hass, instruments)
    options = dict(entry.options) | {"substation_flow_entity": FieldPlant.SUBSTATION_FLOW}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()
    raised = await _alarm_cycles(hass, entry, field, 48)
    assert not [a for _, a in raised if "meter" in a["description"]], raised


async def test_silent_building_alarmed_by_name(hass: HomeAssistant) -> None:
    """A building whose meter and valve stop answering (every entity ``unavailable``: a
    dead device or link, §5.3.7-1, §5.3.8-5) is raised as a communication alarm naming
    that building within 4 cycles of its silence, and nobody else is accused of it."""
    entry, field = await _field_entry(hass, Instruments(noise=0.01))
    await _run(hass, entry, field, 4)
    field.instruments.silent = frozenset({"B007"})
    raised = await _alarm_cycles(hass, entry, field, 6)
    comm = [(k, a) for k, a in raised if a["alarm_type"] == "communication"]
    assert comm, raised
    assert {a["location"] for _, a in comm} == {"B007"}
    assert comm[0][0] <= 4, comm


@pytest.mark.parametrize("algorithm", ["traditional", "ai"])
async def test_healthy_plant_at_five_percent_noise_names_no_fault(
    hass: HomeAssistant, algorithm: str
) -> None:
    """A healthy estate12 behind HA entities at 5 % flow and temperature noise (no ΔP
    transmitter: the available ΔP the controller gets is the plant model's, flagged
    estimated): no equipment fault anywhere in 16 cycles, and every building truly in the
    intermediate band (§8.2.3) from cycle 6 on. Before the engine knew the ΔP was an
    estimate, PI named the healthy B012 blocked ("Kv at 41–48 %") and isolated it; the
    band came at cycle 18 in bench_product_faults against the engine's 5 (issue 10 item 3)."""
    entry, field = await _field_entry(hass, Instruments(noise=0.05), algorithm)
    await async_all_open_and_fresh(hass, entry, field)
    raised = RaisedAlarms(hass)
    shares = await _run(hass, entry, field, 16)
    faults = [a for _, a in raised if a["alarm_type"] == "equipment_fault"]
    assert not faults, faults
    assert min(shares[5:]) == 1.0, shares
