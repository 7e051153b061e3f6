"""The substation pump of a real plant (issue 10): its drive mapped, commanded within the
operator's limits (§5.3.6-3), its speed read back and the model run at it.

The field of test_sources_regulate stands for the real plant; its pump follows the drive the
integration commands: an ``input_number`` (HA entity source) or a ``vfd`` device on the gateway
(commands on HA's MQTT, answered as the add-on answers). The AI controller at the advanced
level sets the pump (§5.3.6: the lowest speed that serves every inlet).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.networks import builtin_path
from custom_components.heatbalance.requirements import missing_signals
from custom_components.heatbalance.settings import InletConfig, Settings

from .conftest import add_network, polling_off
from .test_sources_regulate import ROOT, EntityField, GatewayField, run_cycles

DRIVE = "input_number.field_pump"
FEEDBACK = "sensor.field_pump_speed"
LIMITS = {"min_pump_speed": 40, "max_pump_speed": 95, "max_pump_step": 10}
OPTIONS = {"algorithm": "ai", "level": "advanced"} | LIMITS
SLIP = 0.98  # the field's pump reaches 98 % of the speed set: feedback ≠ command


@pytest.fixture
def expected_lingering_timers() -> bool:
    """mqtt_mock leaves HA's MQTT timers running (FACTS.md)."""
    return True


def _pump_sensor(hass: HomeAssistant) -> Any:
    (state,) = [
        s
        for s in hass.states.async_all("sensor")
        if s.entity_id.endswith("pump_speed") and s.entity_id != FEEDBACK
    ]
    return state


class PumpEntityField(EntityField):
    """The field with its pump behind a drive entity (and, optionally, its feedback)."""

    def __init__(self, entry: ConfigEntry, feedback: bool) -> None:
        super().__init__(entry)
        self.feedback = feedback
        self.drive: list[float] = []  # the drive's value after each cycle (%)

    async def setup_drive(self, hass: HomeAssistant) -> None:
        """The valves' and the drive's input numbers (one input_number setup for both)."""
        numbers = {
            f"field_{iid.lower()}_valve": {"min": 0, "max": 100, "step": 0.01, "initial": 100}
            for iid in self.inlets
        }
        speed = self.sim.pump_speed * 100.0
        numbers["field_pump"] = {"min": 0, "max": 100, "step": 0.1, "initial": speed}
        assert await async_setup_component(hass, "input_number", {"input_number": numbers})

    def publish(self, hass: HomeAssistant) -> None:
        super().publish(hass)
        if self.feedback:
            speed = f"{self.sim.pump_speed * 100.0:.2f}"
            hass.states.async_set(FEEDBACK, speed, {"unit_of_measurement": "%"})

    def follow(self, hass: HomeAssistant) -> None:
        super().follow(hass)
        self.drive.append(float(hass.states.get(DRIVE).state))
        self.sim.set_pump_speed(self.drive[-1] / 100.0 * SLIP)


async def _entity_plant(hass: HomeAssistant, feedback: bool) -> tuple[ConfigEntry, Any]:
    """estate12 on HA entities, its pump's drive mapped in the options."""
    entry = await add_network(hass, "estate12")
    field = PumpEntityField(entry, feedback)
    await field.setup_drive(hass)
    pump = {"pump_speed_entity": DRIVE} | ({"pump_feedback_entity": FEEDBACK} if feedback else {})
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | OPTIONS | pump)
    await hass.async_block_till_done()
    field.publish(hass)
    await field.install(hass, entry)
    return entry, field


async def _cycles(
    hass: HomeAssistant, entry: ConfigEntry, field: Any, n: int
) -> tuple[list[float], list[float]]:
    """``n`` cycles against the field: per cycle the pump speed the integration took, and
    the field pump's true speed when it read it."""
    pairs = await run_cycles(
        hass, entry, field, n, lambda c: (c.data.pump_speed, field.sim.pump_speed)
    )
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _within_limits(commands: list[float], read_back: list[float]) -> None:
    """Every command (%) inside the operator's range and at most one step from the speed
    the integration read back that cycle (§5.3.6-3)."""
    for value, speed in zip(commands, read_back, strict=True):
        assert LIMITS["min_pump_speed"] - 0.05 <= value <= LIMITS["max_pump_speed"] + 0.05
        assert abs(value - speed * 100.0) <= LIMITS["max_pump_step"] + 0.05, (commands, read_back)


async def test_pump_drive_entity_is_commanded_within_limits_and_read_back(
    hass: HomeAssistant,
) -> None:
    """The AI controller's pump speed reaches the drive entity, never outside the operator's
    40…95 % nor more than 10 % a cycle from the speed read back; the model runs at the
    feedback, and the pump-speed sensor says it is measured."""
    entry, field = await _entity_plant(hass, feedback=True)
    start = field.sim.pump_speed * 100.0
    model, real = await _cycles(hass, entry, field, 5)
    assert field.drive[-1] != pytest.approx(start, abs=0.5)  # the real pump moved
    _within_limits(field.drive, model)
    # each cycle's speed is what the feedback said: the field's true speed, not the command
    assert model == pytest.approx(real, abs=1e-3)
    assert _pump_sensor(hass).attributes["estimated"] is False
    coordinator = entry.runtime_data.coordinator
    assert not coordinator.plant.simulated
    assert "pump_speed" not in missing_signals(
        coordinator.network, coordinator.settings, coordinator.inlets
    ).get("network", [])


async def test_pump_without_feedback_is_assumed_at_its_command(hass: HomeAssistant) -> None:
    """No feedback mapped: the model assumes the drive's set value, flagged estimated."""
    entry, field = await _entity_plant(hass, feedback=False)
    model, _real = await _cycles(hass, entry, field, 3)
    assert model[1:] == pytest.approx([d / 100.0 for d in field.drive[:-1]], abs=1e-3)
    assert _pump_sensor(hass).attributes["estimated"] is True


async def test_pump_below_its_command_is_alarmed(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The field's drive runs at 90 % of the speed set (a worn pump, a drive limit): its
    feedback stays off the command beyond the 2 % follow tolerance, and after two cycles the
    network has the named alarm (§5.3.8-4, plausibility.py); at 98 % (SLIP) it has none."""
    entry, field = await _entity_plant(hass, feedback=True)
    coordinator = entry.runtime_data.coordinator
    await _cycles(hass, entry, field, 3)
    assert not [a for a in coordinator.alarms.active.values() if a.reason == "pump_not_following"]
    monkeypatch.setattr(f"{__name__}.SLIP", 0.9)
    await _cycles(hass, entry, field, 3)
    (alarm,) = [a for a in coordinator.alarms.active.values() if a.reason == "pump_not_following"]
    assert (alarm.type, alarm.location) == ("equipment_fault", "network")
    assert "pump not following its speed command" in coordinator.events.describe(alarm)


class PumpGatewayField(GatewayField):
    """The field on the gateway, its pump's drive a ``vfd`` device of the same gateway."""

    DEVICE = "pump-vfd"

    def __init__(self, entry: ConfigEntry, mqtt_mock: Any) -> None:
        super().__init__(entry, mqtt_mock)
        self.commands: list[dict[str, Any]] = []
        self.cycle = -1  # the cycle whose commands follow() applies

    async def publish(self, hass: HomeAssistant) -> None:
        await super().publish(hass)
        self.seq += 1
        drive = {
            "seq": self.seq,
            "msg_id": f"s1:{self.seq}",
            "ts": dt_util.utcnow().timestamp(),
            "device": self.DEVICE,
            "values": {"speed_feedback": self.sim.pump_speed * 100.0},
        }
        payload = {"gateway": "gw1", "stream": "s1", "floor": 0, "readings": [drive]}
        async_fire_mqtt_message(hass, f"{ROOT}/data", json.dumps(payload))
        await hass.async_block_till_done()

    async def follow(self, hass: HomeAssistant) -> None:
        self.cycle += 1
        await super().follow(hass)

    def apply(self, command: dict[str, Any]) -> None:
        """The drive takes its speed set point (reaching 98 % of it); valves as before."""
        if command["device"] != self.DEVICE:
            super().apply(command)
            return
        self.commands.append(command | {"cycle": self.cycle})
        assert command["point"] == "speed_setpoint"
        self.sim.set_pump_speed(command["value"] / 100.0 * SLIP)


async def test_pump_drive_on_the_gateway(hass: HomeAssistant, mqtt_mock: Any) -> None:
    """A ``vfd`` device on the gateway: speed set points go out on the gateway's command
    topic within the limits, and its speed feedback is the model's pump speed."""
    entry = await add_network(hass, "estate12")
    field = PumpGatewayField(entry, mqtt_mock)
    options = dict(entry.options) | OPTIONS | {"pump_gateway_device": PumpGatewayField.DEVICE}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()
    await field.install(hass, entry)
    model, real = await _cycles(hass, entry, field, 4)
    assert field.commands  # the pump was commanded through the gateway
    _within_limits(
        [c["value"] for c in field.commands], [model[c["cycle"]] for c in field.commands]
    )
    assert model == pytest.approx(real, abs=1e-3)
    assert _pump_sensor(hass).attributes["estimated"] is False


def test_data_check_asks_for_the_pump_drive() -> None:
    """On a real plant the AI controller at the advanced level plans the pump: without a
    mapped drive the data check names it (PI, or a lower level, does not need it)."""
    path = builtin_path("estate12")
    assert path is not None
    network = load_network(path)
    real = {"B001": InletConfig("s1", "B001", source="entities")}
    advanced = {"level": "advanced", "algorithm": "ai", "outdoor_entity": "sensor.out"}
    missing = missing_signals(network, Settings.from_options(advanced), real)
    assert "pump_speed" in missing["network"]
    mapped = advanced | {"pump_speed_entity": "number.drive"}
    assert "pump_speed" not in missing_signals(network, Settings.from_options(mapped), real).get(
        "network", []
    )
    for other in ({"algorithm": "traditional"}, {"level": "intermediate"}):
        settings = Settings.from_options(advanced | other)
        assert "pump_speed" not in missing_signals(network, settings, real).get("network", [])
    simulated = {"B001": InletConfig("s1", "B001")}
    assert "network" not in missing_signals(network, Settings.from_options(advanced), simulated)


async def test_pump_section_of_the_options(hass: HomeAssistant) -> None:
    """The options form's pump section: limits checked, one drive, stored, and the limits
    reach the engine's safety limits (§5.3.6-3)."""
    from custom_components.heatbalance.cycle import limits_of

    entry = await add_network(hass, "estate12")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    pump = {"pump_speed_entity": DRIVE, "min_pump_speed": 60, "max_pump_speed": 50}
    form = {name: {} for name in ("control", "timing", "safety", "alarms")}  # defaults
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form | {"pump": pump | {"max_pump_step": 10}}
    )
    assert result["errors"] == {"pump": "pump_limits"}
    both = pump | {"max_pump_speed": 90, "max_pump_step": 10, "pump_gateway_device": "vfd-1"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form | {"pump": both}
    )
    assert result["errors"] == {"pump": "pump_two_sources"}
    both.pop("pump_gateway_device")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form | {"pump": both}
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    settings = entry.runtime_data.coordinator.settings
    assert (settings.pump_speed_entity, settings.pump_gateway_device) == (DRIVE, None)
    limits = limits_of(settings)
    assert (limits.min_pump_speed, limits.max_pump_speed, limits.max_pump_step) == (0.6, 0.9, 0.1)


async def test_a_pump_write_that_fails_is_told_to_the_controller(hass: HomeAssistant) -> None:
    """The drive entity is unavailable when the controller first sets the speed (full speed
    → the operator's 95 %): nothing is written, and the controller does not take the pump as
    changed (§5.3.6-3). Before, it took its own command as run: estimates carried by a 5 %
    pump change that never happened, and the next step limited from a speed never run."""
    from homeassistant.const import STATE_UNAVAILABLE

    entry, _field = await _entity_plant(hass, feedback=False)
    await polling_off(hass, entry)  # the cycle below is the one that meets the unavailable drive
    coordinator = entry.runtime_data.coordinator
    drive = hass.states.get(DRIVE)
    hass.states.async_set(DRIVE, STATE_UNAVAILABLE, drive.attributes)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.plant.pump_failed  # a speed was sent this cycle and not taken
    controller = coordinator.memory.loop.controller
    assert (controller.last_speed, controller.pump_jump) == (None, 0.0)
