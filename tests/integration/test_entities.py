"""Entity behaviour: selects, numbers, switches, valves, buttons — and who may use them."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError, Unauthorized

from custom_components.heatbalance.const import EVENT_AUDIT

from .conftest import cycles


@pytest.fixture
async def operator(hass: HomeAssistant, hass_owner_user: User) -> User:
    """A non-admin user (created after the owner, so not the owner)."""
    return await hass.auth.async_create_user("Operator", group_ids=["system-users"])


@pytest.fixture
def audit(hass: HomeAssistant) -> list[Event]:
    """Audit events fired during the test."""
    events: list[Event] = []
    hass.bus.async_listen(EVENT_AUDIT, callback(lambda e: events.append(e)))
    return events


async def _entity(
    hass: HomeAssistant, domain: str, service: str, data: dict[str, Any], user: User | None = None
) -> None:
    await hass.services.async_call(
        domain,
        service,
        data,
        blocking=True,
        context=Context(user_id=user.id) if user else None,
    )


async def test_mode_is_an_operator_action(
    hass: HomeAssistant,
    demo: ConfigEntry,
    operator: User,
    hass_read_only_user: User,
    audit: list[Event],
) -> None:
    target = {"entity_id": "select.estate12_regulation_mode"}
    with pytest.raises(Unauthorized):  # HA itself refuses read-only users any control
        await _entity(
            hass, "select", "select_option", target | {"option": "manual"}, hass_read_only_user
        )
    await _entity(hass, "select", "select_option", target | {"option": "manual"}, operator)
    assert hass.states.get("select.estate12_regulation_mode").state == "manual"
    assert demo.options["mode"] == "manual"
    await hass.async_block_till_done()
    assert audit[-1].data["action"] == "set_mode"
    assert audit[-1].data["details"] == {"old": "auto", "new": "manual"}
    assert audit[-1].context.user_id == operator.id


async def test_algorithm_and_target_are_for_admins(
    hass: HomeAssistant,
    demo: ConfigEntry,
    operator: User,
    hass_admin_user: User,
    audit: list[Event],
) -> None:
    algorithm = {"entity_id": "select.estate12_algorithm", "option": "ai"}
    with pytest.raises(Unauthorized):
        await _entity(hass, "select", "select_option", algorithm, operator)
    await _entity(hass, "select", "select_option", algorithm, hass_admin_user)
    assert hass.states.get("select.estate12_algorithm").state == "ai"
    target = {"entity_id": "select.estate12_control_target"}
    with pytest.raises(ServiceValidationError) as err:
        await _entity(
            hass,
            "select",
            "select_option",
            target | {"option": "room_temperature"},
            hass_admin_user,
        )
    assert err.value.translation_key == "room_target_needs_advanced"
    await _entity(
        hass, "select", "select_option", target | {"option": "return_temperature"}, hass_admin_user
    )
    assert demo.runtime_data.coordinator.settings.target == "return_temperature"
    await hass.async_block_till_done()
    # the operator's refused attempt is audited too (§5.3.6-7), with who and what
    assert [e.data["action"] for e in audit] == ["refused", "set_algorithm", "set_target"]
    assert audit[0].data["details"]["attempted"] == "set_algorithm"
    assert audit[0].context.user_id == operator.id
    assert all(e.context.user_id == hass_admin_user.id for e in audit[1:])


async def test_threshold_numbers(
    hass: HomeAssistant, demo: ConfigEntry, operator: User, hass_admin_user: User
) -> None:
    entity = {"entity_id": "number.estate12_maximum_valve_opening"}
    with pytest.raises(Unauthorized):
        await _entity(hass, "number", "set_value", entity | {"value": 80}, operator)
    await _entity(hass, "number", "set_value", entity | {"value": 80}, hass_admin_user)
    assert demo.options["max_opening"] == 80
    with pytest.raises(ServiceValidationError) as err:
        await _entity(
            hass,
            "number",
            "set_value",
            {"entity_id": "number.estate12_minimum_valve_opening", "value": 90},
        )
    assert err.value.translation_key == "opening_limits"  # settings.option_errors
    await cycles(hass, demo, 2)
    assert demo.runtime_data.coordinator.simulator.openings.max() <= 0.8 + 1e-9


async def test_inlet_weight_and_offset(hass: HomeAssistant, demo: ConfigEntry) -> None:
    coordinator = demo.runtime_data.coordinator
    await _entity(
        hass, "number", "set_value", {"entity_id": "number.b004_setpoint_offset", "value": 10}
    )
    await _entity(hass, "number", "set_value", {"entity_id": "number.b004_weight", "value": 1.5})
    assert coordinator.inlets["B004"].setpoint_offset == 10
    assert float(hass.states.get("number.b004_weight").state) == 1.5
    await cycles(hass, demo, 1)
    design = coordinator.network.inlets["B004"].design_flow_m3h
    assert float(hass.states.get("sensor.b004_set_flow").state) == pytest.approx(design * 1.5 * 1.1)
    # a tunable change does not reload the entry
    assert demo.runtime_data.coordinator is coordinator


async def test_valve_moves_only_outside_automatic_regulation(
    hass: HomeAssistant, demo: ConfigEntry, operator: User, audit: list[Event]
) -> None:
    valve = {"entity_id": "valve.b003_balancing_valve"}
    with pytest.raises(ServiceValidationError) as err:
        await _entity(hass, "valve", "set_valve_position", valve | {"position": 40})
    assert err.value.translation_key == "valve_in_auto"
    # the inlet's own switch hands it to the operator while the network stays automatic
    await _entity(
        hass, "switch", "turn_off", {"entity_id": "switch.b003_automatic_regulation"}, operator
    )
    assert hass.states.get("switch.b003_automatic_regulation").state == "off"
    await _entity(hass, "valve", "set_valve_position", valve | {"position": 40}, operator)
    state = hass.states.get("valve.b003_balancing_valve")
    assert state.attributes["current_position"] == 40
    assert state.attributes["set_position"] == 40
    # the controller leaves it there
    await cycles(hass, demo, 2)
    assert hass.states.get("valve.b003_balancing_valve").attributes["current_position"] == 40
    # below the safety minimum opening (§5.3.6-3) the valve stops at the minimum
    await _entity(hass, "valve", "close_valve", valve)
    minimum = demo.runtime_data.coordinator.settings.min_opening_pct
    assert hass.states.get("valve.b003_balancing_valve").attributes["current_position"] == minimum
    await _entity(hass, "valve", "open_valve", valve)
    assert hass.states.get("valve.b003_balancing_valve").attributes["current_position"] == 100
    await _entity(hass, "switch", "turn_on", {"entity_id": "switch.b003_automatic_regulation"})
    assert demo.runtime_data.coordinator.inlets["B003"].auto
    await hass.async_block_till_done()
    actions = [e.data["action"] for e in audit]
    assert actions.count("move_valve") == 3
    assert actions.count("set_inlet_auto") == 2


async def test_acknowledge_button(hass: HomeAssistant, demo: ConfigEntry) -> None:
    await _entity(
        hass,
        "number",
        "set_value",
        {"entity_id": "number.estate12_minimum_flow_share_of_set_flow", "value": 100},
    )
    await cycles(hass, demo, 1)
    assert hass.states.get("binary_sensor.estate12_unacknowledged_alarm").state == "on"
    await _entity(hass, "button", "press", {"entity_id": "button.estate12_acknowledge_alarms"})
    assert hass.states.get("binary_sensor.estate12_unacknowledged_alarm").state == "off"
    assert hass.states.get("binary_sensor.estate12_alarm").state == "on"
