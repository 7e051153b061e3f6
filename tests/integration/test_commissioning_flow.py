"""Commissioning from HA (issue 14 item 4, §7.2.5/§7.2.6) and the export that imports again."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.heatbalance.const import SUBENTRY_COMMISSIONING
from custom_components.heatbalance.engine.commissioning import commission
from custom_components.heatbalance.engine.loader import load_network, network_to_dict


async def test_fitter_ticks_presettings_and_the_record_is_stored_and_exported(
    hass: HomeAssistant, demo: ConfigEntry, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    network = demo.runtime_data.coordinator.network
    result = await hass.config_entries.subentries.async_init(
        (demo.entry_id, SUBENTRY_COMMISSIONING), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    options = result["data_schema"].schema["done"].config["options"]
    expected = commission(network)
    assert [o["value"] for o in options] == [r.inlet_id for r in expected.inlets]
    first = expected.inlets[0]
    assert f"opening {first.opening:.0%}" in options[0]["label"]  # the setting to dial in
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"done": ["B001", "B002"], "commissioned_by": "Wang"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sub = next(s for s in demo.subentries.values() if s.subentry_type == SUBENTRY_COMMISSIONING)
    assert sub.data["done"] == ["B001", "B002"]
    assert sub.title.endswith("(2/12)")
    record = json.loads(Path(sub.data["file"]).read_text())
    assert record["commissioned_by"] == "Wang"
    assert "learned" in record  # the self-learning model's corrections so far (§3.0.7-3)
    assert record["pending"] == [r.inlet_id for r in expected.inlets][2:]
    # the network as it is now imports again unchanged
    again = await hass.async_add_executor_job(load_network, sub.data["network_file"])
    assert network_to_dict(again) == network_to_dict(network)

    # later the fitter ticks the rest; the record's presettings stay those of the first round
    result = await hass.config_entries.subentries.async_init(
        (demo.entry_id, SUBENTRY_COMMISSIONING),
        context={"source": "reconfigure", "subentry_id": sub.subentry_id},
    )
    all_ids = [r.inlet_id for r in expected.inlets]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"done": all_ids}
    )
    assert result["type"] is FlowResultType.ABORT
    assert demo.subentries[sub.subentry_id].title.endswith("(12/12)")
    assert demo.subentries[sub.subentry_id].data["record"]["commissioned_by"] == "Wang"
    # an inlet subentry can still be added beside the record (the inlet list ignores it)
    result = await hass.config_entries.subentries.async_init(
        (demo.entry_id, "inlet"), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
