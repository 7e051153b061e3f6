"""Config flow: one entry per network, from a built-in demo or a network file; every error."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.heatbalance.const import CONF_INLETS, CONF_NETWORK, CONF_PATH, DOMAIN

from .conftest import add_network, start_reconfigure

NETWORKS = Path(__file__).parents[2] / "custom_components/heatbalance/engine/networks"


async def _start(hass: HomeAssistant):
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )


def _copy(tmp_path: Path, name: str = "Riverside") -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text((NETWORKS / "loop8.yaml").read_text().replace("name: loop8", f"name: {name}"))
    return path


async def test_demo_network_in_one_step(hass: HomeAssistant) -> None:
    """What scripts/develop posts: {"network": "<name>"} creates and sets up the entry."""
    result = await _start(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "district120"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "district120"
    assert result["data"] == {CONF_NETWORK: "district120"}
    entry: ConfigEntry = result["result"]
    assert entry.unique_id == "builtin:district120"
    # one inlet subentry per building, read from the simulated plant
    assert len(entry.subentries) == 120
    sub = next(iter(entry.subentries.values()))
    assert sub.subentry_type == "inlet"
    assert sub.data == {"inlet_id": sub.unique_id, "source": "simulator", "link": "wired"}
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_first_add_reads_the_network_file_once(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config flow reads and validates the file; the setup that follows takes that
    network instead of reading the file again. A restart (reload) reads it."""
    from custom_components.heatbalance import network_setup

    reads: list[str] = []
    load = network_setup.load_source

    def counted(source: str):  # the real loader, counted
        reads.append(source)
        return load(source)

    monkeypatch.setattr(network_setup, "load_source", counted)
    path = _copy(tmp_path)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PATH: str(path)}
    )
    entry: ConfigEntry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert reads == [str(path)]
    assert not hass.data[network_setup.LOADED]  # handed over, nothing kept
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert reads == [str(path)] * 2


async def test_households_get_no_subentries_by_default(hass: HomeAssistant) -> None:
    """1,200 households in 40 buildings: 40 subentries, so HA does not drown."""
    entry = await add_network(hass, "households1200")
    assert len(entry.subentries) == 40
    assert all(
        s.unique_id.startswith("B") and "H" not in s.unique_id for s in entry.subentries.values()
    )


async def test_network_file(hass: HomeAssistant, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: f" {path} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Riverside"
    assert result["data"] == {CONF_PATH: str(path)}
    assert result["result"].unique_id == f"file:{path}"
    assert len(result["result"].subentries) == 8


async def test_every_file_error_is_a_form_error(hass: HomeAssistant, tmp_path: Path) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(tmp_path / "nope.yaml")}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PATH: "file_not_found"}

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsubstation: {id: S, node: S, supply_c: 60}\nnodes: [{id: S}]\n")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(bad)}
    )
    # every problem listed at the top, the path field marked
    assert result["errors"] == {"base": "network_invalid", CONF_PATH: "file_problems"}
    assert "pump" in result["description_placeholders"]["error"]

    # a folder stands for the one network file in it: here the bad one
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(tmp_path)}
    )
    assert result["errors"] == {"base": "network_invalid", CONF_PATH: "file_problems"}
    (tmp_path / "other.json").write_text("{}")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(tmp_path)}
    )
    assert result["errors"] == {CONF_PATH: "file_not_found"}
    assert "bad.yaml, other.json" in result["description_placeholders"]["error"]

    # the user corrects the path and finishes
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: ""}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unreadable_file(hass: HomeAssistant, tmp_path: Path) -> None:
    path = _copy(tmp_path)
    path.write_bytes(b"\xff\xfe\x00 not utf-8 \xc3")
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(path)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] in (
        {"base": "network_invalid", CONF_PATH: "file_problems"},
        {CONF_PATH: "file_unreadable"},
    )


async def test_same_network_twice_is_refused(hass: HomeAssistant, demo: ConfigEntry) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_to_a_file(
    hass: HomeAssistant, demo: ConfigEntry, tmp_path: Path
) -> None:
    """The estate moves to an edited copy of its file: same inlets, new source, reloaded."""
    path = tmp_path / "estate.yaml"
    text = (NETWORKS / "estate12.yaml").read_text()
    path.write_text(text.replace("name: estate12", "name: Estate Twelve"))
    result = await start_reconfigure(hass, demo)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(tmp_path / "x.yaml")}
    )
    assert result["errors"] == {CONF_PATH: "file_not_found"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(path)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert demo.data == {CONF_PATH: str(path)}
    assert demo.unique_id == f"file:{path}"
    assert demo.title == "Estate Twelve"
    assert len(demo.subentries) == 12
    assert demo.state is ConfigEntryState.LOADED


async def test_reconfigure_adds_new_buildings_and_refuses_duplicates(
    hass: HomeAssistant, demo: ConfigEntry, tmp_path: Path
) -> None:
    other = await add_network(hass, "loop8")
    result = await start_reconfigure(hass, demo)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "loop8"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert other.state is ConfigEntryState.LOADED

    result = await start_reconfigure(hass, demo)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "district120"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    # estate12's B001…B012 stay; district120 adds its other buildings
    assert len(demo.subentries) == 120
    assert demo.state is ConfigEntryState.LOADED


OPTIONS = {
    "control": {"level": "advanced", "target": "flow", "algorithm": "traditional", "mode": "auto"},
    "timing": {"cycle_minutes": 15, "acceleration": 90, "simulated_dropout": 0},
    "safety": {
        "min_opening": 10,
        "max_opening": 95,
        "max_step": 30,
        "min_flow": 40,
        "max_supply_temperature": 90,
        "min_return_temperature": 8,
        "min_differential_pressure": 4,
    },
    "alarms": {"feedback_tolerance": 5, "alarm_cycles": 3, "low_battery": 15},
}


async def test_options_flow(hass: HomeAssistant, demo: ConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(demo.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert demo.options["level"] == "advanced"
    assert demo.options["cycle_minutes"] == 15
    assert demo.options["outdoor_entity"] is None
    settings = demo.runtime_data.coordinator.settings
    assert (settings.level, settings.min_opening_pct, settings.cycle_minutes) == (
        "advanced",
        10,
        15,
    )
    # the cycle changed: the entry was reloaded with a 10 s (15 min / 90) update interval
    assert demo.runtime_data.coordinator.update_interval.total_seconds() == 10


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"safety": {**OPTIONS["safety"], "min_opening": 60, "max_opening": 50}},
            {"safety": "opening_limits"},
        ),
        (
            {
                "control": {
                    **OPTIONS["control"],
                    "level": "intermediate",
                    "target": "room_temperature",
                }
            },
            {"control": "room_target_needs_advanced"},
        ),
    ],
)
async def test_options_errors(
    hass: HomeAssistant, demo: ConfigEntry, change: dict, error: dict
) -> None:
    result = await hass.config_entries.options.async_init(demo.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS | change)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == error
    result = await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the reload the new cycle period schedules


async def test_operating_options_apply_without_reload(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    """Level, target, thresholds change in place: the same coordinator keeps running."""
    coordinator = demo.runtime_data.coordinator
    live = OPTIONS | {"timing": {"cycle_minutes": 30, "acceleration": 180, "simulated_dropout": 0}}
    result = await hass.config_entries.options.async_init(demo.entry_id)
    await hass.config_entries.options.async_configure(result["flow_id"], live)
    await hass.async_block_till_done()
    assert demo.runtime_data.coordinator is coordinator
    assert coordinator.settings.level == "advanced"


async def test_outdoor_sensor_option(hass: HomeAssistant, demo: ConfigEntry) -> None:
    hass.states.async_set("sensor.outdoor", "-12.5", {"unit_of_measurement": "°C"})
    result = await hass.config_entries.options.async_init(demo.entry_id)
    timing = OPTIONS["timing"] | {"outdoor_entity": "sensor.outdoor"}
    await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS | {"timing": timing}
    )
    await hass.async_block_till_done()
    coordinator = demo.runtime_data.coordinator
    assert coordinator.data.outdoor_c == -12.5
    # a real outdoor sensor: the plant runs in real time, one cycle per period
    assert coordinator.update_interval.total_seconds() == 15 * 60
    # and clearing it again (the entity selector sends nothing)
    result = await hass.config_entries.options.async_init(demo.entry_id)
    assert result["data_schema"]({**OPTIONS})  # the form validates without the sensor
    await hass.config_entries.options.async_configure(result["flow_id"], OPTIONS)
    await hass.async_block_till_done()
    assert demo.options["outdoor_entity"] is None


async def test_entry_data_may_list_own_inlets(hass: HomeAssistant) -> None:
    """Inlets defined in the UI live in the entry's data next to the network source."""
    entry = await add_network(hass, "loop8")
    assert CONF_INLETS not in entry.data
