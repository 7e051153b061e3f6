"""The audit log in the logbook (§5.3.6-7): recorded with the user, queryable by time."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockModule, mock_integration
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.heatbalance.const import DOMAIN

from .conftest import add_network


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: None, enable_custom_integrations: None
) -> Generator[None]:
    """The recorder must be set up before ``hass`` (a harness rule)."""
    return


async def test_audit_log_in_the_logbook(
    hass: HomeAssistant, hass_admin_user: User, hass_ws_client
) -> None:
    """Who switched what, when: queryable in the logbook like any HA history (§5.3.6-7)."""
    # the logbook's panel needs the frontend package, which the test venvs do not ship
    mock_integration(hass, MockModule("frontend"))
    assert await async_setup_component(hass, "logbook", {})
    entry = await add_network(hass)
    start = dt_util.utcnow()
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.estate12_algorithm", "option": "ai"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.services.async_call(
        DOMAIN,
        "acknowledge_alarm",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
            "end_time": dt_util.utcnow().isoformat(),
        }
    )
    response = await client.receive_json()
    assert response["success"]
    ours = [e for e in response["result"] if e.get("name") == "heatbalance"]
    messages = [e["message"] for e in ours]
    assert "estate12: set_algorithm (old=traditional, new=ai)" in messages
    assert any(m.startswith("estate12: acknowledge_alarms") for m in messages)
    assert {e["context_user_id"] for e in ours} == {hass_admin_user.id}
    algorithm = next(e for e in ours if "set_algorithm" in e["message"])
    assert algorithm["entity_id"] == "select.estate12_algorithm"
