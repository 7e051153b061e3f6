"""The automation blueprints load with HA's blueprint machinery and do what they say."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component

from .conftest import add_network, cycles

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
        {"network": entry.entry_id, "notify_action": "notify.mobile_app_operator_phone"} | inputs,
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


async def test_alarm_blueprint_notifies_and_acknowledges(
    hass: HomeAssistant, config_dir: Path, demo: ConfigEntry
) -> None:
    """An actionable phone notification per alarm; its button acknowledges the alarm."""
    pushes = await _alarm_automation(hass, demo, emergency_only=True)
    hass.config_entries.async_update_entry(
        demo, options=dict(demo.options) | {"max_supply_temperature": 50, "min_flow": 0}
    )
    await hass.async_block_till_done()
    # not cycles(): block_till_done would wait for the runs that wait for the operator
    await demo.runtime_data.coordinator.async_refresh()
    await _settle()
    assert len(pushes) == 12  # one per inlet, all emergencies
    push = pushes[0]
    assert push["title"] == "estate12 · emergency · safety_threshold"
    assert "above 50.0 °C" in push["message"]
    action = push["data"]["actions"][0]["action"]
    assert action.startswith("HEATBALANCE_ACK_")
    location = push["data"]["tag"].rsplit("-", 1)[1]
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await _settle()
    book = demo.runtime_data.coordinator.alarms
    assert {a.location for a in book.active.values() if a.acknowledged} == {location}
    for other in pushes[1:]:  # the operator acknowledges the rest; every run ends
        hass.bus.async_fire(
            "mobile_app_notification_action", {"action": other["data"]["actions"][0]["action"]}
        )
    await hass.async_block_till_done()
    assert all(a.acknowledged for a in book.active.values())


async def test_alarm_blueprint_can_skip_warnings(
    hass: HomeAssistant, config_dir: Path, demo: ConfigEntry
) -> None:
    pushes = await _alarm_automation(hass, demo, emergency_only=True)
    hass.config_entries.async_update_entry(
        demo, options=dict(demo.options) | {"min_differential_pressure": 500}
    )
    await hass.async_block_till_done()
    await cycles(hass, demo, 1)
    assert demo.runtime_data.coordinator.alarms.active  # warnings are active…
    assert pushes == []  # …but only emergencies page the phone


async def test_alarm_blueprint_clears_the_phone_when_the_alarm_clears(
    hass: HomeAssistant, config_dir: Path, demo: ConfigEntry
) -> None:
    """An alarm that ends before anyone acknowledges it leaves no stale notification."""
    pushes = await _alarm_automation(hass, demo)
    normal = dict(demo.options)
    coordinator = demo.runtime_data.coordinator
    hass.config_entries.async_update_entry(
        demo, options=normal | {"max_supply_temperature": 50, "min_flow": 0}
    )
    await hass.async_block_till_done()
    await coordinator.async_refresh()
    await _settle()
    raised = [p for p in pushes if p["message"] != "clear_notification"]
    assert raised
    assert all("safety_threshold" in p["title"] for p in raised)
    hass.config_entries.async_update_entry(demo, options=normal | {"min_flow": 0})
    await _settle()  # not block_till_done: the runs still wait, until the alarms clear
    await coordinator.async_refresh()
    await hass.async_block_till_done()  # every run ends: its alarm cleared
    cleared = [p for p in pushes if p["message"] == "clear_notification"]
    assert sorted(p["data"]["tag"] for p in cleared) == sorted(p["data"]["tag"] for p in raised)
    assert not any(a.acknowledged for a in coordinator.alarms.active.values())
