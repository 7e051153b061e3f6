"""Swapped supply/return sensors on a real plant (HA entity sources): the integration raises
the engine's plausibility alarm (§5.3.8-2, engine/plausibility.py) naming the inlet, in the
operator's language (that its temperatures stay out of regulation is the engine's test,
tests/engine/test_loop_plausibility.py)."""

from __future__ import annotations

from homeassistant.core import Event, HomeAssistant, callback

from custom_components.heatbalance.const import EVENT_ALARM

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


DEAD_FROM = 4  # the victim's flow sensor reads 0 from this cycle


class DeadMeterField(EntityField):
    """The field with one building's flow sensor reading 0 from cycle ``DEAD_FROM`` on, while
    its water flows (its temperature sensors still read the plant)."""

    published = 0

    def publish(self, hass: HomeAssistant) -> None:
        super().publish(hass)
        self.published += 1
        if self.published > DEAD_FROM:  # install publishes twice before the first cycle
            flow = self.entity(VICTIM, "flow")
            hass.states.async_set(flow, "0.0", hass.states.get(flow).attributes)


async def test_a_dead_flow_meter_is_a_meter_fault_in_home_assistant(
    hass: HomeAssistant,
) -> None:
    """A flow sensor entity that reads 0 while the building's temperatures say its water
    flows: HA paged a `flow_low` emergency (min flow 50 %, §5.3.8-1) and alarmed a blockage.
    It is the meter's equipment fault, naming the inlet (§5.3.7, engine/plausibility.py),
    and no emergency is raised."""
    events: list[Event] = []

    @callback
    def record(event: Event) -> None:
        events.append(event)

    hass.bus.async_listen(EVENT_ALARM, record)
    entry = await add_network(hass, "estate12")
    field = DeadMeterField(entry)
    await field.install(hass, entry)
    coordinator = entry.runtime_data.coordinator
    await run_cycles(hass, entry, field, DEAD_FROM + 4)
    dead = [a for a in coordinator.alarms.active.values() if a.reason == "flow_meter_dead"]
    assert [(a.type, a.location) for a in dead] == [("equipment_fault", VICTIM)]
    assert "flow meter reads no flow" in coordinator.events.describe(dead[0])
    raised = {
        (e.data["reason"], e.data["location"]) for e in events if e.data["status"] == "raised"
    }
    assert ("flow_low", VICTIM) not in raised, raised
    assert not [r for r in raised if r[0] == "equipment_fault"], raised
    assert hass.states.get(f"binary_sensor.{VICTIM.lower()}_alarm").state == "on"
