"""Heat meters and the substation flow meter mapped through Home Assistant (issue 9 item 4).

The meter check (engine/meters.py, §3.0.7-1) compares a flow meter with its heat meter
(Q = ṁ·c_p·ΔT) and the inlets' flows with the substation's meter. These tests map the
signals through the real UI flows and follow them into the engine's check.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.heatbalance.requirements import available, meter_checks
from custom_components.heatbalance.settings import InletConfig

from .conftest import add_network, cycles

SIGNALS = {
    "flow_entity": ("sensor.b003_flow", "12.0", "m³/h"),
    "supply_temperature_entity": ("sensor.b003_supply", "60.0", "°C"),
    "return_temperature_entity": ("sensor.b003_return", "45.0", "°C"),
}


def _set(hass: HomeAssistant, values: dict[str, tuple[str, str, str]]) -> None:
    for entity_id, state, unit in values.values():
        hass.states.async_set(entity_id, state, {"unit_of_measurement": unit})


async def test_heat_meter_power_reaches_the_meter_check(hass: HomeAssistant) -> None:
    """A heat meter mapped by its power (MW) in the inlet's entities form: the engine's
    meter check gets a counter that grows by that power over each cycle, and the
    requirements say the inlet feeds the heat balance (not the mass balance: no
    substation flow meter is mapped on this real plant)."""
    entry = await add_network(hass, "estate12")
    _set(hass, SIGNALS | {"heat": ("sensor.b003_heat_power", "0.21", "MW")})
    sub = next(s for s in entry.subentries.values() if s.unique_id == "B003")
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "inlet"),
        context={"source": "reconfigure", "subentry_id": sub.subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "entities", "link": "wired"}
    )
    assert result["step_id"] == "entities"
    fields = {str(k) for k in result["data_schema"].schema}
    assert {"heat_energy_entity", "heat_power_entity"} <= fields
    answer = {k: v[0] for k, v in SIGNALS.items()} | {"heat_power_entity": "sensor.b003_heat_power"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], answer)
    if result["type"] is FlowResultType.FORM:  # the real-time notice of a first real inlet
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], answer | {"real_time": True}
        )
    assert result["type"] is FlowResultType.ABORT, result  # reconfigured
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    cfg = coordinator.inlets["B003"]
    assert "heat" in available(cfg)
    checks = meter_checks(coordinator.network, coordinator.settings, coordinator.inlets)
    assert checks["B003"] == ["heat_balance"]
    counters = []
    for _ in range(3):
        _set(hass, SIGNALS | {"heat": ("sensor.b003_heat_power", "0.21", "MW")})
        await cycles(hass, entry, 1)
        state = coordinator.memory.loop.controller.meters.inlets["B003"]
        counters.append((state.heat_kwh, state.time_s))
    (e0, t0), (e1, t1) = counters[0], counters[-1]
    assert (e1 - e0) / ((t1 - t0) / 3600.0) == pytest.approx(210.0, rel=1e-6)


async def test_substation_flow_meter_mapped_in_the_options(hass: HomeAssistant) -> None:
    """The substation flow meter is a network-level entity of the options (beside the
    outdoor sensor); on a real plant it, not the model's pump flow, is the mass balance's
    parent meter — and clearing the field takes it away."""
    entry = await add_network(hass, "estate12")
    network = entry.runtime_data.coordinator.network
    settings_without = entry.runtime_data.coordinator.settings
    b001 = InletConfig("x", "B001", source="entities", entities={"flow_entity": "s.f"})
    real = entry.runtime_data.coordinator.inlets | {"B001": b001}  # the others simulated
    assert meter_checks(network, settings_without, real)["B001"] == []
    hass.states.async_set("sensor.station_flow", "41.5", {"unit_of_measurement": "m³/h"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    sections = {str(k): v for k, v in result["data_schema"].schema.items()}
    timing = {str(k) for k in sections["timing"].schema.schema}
    assert {"substation_flow_entity", "substation_heat_entity"} <= timing
    meters = {
        "substation_flow_entity": "sensor.station_flow",
        "substation_heat_entity": "sensor.station_heat",  # its power: the network's heat
    }
    answer = _answer(entry) | {"timing": _answer(entry)["timing"] | meters}
    result = await hass.config_entries.options.async_configure(result["flow_id"], answer)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    settings = entry.runtime_data.coordinator.settings
    assert settings.substation_flow_entity == "sensor.station_flow"
    assert settings.substation_heat_entity == "sensor.station_heat"
    assert meter_checks(network, settings, real)["B001"] == ["mass_balance"]
    # the substation's balance needs every street inlet's flow, as the engine's check does
    # (it never ran where one was missing, yet was stated here before: engine/meters.py)
    unmetered = InletConfig("y", "B002", source="entities", entities={"return_entity": "s.r"})
    assert meter_checks(network, settings, real | {"B002": unmetered})["B001"] == []
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], _answer(entry))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.settings.substation_flow_entity is None
    assert entry.runtime_data.coordinator.settings.substation_heat_entity is None


async def test_substation_flow_meter_on_the_gateway_mapped_in_the_options(
    hass: HomeAssistant,
) -> None:
    """The substation flow meter may be a device of the gateway add-on instead of an entity
    (Options → Acquisition); one meter is read one way (both: a form error naming the
    section); with it a gateway inlet's flow is in the mass balance, and its heat meter's
    energy counter feeds the heat balance (requirements: the gateway delivers ``heat``)."""
    entry = await add_network(hass, "estate12")
    network = entry.runtime_data.coordinator.network
    b001 = InletConfig("x", "B001", source="gateway", gateway_meter="b001-meter")
    real = entry.runtime_data.coordinator.inlets | {"B001": b001}  # the others simulated
    assert "heat" in available(real["B001"])
    assert meter_checks(network, entry.runtime_data.coordinator.settings, real)["B001"] == [
        "heat_balance"
    ]
    hass.states.async_set("sensor.station_flow", "41.5", {"unit_of_measurement": "m³/h"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    sections = {str(k): v for k, v in result["data_schema"].schema.items()}
    assert "substation_flow_gateway_device" in {str(k) for k in sections["timing"].schema.schema}
    device = {"substation_flow_gateway_device": "substation-meter"}
    both = _answer(entry) | {
        "timing": _answer(entry)["timing"]
        | device
        | {"substation_flow_entity": "sensor.station_flow"}
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], both)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"timing": "substation_flow_two_sources"}
    answer = _answer(entry) | {"timing": _answer(entry)["timing"] | device}
    result = await hass.config_entries.options.async_configure(result["flow_id"], answer)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    settings = entry.runtime_data.coordinator.settings
    assert (settings.substation_flow_device, settings.substation_flow_entity) == (
        "substation-meter",
        None,
    )
    assert meter_checks(network, settings, real)["B001"] == ["heat_balance", "mass_balance"]
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], _answer(entry))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.settings.substation_flow_device is None


def _answer(entry: ConfigEntry) -> dict[str, Any]:
    """The options form's answer as it stands (network sensors left out: cleared)."""
    from custom_components.heatbalance.options_flow import FIELDS, SECTIONS
    from custom_components.heatbalance.settings import DEFAULT_OPTIONS

    current = DEFAULT_OPTIONS | dict(entry.options)
    out: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS if name != "records"}
    for section, key, _ in FIELDS:
        out[section][key] = current[key]
    return out


async def test_mapping_the_substation_heat_meter_resets_the_load_model_audited(
    hass: HomeAssistant,
) -> None:
    """§3.0.7-2: the forecaster learns the inlets' heat until a substation heat meter is
    mapped, then that meter's (pipe losses in): a model taught both forecasts neither, so
    mapping and unmapping the meter reset it — through the entry's reload (Store) — and the
    audit log says so (§5.3.6-7), old source → new."""
    from pytest_homeassistant_custom_component.common import async_capture_events

    from custom_components.heatbalance.const import EVENT_AUDIT

    from .test_balancing import FIELD, _field_devices, _map_b003, _report

    entry = await add_network(hass, "estate12")
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=700.0)  # B003 read, a real plant
    await _map_b003(hass, entry, FIELD)
    await cycles(hass, entry, 4)
    loop = entry.runtime_data.coordinator.memory.loop
    assert loop is not None
    assert loop.forecaster.hours_seen >= 1  # the inlets' load learnt
    audits = async_capture_events(hass, EVENT_AUDIT)
    meter = "sensor.station_heat_power"
    hass.states.async_set(meter, "2.5", {"unit_of_measurement": "MW"})
    for mapped in (meter, None):
        options = dict(entry.options) | {"substation_heat_entity": mapped}
        hass.config_entries.async_update_entry(entry, options=options)
        await hass.async_block_till_done()
        await cycles(hass, entry, 1)
        loop = entry.runtime_data.coordinator.memory.loop
        assert loop is not None
        assert loop.forecaster.hours_seen == 0  # learnt afresh
        await cycles(hass, entry, 3)
        assert loop.forecaster.hours_seen >= 1
    resets = [e.data for e in audits if e.data["action"] == "forecaster_reset"]
    assert [(r["details"]["old_source"], r["details"]["new_source"]) for r in resets] == [
        ("inlets", f"substation:{meter}"),
        (f"substation:{meter}", "inlets"),
    ]
