"""The ``supply_low_for_flow`` network alarm in Home Assistant (§4.1.1, §8.2.3, §8.2.4,
§5.3.8-3; issue 9 item 6, 22g).

estate12's simulated plant has no heating curve: its supply stays at the design 60 °C. With
the outdoor sensor at −12 °C (3 K below design) that supply still heats the rooms, but only
with ≈1.7× the set flow: the flow band and the return band contradict. After the loop's
window (``supply_low.WINDOW`` cycles) the operator gets one network alarm naming the supply
the set flow needs and the flow the return setpoint needs, in HA's language; not
``supply_too_cold``. On the design day (−9 °C) none over as many cycles.
"""

from __future__ import annotations

import pytest
from homeassistant.core import Event, HomeAssistant

from custom_components.heatbalance.engine.alarms import NETWORK
from custom_components.heatbalance.engine.supply_low import WINDOW

from .conftest import cycles_at_outdoor, raised_alarms

CYCLES = WINDOW + 3  # the window, alarm_cycles 2 to raise it, and one more
LOW = "supply_low_for_flow"


async def test_a_supply_low_for_the_flow_band_is_one_network_alarm(
    hass: HomeAssistant, alarms: list[Event]
) -> None:
    await cycles_at_outdoor(hass, -12.0, CYCLES)
    raised = raised_alarms(alarms, LOW)
    assert len(raised) == 1, raised
    alarm = raised[0]
    assert alarm["location"] == NETWORK
    assert (alarm["alarm_type"], alarm["grade"]) == ("deviation", "warning")
    assert 63.0 < float(alarm["needed"]) < 65.0
    assert 150 <= int(alarm["flow"]) <= 190
    assert float(alarm["value"]) == pytest.approx(60.0, abs=1.5)
    text = alarm["description"]
    assert f"the supply at {alarm['value']} °C heats the rooms at -12.0 °C outdoors" in text
    assert f"need a supply of {alarm['needed']} °C" in text
    assert f"needs {alarm['flow']} % of the set flow" in text
    assert "cannot both be held" in text
    assert not raised_alarms(alarms, "supply_too_cold")


async def test_on_the_design_day_the_bands_agree(hass: HomeAssistant, alarms: list[Event]) -> None:
    await cycles_at_outdoor(hass, -9.0, CYCLES)
    assert not [e for e in alarms if e.data["reason"] == LOW]
