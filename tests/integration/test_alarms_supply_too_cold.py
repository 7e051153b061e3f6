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

from .conftest import cycles_at_outdoor, raised_alarms

CYCLES = 4  # alarm_cycles 2 to raise it, and as many more


async def test_a_supply_too_cold_for_the_load_is_one_network_alarm(
    hass: HomeAssistant, alarms: list[Event]
) -> None:
    await cycles_at_outdoor(hass, -19.0, CYCLES)
    raised = raised_alarms(alarms, "supply_too_cold")
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
    await cycles_at_outdoor(hass, -9.0, CYCLES)
    assert not [e for e in alarms if e.data["reason"] == "supply_too_cold"]
