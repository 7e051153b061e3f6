"""Onboarding from files (issue 14 item 1): uploads through HA's file_upload, paths resolved
against the configuration folder, building lists with every problem listed, templates."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import pytest
import yaml
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from custom_components.heatbalance.const import CONF_FILE, CONF_NETWORK, CONF_PATH, DOMAIN
from custom_components.heatbalance.engine.building_list import template_xlsx
from custom_components.heatbalance.onboarding_files import register_template_view

from .conftest import add_network, start_reconfigure

LIST_CSV = "name,heated_area_m2,order,distance_m\n" + "".join(
    f"Haus {k},{1500 + 700 * k},{k},{30 + k}\n" for k in range(1, 7)
)


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """HA's configuration folder of this test (the harness's one is shared, in the venv)."""
    hass.config.config_dir = str(tmp_path / "config")
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


@pytest.fixture
async def upload(
    hass: HomeAssistant, hass_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Upload bytes the way the FileSelector does (POST /api/file_upload); the file id.

    file_upload keeps uploads in ``<tempdir>/home-assistant-file_upload`` and removes that
    folder when HA stops; a test of its own tempdir keeps parallel runs (both HA versions,
    other developers) from removing each other's uploads.
    """
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert await async_setup_component(hass, "file_upload", {})
    register_template_view(hass)  # as opening the form does (the test server freezes routes)
    client = await hass_client()

    async def _upload(name: str, content: bytes) -> str:
        form = aiohttp.FormData()
        form.add_field("file", content, filename=name)
        response = await client.post("/api/file_upload", data=form)
        assert response.status == 200, await response.text()
        return str((await response.json())["file_id"])

    _upload.client = client  # type: ignore[attr-defined]
    return _upload


async def _submit(hass: HomeAssistant, data: dict[str, Any]) -> Any:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


async def test_uploaded_building_list_becomes_an_estimated_network(
    hass: HomeAssistant, config_dir: Path, upload: Any
) -> None:
    file_id = await upload("Lindenstraße.csv", LIST_CSV.encode())
    result = await _submit(hass, {CONF_NETWORK: "estate12", CONF_FILE: file_id})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    kept = config_dir / "heatbalance" / "Lindenstraße.yaml"
    assert result["data"] == {CONF_PATH: str(kept)}
    assert len(result["result"].subentries) == 6
    data = yaml.safe_load(kept.read_text())
    assert [i["name"] for i in data["inlets"]] == [f"Haus {k}" for k in range(1, 7)]
    marked = {(e["element"], e["field"]) for e in data["estimates"] if e["uncertainty"] > 0}
    assert ("pipe PM001", "inner_diameter_mm") in marked
    assert ("pipe PM001", "length_m") not in marked  # the list gave the distance
    # the same list again finds the same file, so the same entry
    again = await _submit(hass, {CONF_FILE: await upload("Lindenstraße.csv", LIST_CSV.encode())})
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "sheet 'Sheet', row 3, column B (heated_area_m2): '2.500,5' is not a number"),
        ("zh-Hans", "工作表“Sheet” 第 3 行 B (heated_area_m2) 列：“2.500,5”不是数字"),
    ],
)
async def test_a_bad_xlsx_lists_every_problem_in_the_users_language(
    hass: HomeAssistant, config_dir: Path, upload: Any, language: str, expected: str
) -> None:
    hass.config.language = language
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (
        ["name", "heated_area_m2", "pipe_dn"],
        ["A", 3000, 80],
        ["B", "2.500,5", 90],
        ["", 1200, None],
    ):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    result = await _submit(hass, {CONF_FILE: await upload("street.xlsx", out.getvalue())})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "list_invalid", CONF_FILE: "file_problems"}
    lines = result["description_placeholders"]["error"].splitlines()
    assert len(lines) == 3  # the number, the DN and the empty name: all at once
    assert lines[0].startswith(expected)
    assert not (config_dir / "heatbalance").exists() or not any(
        (config_dir / "heatbalance").iterdir()
    )


@pytest.mark.parametrize(
    "given", ["heatbalance/street.csv", "/config/heatbalance/street.csv", "heatbalance"]
)
async def test_paths_are_found_the_way_the_form_says(
    hass: HomeAssistant, config_dir: Path, given: str
) -> None:
    """Relative, the form's own /config/… example, and a folder holding one list."""
    (config_dir / "heatbalance").mkdir()
    (config_dir / "heatbalance" / "street.csv").write_text(LIST_CSV)
    result = await _submit(hass, {CONF_NETWORK: "estate12", CONF_PATH: given})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("description_placeholders")
    assert result["data"] == {CONF_PATH: str(config_dir / "heatbalance" / "street.csv")}
    assert result["title"] == "street"
    assert len(result["result"].subentries) == 6


async def test_a_missing_path_says_where_it_looked(hass: HomeAssistant, config_dir: Path) -> None:
    result = await _submit(hass, {CONF_PATH: "/config/heatbalance/nope.yaml"})
    assert result["errors"] == {CONF_PATH: "file_not_found"}
    assert (
        str(config_dir / "heatbalance" / "nope.yaml") in result["description_placeholders"]["error"]
    )


async def test_reconfigure_to_an_uploaded_list(
    hass: HomeAssistant, config_dir: Path, upload: Any
) -> None:
    entry = await add_network(hass, "loop8")
    result = await start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NETWORK: "loop8", CONF_FILE: await upload("b.csv", LIST_CSV.encode())},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert len(entry.subentries) == 8 + 6  # loop8's inlets stay (reported under Repairs)
    assert entry.data == {CONF_PATH: str(config_dir / "heatbalance" / "b.yaml")}


async def test_an_uploaded_network_file_is_checked_before_it_is_kept(
    hass: HomeAssistant, config_dir: Path, upload: Any
) -> None:
    file_id = await upload("net.yaml", b"name: x\nsubstation: {id: S, node: S}\nnodes: [{id: S}]\n")
    result = await _submit(hass, {CONF_FILE: file_id})
    assert result["errors"] == {"base": "network_invalid", CONF_FILE: "file_problems"}
    assert "pump" in result["description_placeholders"]["error"]
    assert not (config_dir / "heatbalance" / "net.yaml").exists()


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
async def test_templates_download_and_import_again(
    hass: HomeAssistant, config_dir: Path, upload: Any, language: str
) -> None:
    """The form links the templates; each downloads and imports as its worked example."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    url = result["description_placeholders"][f"template_{language.replace('-', '_').lower()}_xlsx"]
    response = await upload.client.get(url)
    assert response.status == 200
    body = await response.read()
    header = next(
        openpyxl.load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True)
    )
    assert header[0] == ("name" if language == "en" else "名称")
    assert (await upload.client.get("/api/heatbalance/template/secrets.yaml")).status == 404
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_FILE: await upload(f"example-{language}.xlsx", body)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(result["result"].subentries) == 5
    assert len(template_xlsx(language)) > 1000
