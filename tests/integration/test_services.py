"""Actions: what they do, bad input, and graded permissions (§5.1.3, §5.3.2)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.heatbalance.compat import flow_vol as vol
from custom_components.heatbalance.const import DOMAIN, EVENT_AUDIT, LEVELS, TARGETS
from custom_components.heatbalance.cycle import limits_of
from custom_components.heatbalance.engine.evaluation import band
from custom_components.heatbalance.number import THRESHOLDS
from custom_components.heatbalance.settings import (
    ENGINE_TARGETS,
    ORDERED_LIMITS,
    Settings,
    option_errors,
)

from .conftest import add_network, cycles
from .test_balancing import _changed_during_a_running_cycle

INVALID = (ServiceValidationError, vol.Invalid)


@pytest.fixture
async def operator(hass: HomeAssistant, hass_owner_user: User) -> User:
    """A non-admin user: operates the network, changes no parameters.

    (The owner exists first: HA makes the first user created the owner, an admin.)
    """
    return await hass.auth.async_create_user("Operator", group_ids=["system-users"])


async def _call(hass: HomeAssistant, service: str, data: dict, user: User | None = None, **kw):
    context = Context(user_id=user.id) if user else None
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, context=context, **kw
    )


async def test_set_weight(
    hass: HomeAssistant,
    demo: ConfigEntry,
    hass_admin_user: User,
    operator: User,
    hass_read_only_user: User,
) -> None:
    data = {"config_entry_id": demo.entry_id, "inlet": "B012", "weight": 1.3}
    file_weight = demo.runtime_data.coordinator.network.inlets["B012"].weight
    audits = async_capture_events(hass, EVENT_AUDIT)
    for user in (operator, hass_read_only_user):
        with pytest.raises(Unauthorized):
            await _call(hass, "set_weight", data, user)
    await _call(hass, "set_weight", data, hass_admin_user)
    assert float(hass.states.get("number.b012_weight").state) == 1.3
    # audited old → new (§5.3.6-7): the weight in force before, the file's if never set
    changed = next(e.data["details"] for e in audits if e.data["action"] == "set_weight")
    assert (changed["old"], changed["new"]) == (file_weight, 1.3)
    sub = next(s for s in demo.subentries.values() if s.unique_id == "B012")
    assert sub.data["weight"] == 1.3
    # by name works too; the set flow follows from the next cycle
    await cycles(hass, demo, 1)
    set_flow = float(hass.states.get("sensor.b012_set_flow").state)
    design = demo.runtime_data.coordinator.network.inlets["B012"].design_flow_m3h
    assert set_flow == pytest.approx(design * 1.3)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_weight", data | {"inlet": "B099"})
    assert err.value.translation_key == "inlet_not_found"
    with pytest.raises(INVALID):
        await _call(hass, "set_weight", data | {"weight": 5})


async def test_a_weight_set_while_a_cycle_runs_is_shown_when_the_call_returns(
    hass: HomeAssistant,
    demo: ConfigEntry,
    hass_admin_user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """§5.3.6-5: ``set_weight`` called while a cycle runs (the timer's, on a loaded machine:
    ``test_set_weight`` failed once so at load ≈20) returns with the new weight shown, as
    between cycles. Before, an operator's change during a refresh was told only once the
    cycle ended: the call returned with its number still showing the old weight."""
    shown: list[str] = []

    async def set_weight() -> None:
        data = {"config_entry_id": demo.entry_id, "inlet": "B012", "weight": 1.3}
        await _call(hass, "set_weight", data, hass_admin_user)
        shown.append(hass.states.get("number.b012_weight").state)

    await _changed_during_a_running_cycle(hass, demo, monkeypatch, "", "", change=set_weight)
    assert shown == ["1.3"]
    assert hass.states.get("number.b012_weight").state == "1.3"


async def test_actions_take_the_ranges_the_numbers_offer(
    hass: HomeAssistant, demo: ConfigEntry, hass_admin_user: User
) -> None:
    """One range per setting (settings.OPTION_RANGES, engine.model.WEIGHT_RANGE): the
    set_safety_thresholds and set_weight actions refuse a step beyond what the number
    entities offer, at either end, and take the weight's maximum."""
    registry = er.async_get(hass)
    entry = {"config_entry_id": demo.entry_id}
    for key in [d.key for d in THRESHOLDS]:
        number = registry.async_get_entity_id("number", DOMAIN, f"{demo.entry_id}_{key}")
        attrs = hass.states.get(number).attributes
        for outside in (attrs["min"] - attrs["step"], attrs["max"] + attrs["step"]):
            with pytest.raises(INVALID):
                await _call(hass, "set_safety_thresholds", entry | {key: outside}, hass_admin_user)
    attrs = hass.states.get("number.b012_weight").attributes
    weight = entry | {"inlet": "B012"}
    for outside in (attrs["min"] - attrs["step"], attrs["max"] + attrs["step"]):
        with pytest.raises(INVALID):
            await _call(hass, "set_weight", weight | {"weight": outside}, hass_admin_user)
    await _call(hass, "set_weight", weight | {"weight": attrs["max"]}, hass_admin_user)
    assert float(hass.states.get("number.b012_weight").state) == attrs["max"]


async def test_set_safety_thresholds(
    hass: HomeAssistant, demo: ConfigEntry, hass_admin_user: User, operator: User
) -> None:
    data = {"config_entry_id": demo.entry_id, "min_opening": 12, "max_supply_temperature": 85}
    with pytest.raises(Unauthorized):
        await _call(hass, "set_safety_thresholds", data, operator)
    await _call(hass, "set_safety_thresholds", data, hass_admin_user)
    assert demo.options["min_opening"] == 12
    assert float(hass.states.get("number.estate12_minimum_valve_opening").state) == 12
    assert demo.runtime_data.coordinator.settings.max_supply_c == 85
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_safety_thresholds", {"config_entry_id": demo.entry_id})
    assert err.value.translation_key == "nothing_to_set"
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "set_safety_thresholds",
            {"config_entry_id": demo.entry_id, "min_opening": 90, "max_opening": 80},
        )
    assert err.value.translation_key == "opening_limits"
    # commands never leave the thresholds (§5.3.6-3)
    await cycles(hass, demo, 3)
    openings = demo.runtime_data.coordinator.simulator.openings
    assert openings.min() >= 0.12 - 1e-9


@pytest.mark.parametrize(("low", "high", "error"), ORDERED_LIMITS)
def test_limit_order_rule_is_the_engines(low: str, high: str, error: str) -> None:
    """The one order rule the dialog, the numbers and the action ask (§5.3.6-3) refuses
    exactly what the engine's SafetyLimits refuses, so no stored option stops the cycle.
    (A stored pair out of order restarts at the defaults in ``Settings.from_options``, 18h:
    the engine's refusal is asked of the settings as given.)"""
    for lo, hi in ((40, 60), (50, 50), (60, 40)):
        options = {low: lo, high: hi}
        wrong = option_errors(options)
        assert wrong == ([(low, error)] if lo > hi else [])
        given = replace(Settings.from_options({}), **{f"{low}_pct": lo, f"{high}_pct": hi})
        if wrong:
            with pytest.raises(ValueError, match="≤"):
                limits_of(given)
        else:
            limits_of(given)
        limits_of(Settings.from_options(options))  # a stored pair never stops the cycle


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("target", TARGETS)
def test_target_rule_is_the_engines(level: str, target: str) -> None:
    """A target the options refuse at a level is one the engine has no band for (§4.1.1)."""
    refused = option_errors({"level": level, "target": target})
    try:
        band(level, ENGINE_TARGETS[target])
    except ValueError:
        assert refused == [("target", "room_target_needs_advanced")]
    else:
        assert refused == []


async def test_balance_now_in_manual_mode(
    hass: HomeAssistant, demo: ConfigEntry, operator: User, hass_read_only_user: User
) -> None:
    """Manual mode proposes only: an operator's 'balance now' computes and shows the proposal,
    moving nothing; 'confirm proposal' sends it once (§5.3.6-6)."""
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.estate12_regulation_mode", "option": "manual"},
        blocking=True,
    )
    sim = demo.runtime_data.coordinator.simulator
    before = sim.openings.copy()
    await cycles(hass, demo, 2)
    assert (sim.openings == before).all()
    with pytest.raises(Unauthorized):
        await _call(hass, "balance_now", {"config_entry_id": demo.entry_id}, hass_read_only_user)
    await _call(hass, "balance_now", {"config_entry_id": demo.entry_id}, operator)
    assert (sim.openings == before).all()
    with pytest.raises(Unauthorized):
        await _call(
            hass, "confirm_proposal", {"config_entry_id": demo.entry_id}, hass_read_only_user
        )
    await _call(hass, "confirm_proposal", {"config_entry_id": demo.entry_id}, operator)
    assert (sim.openings != before).any()
    moved = sim.openings.copy()
    await cycles(hass, demo, 1)
    assert (sim.openings == moved).all()  # still manual


async def test_balance_now_refused_at_primary_level(hass: HomeAssistant) -> None:
    entry = await add_network(hass, options={"level": "primary"})
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "balance_now", {"config_entry_id": entry.entry_id})
    assert err.value.translation_key == "primary_is_manual"
    # and the button says the same
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.estate12_balance_now"}, blocking=True
        )


async def test_unknown_or_unloaded_entry(hass: HomeAssistant, demo: ConfigEntry) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "export_data", {"config_entry_id": "nope"}, return_response=True)
    assert err.value.translation_key == "entry_not_found"
    await hass.config_entries.async_unload(demo.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "balance_now", {"config_entry_id": demo.entry_id})
    assert err.value.translation_key == "entry_not_loaded"


async def test_export_data(hass: HomeAssistant, demo: ConfigEntry, operator: User) -> None:
    response = await _call(
        hass, "export_data", {"config_entry_id": demo.entry_id}, operator, return_response=True
    )
    assert response["network"] == "estate12"
    assert response["settings"]["level"] == "intermediate"
    assert set(response["inlets"]) == {f"B{k:03d}" for k in range(1, 13)}
    b1 = response["inlets"]["B001"]
    assert b1["flow_m3h"] > 0
    assert 0 < b1["opening"] <= 1
    assert response["alarms"] == []


CSV_ROW = (
    "id,name,type,node,heating_area_m2,design_load_kw,device_type,kvs\n"
    "B013,School,building,{node},4000,200,electric_valve,40\n"
)


async def test_import_inlets_csv(
    hass: HomeAssistant, demo: ConfigEntry, hass_admin_user: User, operator: User, tmp_path
) -> None:
    node = demo.runtime_data.coordinator.network.inlets["B012"].node
    data = {"config_entry_id": demo.entry_id, "csv": CSV_ROW.format(node=node)}
    with pytest.raises(Unauthorized):
        await _call(hass, "import_inlets_csv", data, operator)
    response = await _call(hass, "import_inlets_csv", data, hass_admin_user, return_response=True)
    assert response == {"added": ["B013"], "replaced": []}
    await hass.async_block_till_done()
    assert "B013" in {s.unique_id for s in demo.subentries.values()}
    assert hass.states.get("sensor.school_flow") is not None
    # the same table again replaces (nothing new) ; from a file as well
    path = tmp_path / "inlets.csv"
    path.write_text(CSV_ROW.format(node=node).replace("200,", "220,"), encoding="utf-8")
    response = await _call(
        hass,
        "import_inlets_csv",
        {"config_entry_id": demo.entry_id, "path": str(path)},
        return_response=True,
    )
    assert response == {"added": [], "replaced": ["B013"]}
    await hass.async_block_till_done()
    assert demo.runtime_data.coordinator.network.inlets["B013"].design_load_kw == 220


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "csv_missing"),
        ({"path": "/nonexistent/inlets.csv"}, "csv_unreadable"),
        ({"csv": "id,name,type,node\nB014,X,building,NOWHERE\n"}, "csv_invalid"),
    ],
)
async def test_import_errors(hass: HomeAssistant, demo: ConfigEntry, data: dict, key: str) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "import_inlets_csv",
            {"config_entry_id": demo.entry_id} | data,
            return_response=True,
        )
    assert err.value.translation_key == key


async def test_commission(hass: HomeAssistant, demo: ConfigEntry, operator: User) -> None:
    with pytest.raises(Unauthorized):
        await _call(
            hass, "commission", {"config_entry_id": demo.entry_id}, operator, return_response=True
        )
    response = await _call(
        hass, "commission", {"config_entry_id": demo.entry_id}, return_response=True
    )
    # §7.2.6: one line of presettings per inlet of the network, and the pump's setting
    assert response["network"] == "estate12"
    assert sorted(row["inlet_id"] for row in response["inlets"]) == sorted(
        demo.runtime_data.coordinator.network.inlets
    )
    assert response["pump"]
