"""A meter that never reports while its valve answers (issue 9, silent meters): the engine
plans the inlet from its model (``Commands.open_loop``); Home Assistant shows that inlet's
flow, deviation and band verdict as the engine's estimate, never as a measurement."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.const import SUBENTRY_COMMISSIONING
from custom_components.heatbalance.diagnostics import async_get_config_entry_diagnostics
from custom_components.heatbalance.engine.commissioning import commission
from custom_components.heatbalance.engine.control.controller import NEVER_READ

from .conftest import add_network, cycles
from .test_balancing import FIELD, _field_devices, _map_b003


def _report_all_but_flow(hass: HomeAssistant) -> None:
    """The field sensors report, the flow meter never does (unknown in HA)."""
    hass.states.async_set(FIELD["supply_temperature_entity"], "60", {"unit_of_measurement": "°C"})
    hass.states.async_set(FIELD["return_temperature_entity"], "45", {"unit_of_measurement": "°C"})
    hass.states.async_set(FIELD["room_temperature_entity"], "20.5", {"unit_of_measurement": "°C"})
    hass.states.async_set(FIELD["battery_entity"], "90", {"unit_of_measurement": "%"})


@pytest.mark.parametrize("algorithm", ["ai", "traditional"])
async def test_silent_meter_shown_as_estimated(hass: HomeAssistant, algorithm: str) -> None:
    """The model-based controller plans it from its model; traditional PI (HA's default)
    sets it to the opening its network model gives the set flow — before, PI held it and
    showed nothing (flow unknown, no open_loop)."""
    demo = await add_network(hass, options={"algorithm": algorithm})
    await _field_devices(hass)
    _report_all_but_flow(hass)
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 2)
    coordinator = demo.runtime_data.coordinator
    b003 = coordinator.data.inlets["B003"]
    assert b003.reading.flow_m3h is None  # never measured
    assert b003.open_loop == NEVER_READ
    flow = hass.states.get("sensor.b003_flow")  # the plan's flow, as the estimate: the
    assert flow.state == "unknown"  # state is never one (test_estimated_statistics)
    assert flow.attributes["estimate"] > 0
    assert flow.attributes["estimated"] is True
    deviation = hass.states.get("sensor.b003_flow_deviation")
    assert isinstance(deviation.attributes["estimate"], float)
    assert deviation.attributes["estimated"] is True
    # a measured inlet's deviation is not flagged
    assert hass.states.get("sensor.b001_flow_deviation").attributes["estimated"] is False
    assert b003.in_band is not None  # judged on the plan's flow, flagged
    diag = await async_get_config_entry_diagnostics(hass, demo)
    shown = diag["state"]["inlets"]["B003"]
    assert shown["flow_m3h"] is None
    assert shown["open_loop"] == NEVER_READ
    assert set(shown["estimated"]) >= {"flow_m3h", "deviation"}
    assert diag["state"]["inlets"]["B001"]["open_loop"] is None


async def test_valve_without_feedback_starts_at_its_commissioned_opening(
    hass: HomeAssistant,
) -> None:
    """Issue 9 item 2 through HA: the fitter ticked B003's presetting done in a commissioning
    record (§7.2.6); its valve reports no position, so the engine assumes it at the record's
    opening (not the network file's), flagged estimated. Manual mode: nothing is sent, so
    the position shown is the one assumed before any command."""
    demo = await add_network(hass, options={"algorithm": "ai", "mode": "manual"})
    opening = commission(demo.runtime_data.coordinator.network).inlet("B003").opening
    assert opening is not None
    assert opening < 0.95  # the file says open (1.0): the two must differ for the test
    result = await hass.config_entries.subentries.async_init(
        (demo.entry_id, SUBENTRY_COMMISSIONING), context={"source": "user"}
    )
    await hass.config_entries.subentries.async_configure(result["flow_id"], {"done": ["B003"]})
    await hass.async_block_till_done()
    hass.states.async_set("valve.b003_field_valve", "open", {})  # no current_position
    _report_all_but_flow(hass)
    await _map_b003(hass, demo, {"actuator_entity": "valve.b003_field_valve"})
    coordinator = demo.runtime_data.coordinator
    assert coordinator.inlets["B003"].commissioned_opening == pytest.approx(opening, abs=1e-3)
    position = hass.states.get("sensor.b003_valve_position")
    assert position.attributes["estimated"] is True
    assert position.attributes["estimate"] == pytest.approx(100 * opening, abs=0.5)


async def test_heard_from_survives_a_restart(hass: HomeAssistant) -> None:
    """B003's meter read, then fell silent; after a restart of the entry (the Store keeps
    the controller's state) it is still a meter that was read and lost, not one that never
    read: before, every inlet was "never read" for its first cycle after a restart, and a
    lost meter whose valve answers was planned open-loop as if it had none."""
    demo = await add_network(hass, options={"algorithm": "ai"})
    await _field_devices(hass)
    _report_all_but_flow(hass)
    hass.states.async_set(FIELD["flow_entity"], "42", {"unit_of_measurement": "m³/h"})
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 1)
    heard = demo.runtime_data.coordinator.memory.loop.controller.heard
    assert "B003" in heard.flow
    assert "B003" in heard.position
    hass.states.async_set(FIELD["flow_entity"], "unavailable")
    await hass.config_entries.async_reload(demo.entry_id)
    await hass.async_block_till_done()
    coordinator = demo.runtime_data.coordinator
    assert coordinator.data.inlets["B003"].reading.flow_m3h is None
    assert coordinator.data.inlets["B003"].open_loop != NEVER_READ
    heard = coordinator.memory.loop.controller.heard
    assert "B003" in heard.flow
    assert "B003" in heard.position
