"""Config flow: one entry per network, from a built-in demo or a network file."""

from __future__ import annotations

from pathlib import Path

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.heatbalance.const import CONF_NETWORK, CONF_PATH, DOMAIN


async def _start(hass: HomeAssistant):
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )


async def test_demo_network_in_one_step(hass: HomeAssistant) -> None:
    result = await _start(hass)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "district120", CONF_PATH: ""}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "district120"
    assert result["data"] == {CONF_NETWORK: "district120"}
    assert result["result"].unique_id == "builtin:district120"


async def test_network_file(hass: HomeAssistant, tmp_path: Path) -> None:
    src = Path(__file__).parents[2] / "custom_components/heatbalance/engine/networks/loop8.yaml"
    path = tmp_path / "mine.yaml"
    path.write_text(src.read_text().replace("name: loop8", "name: Riverside"))
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(path)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Riverside"
    assert result["data"] == {CONF_PATH: str(path)}


async def test_missing_and_invalid_files_are_form_errors(
    hass: HomeAssistant, tmp_path: Path
) -> None:
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
    assert result["errors"] == {"base": "network_invalid"}
    assert "field pump: missing" in result["description_placeholders"]["error"]
    # the user can correct the path and finish
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: ""}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_same_network_twice_is_refused(
    hass: HomeAssistant, demo_entry: MockConfigEntry
) -> None:
    demo_entry.add_to_hass(hass)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: ""}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
