"""Export the network as it is now (issue 14 item 6): a file that imports again unchanged.

The export carries the model (UI-added inlets included), what is estimated, what the
self-learning model corrected (§3.0.7-3) and the commissioning records (§7.2.6); imported
through the config flow it gives the same network with the same records, and exporting that
again gives the same file content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import Unauthorized

from custom_components.heatbalance.const import (
    CONF_ALGORITHM,
    CONF_PATH,
    DOMAIN,
    SUBENTRY_COMMISSIONING,
)
from custom_components.heatbalance.engine.loader import load_network, network_to_dict

from .conftest import add_network, cycles


async def _export(hass: HomeAssistant, entry: ConfigEntry, **context: Any) -> dict[str, Any]:
    from homeassistant.core import Context

    response = await hass.services.async_call(
        DOMAIN,
        "export_network",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
        context=Context(**context) if context else None,
    )
    assert response is not None
    return dict(response)


async def _commission(hass: HomeAssistant, entry: ConfigEntry, done: list[str]) -> None:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_COMMISSIONING), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"done": done, "commissioned_by": "Wang"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_export_imports_again_unchanged(
    hass: HomeAssistant, tmp_path: Path, hass_client: Any, hass_client_no_auth: Any
) -> None:
    hass.config.config_dir = str(tmp_path)
    entry = await add_network(hass, options={CONF_ALGORITHM: "ai"})
    await hass_client()  # HA's http and auth: the download link is signed
    await cycles(hass, entry, 6)  # the self-learning model has data now
    await _commission(hass, entry, ["B001", "B002"])
    response = await _export(hass, entry)
    path = Path(response["file"])
    exported = yaml.safe_load(path.read_text(encoding="utf-8"))
    coordinator = entry.runtime_data.coordinator
    # the network as it is now, with what was learnt and the commissioning state
    assert {k: v for k, v in exported.items() if k not in ("learned", "commissioning")} == (
        network_to_dict(coordinator.network)
    )
    assert exported["learned"] == coordinator.memory.loop.controller.learned_corrections()
    assert exported["learned"]["branches"]  # the model learnt something to carry
    (record,) = exported["commissioning"]
    assert record["done"] == ["B001", "B002"]
    assert record["pending"] == [f"B{k:03d}" for k in range(3, 13)]
    assert record["record"]["commissioned_by"] == "Wang"
    # downloadable through the signed link, without a login
    resp = await (await hass_client_no_auth()).get(response["link"])
    assert resp.status == 200
    assert await resp.read() == path.read_bytes()

    # the file imports again: the engine's loader and the config flow (records restored)
    again = await hass.async_add_executor_job(load_network, str(path))
    assert network_to_dict(again) == network_to_dict(coordinator.network)
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PATH: str(path)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    imported = result["result"]
    await hass.async_block_till_done()
    records = [s for s in imported.subentries.values() if s.subentry_type == SUBENTRY_COMMISSIONING]
    assert [s.data["done"] for s in records] == [["B001", "B002"]]
    # … and exports to the same content
    second = await _export(hass, imported)
    assert yaml.safe_load(Path(second["file"]).read_text(encoding="utf-8")) == exported


async def test_a_building_list_exports_its_estimates(hass: HomeAssistant, tmp_path: Path) -> None:
    """An entry on a building list given by path: the export marks what is estimated."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "street.csv").write_text(
        "name,heated_area_m2,order\nA,3000,1\nB,4500,2\nC,2500,3\n", encoding="utf-8"
    )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PATH: "street.csv"}
    )
    entry = result["result"]
    await hass.async_block_till_done()
    exported = yaml.safe_load(Path((await _export(hass, entry))["file"]).read_text())
    assert any(e["element"] == "pipe PM001" for e in exported["estimates"])
    assert exported["commissioning"] == []
    again = await hass.async_add_executor_job(load_network, (await _export(hass, entry))["file"])
    assert network_to_dict(again) == network_to_dict(entry.runtime_data.coordinator.network)


async def test_only_administrators_export(hass: HomeAssistant, hass_read_only_user: Any) -> None:
    entry = await add_network(hass)
    with pytest.raises(Unauthorized):
        await _export(hass, entry, user_id=hass_read_only_user.id)
