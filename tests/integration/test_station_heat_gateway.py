"""The substation heat meter as a gateway device (issue 10 item 3; §3.0.7-2, §4.3.2).

With its real parts: the virtual plant (the engine's Simulator served over Modbus by a real
pymodbus server) → the gateway add-on as its own process → a real mosquitto → Home
Assistant's MQTT client → the integration's gateway source. The substation's heat meter
device publishes the plant's thermal power (its ``power`` point, kW); mapped in the options
(Acquisition) it is the network heat power, a measurement, and the load the forecaster
learns — as an entity mapped there is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant

from devtools.gateway_field import GatewayField
from scripts.virtual_plant import SUBSTATION_METER

from .conftest import add_network, polling_off

OUTDOOR = "sensor.field_outdoor"
HEAT = "sensor.estate12_heat_power"


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


@pytest.mark.slow
async def test_substation_heat_meter_on_the_gateway_is_the_network_heat(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    """estate12 on the gateway, the substation's meter device mapped as the substation heat
    meter: the heat power sensor states its power — the plant's heat, pipe losses in — as a
    measurement (no ``estimated``), the engine's loop takes it as the network's load, and
    the load source the forecaster learns from is that device."""
    entry = await add_network(
        hass, "estate12", options={"mode": "manual", "outdoor_entity": OUTDOOR}
    )
    # polling off before the field runs: turned off later, its entry update waited for HA's
    # MQTT traffic to settle (11 s of 84 s, loaded); no timer cycle runs in between either
    await polling_off(hass, entry)
    network = entry.runtime_data.coordinator.network
    hass.states.async_set(OUTDOOR, str(network.design.outdoor_c), {"unit_of_measurement": "°C"})
    coordinator = entry.runtime_data.coordinator
    field = GatewayField(hass, network, tmp_path, list(coordinator.inlets), substation_meter=True)
    try:
        await field.async_start()
        options = dict(entry.options) | {"substation_heat_gateway_device": SUBSTATION_METER}
        hass.config_entries.async_update_entry(entry, options=options)
        await field.async_map(entry)  # one reload for the option and the mapping
        coordinator = entry.runtime_data.coordinator
        field.start_polling()
        await field.async_fresh(coordinator, 0.0)
        await polling_off(hass, entry)
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        truth_kw = field.sim.state().heat_w / 1000.0
        heat = hass.states.get(HEAT)
        assert "estimated" not in heat.attributes
        assert float(heat.state) == pytest.approx(truth_kw, rel=0.02)
        assert coordinator.data.network_heat().metered
        loop = coordinator.memory.loop
        assert loop is not None
        assert loop.config.station_heat
        assert coordinator.memory.load_source == f"substation:gateway:{SUBSTATION_METER}"
    finally:
        field.gateway.kill()
        await hass.config_entries.async_unload(entry.entry_id)
        await field.async_stop()
