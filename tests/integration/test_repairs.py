"""Repair issues where the operator must act (Tables 4.3.2/4.3.3, §4.3.1, §4.3.4)."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from custom_components.heatbalance.const import DOMAIN

from .conftest import add_network, cycles, start_inlet_reconfigure
from .test_config_flow import NETWORKS

FULL_B003 = {  # every signal of the intermediate level, as HA entities
    "supply_temperature_entity": "sensor.b3_supply",
    "return_temperature_entity": "sensor.b3_return",
    "flow_entity": "sensor.b3_flow",
    "actuator_entity": "number.b3_valve",
}


def _issue(hass: HomeAssistant, entry: ConfigEntry, kind: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_{kind}")


async def _map(hass: HomeAssistant, entry: ConfigEntry, inlet: str, entities: dict) -> None:
    result = await start_inlet_reconfigure(hass, entry, inlet)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "entities", "link": "wireless"}
    )
    await hass.config_entries.subentries.async_configure(result["flow_id"], entities)
    await hass.async_block_till_done()


async def _fix(hass: HomeAssistant, hass_client, issue: ir.IssueEntry) -> dict:
    """Run a repair's fix flow through the HTTP API as the frontend does."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    assert resp.status == HTTPStatus.OK
    flow = await resp.json()
    assert flow["step_id"] == "confirm"
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert resp.status == HTTPStatus.OK
    await hass.async_block_till_done()
    return await resp.json()


async def test_simulated_demo_has_no_issues(hass: HomeAssistant, demo: ConfigEntry) -> None:
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]


async def test_missing_signals_named_per_inlet(hass: HomeAssistant, demo: ConfigEntry) -> None:
    """B003 reads only its return temperature: the flow target misses supply, flow, device;
    a real inlet without an outdoor sensor misses the network's outdoor temperature."""
    await _map(hass, demo, "B003", {"return_temperature_entity": "sensor.b3_return"})
    issue = _issue(hass, demo, "missing_signals")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    placeholders = issue.translation_placeholders
    assert placeholders["level"] == "Intermediate"
    assert placeholders["target"] == "Flow"
    lines = placeholders["signals"].splitlines()
    assert "- B003: supply temperature, flow, device running state" in lines[0]
    link = f"(/config/integrations/integration/heatbalance#config_entry={demo.entry_id})"
    # each line deep-links to the form where it is fixed: the outdoor sensor is an option
    assert (
        lines[1]
        == f"- estate12: outdoor temperature → [the network's options (⋮ → Configure)]{link}"
    )
    assert lines[0].endswith(f"→ [this inlet's subentry (⋮ → Change signal source)]{link}")
    # return temperature as target (Table 4.3.2): only the device state is missing then
    hass.config_entries.async_update_entry(
        demo,
        options=dict(demo.options)
        | {"target": "return_temperature", "outdoor_entity": "sensor.outdoor"},
    )
    await hass.async_block_till_done()
    lines = _issue(hass, demo, "missing_signals").translation_placeholders["signals"].splitlines()
    assert lines[0].startswith("- B003: device running state (valve position feedback) → [")
    assert len(lines) == 1
    # primary level: data acquisition is local, nothing to demand
    hass.config_entries.async_update_entry(demo, options=dict(demo.options) | {"level": "primary"})
    await hass.async_block_till_done()
    assert _issue(hass, demo, "missing_signals") is None


async def test_issue_text_in_chinese(hass: HomeAssistant) -> None:
    hass.config.language = "zh-Hans"
    entry = await add_network(hass)
    await _map(hass, entry, "B003", {"return_temperature_entity": "sensor.b3_return"})
    placeholders = _issue(hass, entry, "missing_signals").translation_placeholders
    assert placeholders["level"] == "中级"
    assert placeholders["signals"].startswith("- B003: 供水温度, 流量")


async def test_cycle_too_long_is_fixed_by_the_repair(hass: HomeAssistant, hass_client) -> None:
    entry = await add_network(hass, options={"cycle_minutes": 45})
    issue = _issue(hass, entry, "cycle_too_long")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders["minutes"] == "45"
    result = await _fix(hass, hass_client, issue)
    assert result["type"] == "create_entry"
    assert entry.options["cycle_minutes"] == 30
    assert _issue(hass, entry, "cycle_too_long") is None


async def test_not_electric_devices(hass: HomeAssistant, tmp_path: Path) -> None:
    text = (NETWORKS / "loop8.yaml").read_text().replace("electric_valve", "static_valve", 1)
    path = tmp_path / "static.yaml"
    path.write_text(text)
    from homeassistant import config_entries

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"network": "estate12", "path": str(path)}
    )
    entry = result["result"]
    await hass.async_block_till_done()
    issue = _issue(hass, entry, "not_electric")
    assert issue is not None
    assert len(issue.translation_placeholders["inlets"].split(", ")) == 1
    # that inlet gets no valve entity and no auto switch
    assert len(hass.states.async_entity_ids("valve")) == 7


async def test_orphaned_inlets_are_removed_by_the_repair(
    hass: HomeAssistant, hass_client, tmp_path: Path
) -> None:
    path = tmp_path / "net.yaml"
    path.write_text((NETWORKS / "estate12.yaml").read_text())
    from homeassistant import config_entries

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"network": "estate12", "path": str(path)}
    )
    entry = result["result"]
    await hass.async_block_till_done()
    # the file changes: B012 is gone (and its pipe stays; the node is still connected)
    text = path.read_text()
    start = text.index("- id: B012")
    end = text.find("\n- id:", start + 1)
    path.write_text(text[:start] + (text[end + 1 :] if end > 0 else ""))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    issue = _issue(hass, entry, "inlet_missing")
    assert issue is not None
    assert issue.translation_placeholders["inlets"] == "B012"
    assert "B012" not in entry.runtime_data.coordinator.inlets
    await _fix(hass, hass_client, issue)
    assert "B012" not in {s.unique_id for s in entry.subentries.values()}
    assert _issue(hass, entry, "inlet_missing") is None


async def test_fix_flow_for_a_removed_entry(hass: HomeAssistant, hass_client) -> None:
    entry = await add_network(hass, options={"cycle_minutes": 45})
    issue = _issue(hass, entry, "cycle_too_long")
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    flow = await resp.json()
    # the entry goes away while the repair dialog is open
    await hass.config_entries.async_remove(entry.entry_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue.issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="cycle_too_long",
        data=issue.data,
    )
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    result = await resp.json()
    assert result["type"] == "abort"
    assert result["reason"] == "entry_removed"


def test_data_check_knows_what_the_gateway_delivers() -> None:
    """§4.3.2/§4.3.3: a gateway inlet delivers its heat meter's temperatures and flow, its
    valve's position, room temperatures only from named room sensors; a missing device is a
    missing signal."""
    from custom_components.heatbalance.engine.loader import load_network
    from custom_components.heatbalance.engine.networks import builtin_path
    from custom_components.heatbalance.requirements import available, missing_signals
    from custom_components.heatbalance.settings import InletConfig, Settings

    path = builtin_path("estate12")
    assert path is not None
    network = load_network(path)
    inlets = {
        "B001": InletConfig("s1", "B001", source="gateway", gateway_meter="m1", gateway_valve="v1"),
        "B002": InletConfig("s2", "B002", source="gateway", gateway_meter="m2"),
    }
    settings = Settings.from_options({"level": "intermediate", "target": "flow"})
    missing = missing_signals(network, settings, inlets)
    assert "B001" not in missing
    assert missing["B002"] == ["device"]
    assert "typical_room" in missing["network"]  # no inlet carries a room temperature
    # named room sensors and both pressure transmitters: the room temperature is delivered,
    # and ΔP is measured; a valve alone gives its temperatures and position (no flow)
    inlets["B002"] = InletConfig(
        "s2",
        "B002",
        source="gateway",
        gateway_valve="v2",
        rooms=("r1", "r2"),
        gateway_sensors={"gateway_supply_pressure": "p1", "gateway_return_pressure": "p2"},
    )
    assert available(inlets["B002"]) == {"supply", "return", "device", "room", "pressure"}
    assert "pressure" not in available(inlets["B001"])
    missing = missing_signals(network, settings, inlets)
    assert missing["B002"] == ["flow"]
    assert "network" not in missing or "typical_room" not in missing["network"]
    room_only = InletConfig("s3", "B003", source="entities", rooms=("sensor.a", "sensor.b"))
    assert available(room_only) == {"room"}


async def test_substation_heat_meter_that_delivers_nothing_is_a_missing_signal(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    """§4.3.2 data check: a substation heat meter, once mapped on a real plant, is the
    network heat and what the load forecast learns (§3.0.7-2). Mapped to an entity that
    reads no thermal power (its energy counter in kWh), it delivers nothing: named in
    ``missing_signals`` on the network's line; mapped to its power sensor, not. A gateway
    device its gateway describes without a ``power`` point is named alike."""
    from custom_components.heatbalance.requirements import missing_signals, station_heat_missing
    from custom_components.heatbalance.settings import Settings

    await _map(hass, demo, "B003", FULL_B003)  # a real plant, every signal of the level mapped
    outdoor = {"outdoor_entity": "sensor.outdoor"}
    hass.states.async_set("sensor.station_energy", "1234", {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.station_power", "2.5", {"unit_of_measurement": "MW"})
    for meter, named in (("sensor.station_energy", True), ("sensor.station_power", False)):
        options = dict(demo.options) | outdoor | {"substation_heat_entity": meter}
        hass.config_entries.async_update_entry(demo, options=options)
        await hass.async_block_till_done()
        issue = _issue(hass, demo, "missing_signals")
        lines = issue.translation_placeholders["signals"] if issue else ""
        assert ("substation heat meter delivers no thermal power" in lines) is named, lines
    device = Settings.from_options({"substation_heat_gateway_device": "station-heat"})
    assert station_heat_missing(device, {"station-heat": frozenset({"flow", "energy"})})
    assert not station_heat_missing(device, {"station-heat": frozenset({"flow", "power"})})
    assert not station_heat_missing(device, {})  # not described yet: taken at its kind
    real = demo.runtime_data.coordinator.inlets
    network = demo.runtime_data.coordinator.network
    points = {"station-heat": frozenset({"energy"})}
    assert "substation_heat" in missing_signals(network, device, real, points)["network"]


async def test_a_substation_heat_meter_that_goes_silent_is_named_until_it_delivers_again(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    """§4.3.2 data check: a correctly mapped substation heat meter that stops delivering
    (its entity unavailable) leaves the network heat to the inlets' estimate, flagged; once
    it has been silent for max(5 min, two cycles) — the §6.0.6 stale window, longer than a
    routine restart — it is named in ``missing_signals``, and cleared at the first cycle it
    delivers again. Before, nothing was raised however long it stayed silent."""
    from custom_components.heatbalance.plant import STATION_SILENT_MIN_S

    await _map(hass, demo, "B003", FULL_B003)  # a real plant, every signal of the level mapped
    meter = "sensor.station_power"
    hass.states.async_set(meter, "2.5", {"unit_of_measurement": "MW"})
    options = dict(demo.options) | {"outdoor_entity": "sensor.outdoor", "cycle_minutes": 1}
    hass.config_entries.async_update_entry(
        demo, options=options | {"substation_heat_entity": meter}
    )
    await hass.async_block_till_done()
    silent_cycles = int(STATION_SILENT_MIN_S // 60)  # 5 min of one-minute cycles

    def named() -> bool:
        issue = _issue(hass, demo, "missing_signals")
        lines = issue.translation_placeholders["signals"] if issue else ""
        return "substation heat meter delivers no thermal power" in lines

    await cycles(hass, demo, silent_cycles + 1)
    assert not named()  # it delivers
    assert demo.runtime_data.coordinator.data.substation_heat_kw == 2500.0
    hass.states.async_set(meter, "unavailable")
    await cycles(hass, demo, silent_cycles - 1)
    assert not named()  # a routine restart of the meter's integration raises nothing
    await cycles(hass, demo, 1)
    assert named()
    hass.states.async_set(meter, "2.4", {"unit_of_measurement": "MW"})
    await cycles(hass, demo, 1)
    assert not named()  # delivers again: cleared at once
