"""The ``supply_too_cold`` network alarm in Home Assistant (§4.1.1, §8.2.4-4, §5.3.8-3).

estate12's simulated plant has no heating curve: its supply stays at the design 60 °C.
With the outdoor sensor at −19 °C (10 K below design) no flow can heat the rooms (they need
a supply of ≈62 °C, ``setpoints.supply_needed``): the operator gets one network alarm that
names the cause and the supply needed, in HA's language. On the design day (−9 °C) none.
"""

from __future__ import annotations

import pytest
from homeassistant.core import Event, HomeAssistant

from custom_components.heatbalance.engine.alarms import NETWORK

from .conftest import add_network, cycles

CYCLES = 4  # alarm_cycles 2 to raise it, and as many more


def _cold(events: list[Event]) -> list[dict]:
    return [
        e.data
        for e in events
        if e.data["reason"] == "supply_too_cold" and e.data["status"] == "raised"
    ]


async def _run(hass: HomeAssistant, outdoor_c: float) -> None:
    hass.states.async_set("sensor.outdoor", str(outdoor_c), {"unit_of_measurement": "°C"})
    options = {"outdoor_entity": "sensor.outdoor", "alarm_cycles": 2}
    entry = await add_network(hass, options=options)
    await cycles(hass, entry, CYCLES)
    assert entry.runtime_data.coordinator.last_update_success


async def test_a_supply_too_cold_for_the_load_is_one_network_alarm(
    hass: HomeAssistant, alarms: list[Event]
) -> None:
    await _run(hass, -19.0)
    raised = _cold(alarms)
    assert len(raised) == 1, raised
    alarm = raised[0]
    assert alarm["location"] == NETWORK
    assert (alarm["alarm_type"], alarm["grade"]) == ("deviation", "warning")
    assert 61.0 < float(alarm["needed"]) < 64.0
    assert float(alarm["value"]) == pytest.approx(60.0, abs=1.5)
    text = alarm["description"]
    assert f"the supply at {alarm['value']} °C is too cold for the load at -19.0 °C" in text
    assert f"a supply of at least {alarm['needed']} °C" in text
    assert "cannot be reached by any valve or pump" in text


async def test_on_the_design_day_the_fixed_supply_raises_none(
    hass: HomeAssistant, alarms: list[Event]
) -> None:
    await _run(hass, -9.0)
    assert not [e for e in alarms if e.data["reason"] == "supply_too_cold"]
