"""The automation blueprints load with HA's blueprint machinery and do what they say."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from .conftest import add_network, cycles, polling_off

BLUEPRINTS = Path(__file__).parents[2] / "blueprints/automation/heatbalance"


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config directory holding our blueprints, as ``scripts/develop`` links them."""
    target = tmp_path / "blueprints/automation/heatbalance"
    shutil.copytree(BLUEPRINTS, target)
    hass.config.config_dir = str(tmp_path)
    return tmp_path


async def _automation(hass: HomeAssistant, path: str, inputs: dict) -> None:
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "id": "hb",
                    "alias": "hb",
                    "use_blueprint": {"path": f"heatbalance/{path}", "input": inputs},
                }
            ]
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get("automation.hb").state == "on"


async def _alarm_automation(
    hass: HomeAssistant, entry: ConfigEntry, **inputs: object
) -> list[dict]:
    """The alarm blueprint paging a phone; returns the list its pushes land in.

    The phone's notify action (``notify.mobile_app_<phone>``) is played by a recording
    service: the mobile_app integration cannot load in the test environments (it needs
    PyNaCl and the voice pipeline's packages), and the push channel is outside HA anyway.
    """
    pushes: list[dict] = []

    async def phone(call: ServiceCall) -> None:
        pushes.append(dict(call.data))

    hass.services.async_register("notify", "mobile_app_operator_phone", phone)
    await _automation(
        hass,
        "alarm_notification.yaml",
        {
            "network": entry.entry_id,
            "alarm_entity": "binary_sensor.estate12_alarm",
            "notify_action": "notify.mobile_app_operator_phone",
        }
        | inputs,
    )
    return pushes


async def _settle() -> None:
    """Let the automation runs reach their wait (``async_block_till_done`` would wait them out)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_not_balanced_blueprint(
    hass: HomeAssistant, config_dir: Path, hass_ws_client
) -> None:
    assert await async_setup_component(hass, "persistent_notification", {})
    entry = await add_network(hass, options={"max_opening": 20, "cycle_minutes": 60})
    await _automation(
        hass,
        "not_balanced_notification.yaml",
        {"inspection_sensor": "binary_sensor.estate12_inspection_needed"},
    )
    await cycles(hass, entry, 26)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "persistent_notification/get"})
    notes = (await client.receive_json())["result"]
    assert len(notes) == 1
    assert notes[0]["title"] == "estate12 Inspection needed"
    assert "without reaching balance" in notes[0]["message"]


async def _set(hass: HomeAssistant, entry: ConfigEntry, **options: object) -> None:
    """Change options and run one cycle, without waiting for the automation's run to end.
    No timer cycle in between (see ``polling_off``)."""
    await polling_off(hass, entry)
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await _settle()
    await entry.runtime_data.coordinator.async_refresh()
    await _settle()


async def _until_no_alarm(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Cycles until the plant settled back and no alarm is active (deviations clear as the
    network balances again)."""
    for _ in range(30):
        await _set(hass, entry)
        if hass.states.get("binary_sensor.estate12_alarm").state == "off":
            return
    raise AssertionError(entry.runtime_data.coordinator.alarms.active)


async def test_alarm_blueprint_one_message_per_episode(
    hass: HomeAssistant, config_dir: Path, demo: ConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Issue 13: many alarms over many cycles make one message; an escalation to an
    emergency updates it (same tag); the end of the episode replaces it with an all-clear."""
    pushes = await _alarm_automation(hass, demo, hold_minutes=5)
    normal = dict(demo.options)
    coordinator = demo.runtime_data.coordinator
    dps = sorted(r.reading.dp_available_kpa for r in coordinator.data.inlets.values())
    # a ΔP threshold between the inlets' own values: warnings at some inlets first …
    await _set(hass, demo, min_differential_pressure=(dps[2] + dps[3]) / 2)
    at_start = len(coordinator.alarms.active)
    assert 0 < at_start < len(dps)
    await _set(hass, demo, min_differential_pressure=500)  # … then at every inlet
    for _ in range(3):
        await _set(hass, demo)
    assert len(coordinator.alarms.active) > at_start  # more alarms joined the episode…
    assert len(pushes) == 1  # …without a new message
    first = pushes[0]
    assert first["title"].startswith("报警 Alarm · estate12")
    assert first["title"].endswith(f"· {at_start}")
    assert first["data"]["tag"] == f"heatbalance-{demo.entry_id}"
    await _set(hass, demo, max_supply_temperature=50, min_flow=0)  # emergencies now
    await _set(hass, demo)
    assert len(pushes) == 2
    assert pushes[1]["title"].startswith("紧急报警 Emergency · estate12")
    assert "above 50.0 °C" in pushes[1]["message"]
    assert pushes[1]["data"]["tag"] == first["data"]["tag"]
    hass.config_entries.async_update_entry(demo, options=normal)
    await _until_no_alarm(hass, demo)
    assert len(pushes) == 2  # the hold time has not passed: the episode may go on
    freezer.tick(timedelta(minutes=6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(pushes) == 3
    assert pushes[2]["message"] == "报警已全部解除 All alarms cleared"
    assert pushes[2]["data"]["tag"] == first["data"]["tag"]


async def test_alarm_blueprint_acknowledges_from_the_phone(
    hass: HomeAssistant, config_dir: Path, demo: ConfigEntry
) -> None:
    """The message's button acknowledges every alarm of the network."""
    pushes = await _alarm_automation(hass, demo, hold_minutes=0)
    normal = dict(demo.options)
    await _set(hass, demo, max_supply_temperature=50, min_flow=0)
    assert len(pushes) == 1
    assert pushes[0]["title"].startswith("紧急报警 Emergency")
    action = pushes[0]["data"]["actions"][0]["action"]
    assert action.startswith("HEATBALANCE_ACK_")
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await _settle()
    book = demo.runtime_data.coordinator.alarms
    assert book.active
    assert all(a.acknowledged for a in book.active.values())
    hass.config_entries.async_update_entry(demo, options=normal)
    await _until_no_alarm(hass, demo)
    await hass.async_block_till_done()
    assert pushes[-1]["message"] == "报警已全部解除 All alarms cleared"


async def test_alarm_blueprint_can_skip_warnings(
    hass: HomeAssistant, config_dir: Path, demo: ConfigEntry
) -> None:
    pushes = await _alarm_automation(hass, demo, emergency_only=True)
    await _set(hass, demo, min_differential_pressure=500)
    assert demo.runtime_data.coordinator.alarms.active  # warnings are active…
    assert pushes == []  # …but only emergencies page the phone
    await _set(hass, demo, max_supply_temperature=50, min_flow=0)
    assert len(pushes) == 1  # an emergency joins: now the episode pages
    assert pushes[0]["title"].startswith("紧急报警 Emergency")
