"""Swapped supply/return sensors on a real plant (HA entity sources): the integration raises
the engine's plausibility alarm (§5.3.8-2, engine/plausibility.py) naming the inlet, in the
operator's language (that its temperatures stay out of regulation is the engine's test,
tests/engine/test_loop_plausibility.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .conftest import add_network
from .test_sources_regulate import EntityField, run_cycles

VICTIM = "B003"


class SwappedField(EntityField):
    """The field with one building's supply and return sensors wired the wrong way round."""

    def publish(self, hass: HomeAssistant) -> None:
        super().publish(hass)
        supply, ret = self.entity(VICTIM, "supply"), self.entity(VICTIM, "return")
        s, r = hass.states.get(supply), hass.states.get(ret)
        hass.states.async_set(supply, r.state, r.attributes)
        hass.states.async_set(ret, s.state, s.attributes)


async def test_swapped_sensors_are_an_alarm_in_home_assistant(hass: HomeAssistant) -> None:
    hass.config.language = "zh-Hans"
    entry = await add_network(hass, "estate12")
    field = SwappedField(entry)
    await field.install(hass, entry)
    coordinator = entry.runtime_data.coordinator
    await run_cycles(hass, entry, field, 4)
    swapped = [a for a in coordinator.alarms.active.values() if a.reason == "sensors_swapped"]
    assert [(a.type, a.location) for a in swapped] == [("equipment_fault", VICTIM)]
    assert "供回水温度传感器接反或故障" in coordinator.events.describe(swapped[0])
    assert hass.states.get(f"binary_sensor.{VICTIM.lower()}_alarm").state == "on"
