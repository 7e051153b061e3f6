"""The entry's budget of enabled entities: HA 2026's limit (10,000), kept on HA 2025 too.

Over HA 2026's limit HA aborts every further entity with one warning: gen23k (12,310
entities) lost whichever platform's came last. The network keeps all its own entities; inlet
entities give way in ``entity_budget``'s order, registered disabled, and a repair says how
many. HA 2025 has no limit: the integration's own budget gives the same set there (gen23k
enabled 13,894 entities on HA 2025 and 10,000 on HA 2026 before). The limit or the budget is
patched down to estate12's size (a 23k network takes minutes to build).
"""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_platform
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from custom_components.heatbalance import (
    binary_sensor,
    button,
    entity_budget,
    event,
    number,
    select,
    sensor,
)
from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.entity_budget import (
    ENTITY_BUDGET,
    MAIN_KEYS,
    Candidate,
    budget,
    left_disabled,
)

from .conftest import add_network

LIMIT = 200
ENABLED = 227  # estate12's enabled entities, 35 of them the network's (21h: pump set speed)
DISABLED_BY_DESIGN = ("_mean_temperature", "_differential_pressure", "_success_rate")
NETWORK_KEYS = {
    d.key
    for d in (
        *sensor.NETWORK_SENSORS,
        *binary_sensor.NETWORK_ALARMS,
        binary_sensor.BALANCED,
        *select.SELECTS,
        *number.THRESHOLDS,
        button.BALANCE_NOW,
        button.CONFIRM,
        button.ACKNOWLEDGE,
        event.ALARM,
    )
}


def _check(hass: HomeAssistant, entry_id: str) -> int:
    """Assert what an operator expects over the limit; the repair's count."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    network = {e.unique_id for e in entries if e.config_subentry_id is None}
    assert network == {f"{entry_id}_{key}" for key in NETWORK_KEYS}  # all of the network's
    enabled = [e for e in entries if e.disabled_by is None]
    assert len(enabled) == LIMIT  # filled up to the limit, not beyond
    inlets = [e for e in entries if e.config_subentry_id is not None]
    main = [e for e in inlets if any(e.unique_id.endswith(f"_{k}") for k in MAIN_KEYS)]
    assert main
    assert all(e.disabled_by is None for e in main)  # only secondary ones gave way
    left = [
        e
        for e in inlets
        if e.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        and not e.unique_id.endswith(DISABLED_BY_DESIGN)
    ]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry_id}_entities_left_disabled")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["count"] == str(len(left))
    assert issue.translation_placeholders["limit"] == str(LIMIT)
    return len(left)


async def test_over_the_limit_the_network_keeps_its_entities_and_a_repair_counts_the_rest(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        entity_platform, "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", LIMIT, raising=False
    )
    entry = await add_network(hass, "estate12")
    assert _check(hass, entry.entry_id) == ENABLED - LIMIT
    assert await hass.config_entries.async_reload(entry.entry_id)  # a restart keeps both
    await hass.async_block_till_done()
    assert _check(hass, entry.entry_id) == ENABLED - LIMIT
    # Already over the limit (registered under HA 2025, or enabled by an operator), a
    # network entity new to the install is registered disabled, where HA would drop it.
    registry = er.async_get(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    balanced = f"{entry.entry_id}_balanced"
    registry.async_remove(registry.async_get_entity_id("binary_sensor", DOMAIN, balanced) or "")
    registry.deleted_entities.pop(("binary_sensor", DOMAIN, balanced))  # forgotten: new
    monkeypatch.setattr(entity_platform, "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", LIMIT - 10)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    new = registry.async_get_entity_id("binary_sensor", DOMAIN, balanced)
    assert new is not None
    assert registry.async_get(new).disabled_by is er.RegistryEntryDisabler.INTEGRATION  # type: ignore[union-attr]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_entities_left_disabled")
    assert issue is not None
    assert issue.translation_placeholders == {
        "network": entry.title,
        "count": str(ENABLED - LIMIT + 1),
        "limit": str(LIMIT - 10),
    }


async def test_the_integrations_budget_holds_whatever_limit_ha_has(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the integration's budget is lowered, HA's limit is left as the version has it
    (HA 2025: none): the same entities are enabled and left disabled on both versions."""
    monkeypatch.setattr(entity_budget, "ENTITY_BUDGET", LIMIT, raising=False)
    entry = await add_network(hass, "estate12")
    assert _check(hass, entry.entry_id) == ENABLED - LIMIT
    assert await hass.config_entries.async_reload(entry.entry_id)  # a restart keeps both
    await hass.async_block_till_done()
    assert _check(hass, entry.entry_id) == ENABLED - LIMIT


def test_the_budget_is_the_same_on_both_versions() -> None:
    """HA 2026's limit where HA has one, the same number where it has none (HA 2025)."""
    ha_limit = getattr(entity_platform, "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", None)
    assert budget(ha_limit) == budget(None) == ENTITY_BUDGET == 10_000
    assert budget(ENTITY_BUDGET - 1) == ENTITY_BUDGET - 1  # a lower limit of HA's would win


async def test_under_the_limit_nothing_is_left_disabled(hass: HomeAssistant) -> None:
    entry = await add_network(hass, "estate12")
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_entities_left_disabled")
        is None
    )
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert sum(e.disabled_by is None for e in entries) == ENABLED


def test_secondary_entities_give_way_before_main_ones_and_households_before_buildings() -> None:
    building = [Candidate("flow", False), Candidate("valve_command", False)]
    household = [Candidate("flow", True), Candidate("valve_command", True)]
    candidates = building + household
    assert left_disabled(14, 10, candidates) == set()
    assert left_disabled(13, 10, candidates) == {3}  # a household's set value
    assert left_disabled(12, 10, candidates) == {3, 1}  # then a building's
    assert left_disabled(11, 10, candidates) == {3, 1, 2}  # then a household's reading
    assert left_disabled(10, 10, candidates) == {0, 1, 2, 3}
    assert left_disabled(5, 10, candidates) == {0, 1, 2, 3}  # the registered alone are over
    network = [Candidate("status", False, network=True), Candidate("alarm", False, network=True)]
    assert left_disabled(12, 10, network + candidates) == {2, 3, 4, 5}  # the network's last
    assert left_disabled(11, 10, network + candidates) == {1, 2, 3, 4, 5}  # the later first
