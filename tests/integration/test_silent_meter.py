"""A meter that never reports while its valve answers (issue 9, silent meters): the engine
plans the inlet from its model (``Commands.open_loop``); Home Assistant shows that inlet's
flow, deviation and band verdict as the engine's estimate, never as a measurement."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.heatbalance.diagnostics import async_get_config_entry_diagnostics
from custom_components.heatbalance.engine.control.controller import NEVER_READ

from .conftest import add_network, cycles
from .test_balancing import FIELD, _field_devices, _map_b003


def _report_all_but_flow(hass: HomeAssistant) -> None:
    """The field sensors report, the flow meter never does (unknown in HA)."""
    hass.states.async_set(FIELD["supply_temperature_entity"], "60", {"unit_of_measurement": "°C"})
    hass.states.async_set(FIELD["return_temperature_entity"], "45", {"unit_of_measurement": "°C"})
    hass.states.async_set(FIELD["room_temperature_entity"], "20.5", {"unit_of_measurement": "°C"})
    hass.states.async_set(FIELD["battery_entity"], "90", {"unit_of_measurement": "%"})


async def test_silent_meter_shown_as_estimated(hass: HomeAssistant) -> None:
    """The model-based controller (PI holds an inlet without a flow: nothing to show)."""
    demo = await add_network(hass, options={"algorithm": "ai"})
    await _field_devices(hass)
    _report_all_but_flow(hass)
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 2)
    coordinator = demo.runtime_data.coordinator
    b003 = coordinator.data.inlets["B003"]
    assert b003.reading.flow_m3h is None  # never measured
    assert b003.open_loop == NEVER_READ
    flow = hass.states.get("sensor.b003_flow")
    assert float(flow.state) > 0
    assert flow.attributes["estimated"] is True
    deviation = hass.states.get("sensor.b003_flow_deviation")
    assert deviation.state != "unknown"
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
