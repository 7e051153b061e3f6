"""Inlet subentries: add (existing or new inlet), map HA entities, reconfigure, remove."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.heatbalance.const import DOMAIN

from .conftest import add_network, start_inlet_reconfigure
from .test_config_flow import NETWORKS

ENTITIES = {
    "supply_temperature_entity": "sensor.b3_supply",
    "return_temperature_entity": "sensor.b3_return",
    "flow_entity": "sensor.b3_flow",
    "room_temperature_entity": "sensor.b3_room",
    "actuator_entity": "number.b3_valve",
}


async def _add(hass: HomeAssistant, entry: ConfigEntry):
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, "inlet"), context={"source": "user"}
    )


def device_of(hass: HomeAssistant, entry: ConfigEntry, ident: str) -> dr.DeviceEntry | None:
    """The entry's device with identifier (heatbalance, ident), on both HA versions."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return next((d for d in devices if (DOMAIN, ident) in d.identifiers), None)


def _inlet_devices(hass: HomeAssistant, entry: ConfigEntry) -> set[str]:
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return {d.name for d in devices if (DOMAIN, entry.entry_id) not in d.identifiers}


async def test_add_a_household_as_its_own_device(hass: HomeAssistant) -> None:
    entry = await add_network(hass, "households1200")
    result = await _add(hass, entry)
    assert result["type"] is FlowResultType.FORM
    options = result["data_schema"].schema["inlet_id"].config["options"]
    assert "B001H07" in options
    assert "B001" not in options  # already a subentry
    assert options[-1] == "__new__"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"inlet_id": "B001H07", "source": "simulator", "link": "wireless"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == "B001H07"
    await hass.async_block_till_done()
    assert "B001H07" in _inlet_devices(hass, entry)
    assert hass.states.get("sensor.b001h07_room_temperature") is not None
    # the device tree follows the network: household → its building → the network (issue 13)
    network = device_of(hass, entry, entry.entry_id)
    building = device_of(hass, entry, f"{entry.entry_id}_B001")
    household = device_of(hass, entry, f"{entry.entry_id}_B001H07")
    assert network
    assert building
    assert household
    assert household.via_device_id == building.id
    assert building.via_device_id == network.id


async def test_map_an_inlet_to_home_assistant_entities(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    sub = next(s for s in demo.subentries.values() if s.unique_id == "B003")
    result = await start_inlet_reconfigure(hass, demo, "B003")
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "entities", "link": "wired"}
    )
    assert result["step_id"] == "entities"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "no_entities"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], ENTITIES)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert demo.subentries[sub.subentry_id].data == {
        "inlet_id": "B003",
        "source": "entities",
        "link": "wired",
        **ENTITIES,
        "room_temperature_entity": ["sensor.b3_room"],  # one id alone: one room of a list
    }
    # the mapping changed the structure: reloaded, now reading (absent) entities
    assert demo.state is ConfigEntryState.LOADED
    # nothing read yet: the controller's plan for B003 is its flow's estimate (an inlet
    # planned without a flow reading, issue 10 item 3), never its state: no measurement
    flow = hass.states.get("sensor.b003_flow")
    assert flow.attributes.get("estimated") is True
    assert flow.state == "unknown"
    assert flow.attributes["estimate"] > 0
    # back to the simulator: the entity mapping is dropped
    result = await start_inlet_reconfigure(hass, demo, "B003")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "simulator", "link": "wireless"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert demo.subentries[sub.subentry_id].data == {
        "inlet_id": "B003",
        "source": "simulator",
        "link": "wireless",
    }
    # let the reload this change scheduled finish before the harness tears the entry down
    await hass.async_block_till_done()
    assert demo.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.b003_flow").state != "unknown"


async def test_add_with_entities_step(hass: HomeAssistant) -> None:
    entry = await add_network(hass, "households1200")
    result = await _add(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"inlet_id": "B002H01", "source": "entities", "link": "wireless"}
    )
    assert result["step_id"] == "entities"
    assert result["description_placeholders"]["inlet"] == "B002H01"
    assert "real time" in result["description_placeholders"]["real_time"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"room_temperature_entity": "sensor.flat_room"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["room_temperature_entity"] == ["sensor.flat_room"]
    # the new subentry reloads the entry: let it finish, or it would set the entry up again
    # after the harness's teardown unloaded it (timers left behind)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


NEW = {
    "id": "B013",
    "name": "New school",
    "type": "building",
    "node": "N12",
    "heating_area_m2": 4000,
    "design_load_kw": 200,
    "design_dt_k": 15,
    "internal_dp_kpa": 20,
    "device_type": "electric_valve",
    "kvs": 40,
}


async def test_define_a_new_inlet(hass: HomeAssistant, demo: ConfigEntry) -> None:
    result = await _add(hass, demo)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"inlet_id": "__new__", "source": "simulator", "link": "wired"}
    )
    assert result["step_id"] == "define"
    options = result["data_schema"].schema["node"].config["options"]
    node = options[-1]["value"]  # the farthest node along the pipes
    assert options[0]["label"].startswith("S · #1, 0 m from the substation")
    assert any("B001" in o["label"] for o in options)  # who hangs on a node
    suggested = {
        str(k): k.description["suggested_value"]
        for k in result["data_schema"].schema
        if k.description and "suggested_value" in k.description
    }
    assert 1000 < suggested["heating_area_m2"] < 20000  # the estate's typical building
    assert suggested["kvs"] > 0
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], NEW | {"id": "B001", "node": node}
    )
    assert result["errors"] == {"id": "inlet_exists"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {k: v for k, v in NEW.items() if k != "kvs"}
        | {"node": node, "device_type": "static_valve"},
    )
    # every problem listed, and the field it concerns marked (HA checks only on submit)
    assert result["errors"] == {"base": "inlet_invalid", "kvs": "field_invalid"}
    assert "kvs" in result["description_placeholders"]["error"].lower()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], NEW | {"node": node}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "New school"
    await hass.async_block_till_done()
    assert demo.data["inlets"][0]["id"] == "B013"
    assert demo.state is ConfigEntryState.LOADED
    assert "B013" in demo.runtime_data.coordinator.network.inlets
    assert "New school" in _inlet_devices(hass, demo)
    assert hass.states.get("sensor.new_school_flow") is not None


async def test_remove_an_inlet_removes_its_device(hass: HomeAssistant, demo: ConfigEntry) -> None:
    ent_reg = er.async_get(hass)
    assert ent_reg.async_get("sensor.b005_flow") is not None
    sub = next(s for s in demo.subentries.values() if s.unique_id == "B005")
    assert hass.config_entries.async_remove_subentry(demo, sub.subentry_id)
    await hass.async_block_till_done()
    assert "B005" not in _inlet_devices(hass, demo)
    assert ent_reg.async_get("sensor.b005_flow") is None
    assert demo.state is ConfigEntryState.LOADED
    assert "B005" not in demo.runtime_data.coordinator.inlets
    # the freed inlet can be added again
    result = await _add(hass, demo)
    assert "B005" in result["data_schema"].schema["inlet_id"].config["options"]


async def test_deleting_an_inlet_device_removes_the_subentry(
    hass: HomeAssistant, demo: ConfigEntry, hass_ws_client
) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "config", {})
    device = device_of(hass, demo, f"{demo.entry_id}_B007")
    network = device_of(hass, demo, demo.entry_id)
    client = await hass_ws_client(hass)
    for dev, ok in ((network, False), (device, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": demo.entry_id,
                "device_id": dev.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is ok
    await hass.async_block_till_done()
    assert "B007" not in {s.unique_id for s in demo.subentries.values()}
    assert device_of(hass, demo, f"{demo.entry_id}_B007") is None


async def test_add_while_network_unloaded(hass: HomeAssistant, demo: ConfigEntry) -> None:
    """The flow loads the network itself when the entry is not running."""
    await hass.config_entries.async_unload(demo.entry_id)
    result = await _add(hass, demo)
    assert result["type"] is FlowResultType.FORM
    assert result["data_schema"].schema["inlet_id"].config["options"] == ["__new__"]


async def test_add_when_the_network_file_is_gone(hass: HomeAssistant, tmp_path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text((NETWORKS / "loop8.yaml").read_text())
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"network": "estate12", "path": str(path)}
    )
    entry = result["result"]
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)
    path.unlink()
    result = await _add(hass, entry)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "network_unavailable"


async def test_first_real_inlet_asks_for_real_time(hass: HomeAssistant, demo: ConfigEntry) -> None:
    """Issue 14 item 5: mapping the first inlet to real entities says what changes and asks."""
    coordinator = demo.runtime_data.coordinator
    assert coordinator.plant.simulated
    result = await start_inlet_reconfigure(hass, demo, "B003")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "entities", "link": "wired"}
    )
    assert result["step_id"] == "entities"
    assert "real_time" in result["data_schema"].schema
    notice = result["description_placeholders"]["real_time"]
    assert "one 30-minute control cycle every 10 s" in notice
    assert "every 30 minutes of the wall clock" in notice
    mapping = {"flow_entity": "sensor.b003_flow", "real_time": False}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], mapping)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "kept_simulated"
    await hass.async_block_till_done()
    assert demo.runtime_data.coordinator.plant.simulated  # nothing changed

    result = await start_inlet_reconfigure(hass, demo, "B003")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "entities", "link": "wired"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**mapping, "real_time": True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert not demo.runtime_data.coordinator.plant.simulated
    # the second real inlet: the network already runs in real time, nothing to ask
    result = await start_inlet_reconfigure(hass, demo, "B004")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "entities", "link": "wired"}
    )
    assert "real_time" not in result["data_schema"].schema
    assert result["description_placeholders"]["real_time"] == ""
