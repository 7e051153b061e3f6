"""The ``design_loads`` repair: design loads in the network file that the meters contradict
(§3.0.7; flow targets follow those loads, §8.2.4) reach the operator under Repairs.

The plant is a true network (development mode, ``HEATBALANCE_TRUE_PLANTS``) whose buildings
B002 and B007 are bigger / smaller than the entry's file says; the engine's check needs
48 h of metered heat (``engine.design_loads.MIN_HOURS``), so the entry runs its default
30-minute cycle (the most §4.3.4 allows) for a little more than two days of plant time.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.heatbalance.const import CONF_NETWORK, CONF_PATH, DOMAIN, MAX_CYCLE_MINUTES
from custom_components.heatbalance.engine.design_loads import MIN_HOURS
from custom_components.heatbalance.engine.loader import load_network, network_to_dict
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.true_plant import ENV

from .conftest import add_network, cycles, start_reconfigure

SIZES = {"B002": 1.6, "B007": 0.6}  # the true building ÷ the file's
CYCLES = int(MIN_HOURS * 60 / MAX_CYCLE_MINUTES) + 4  # 48 h of counting and a margin


def _issue(hass: HomeAssistant, entry: ConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_design_loads")


def _true_plant(model: Network, sizes: dict[str, float]) -> Network:
    """The model with some buildings bigger or smaller: load, area, envelope, as built."""
    plant = copy.deepcopy(model)
    for iid, size in sizes.items():
        inlet = plant.inlets[iid]
        inlet.design_load_kw *= size
        inlet.heating_area_m2 *= size
        inlet.envelope.ua_w_k *= size
        inlet.envelope.heat_capacity_kj_k *= size
    return plant


async def _run(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sizes: dict[str, float]
) -> ConfigEntry:
    model = load_network("estate12")
    (tmp_path / "estate12.yaml").write_text(
        yaml.safe_dump(network_to_dict(_true_plant(model, sizes)), sort_keys=False)
    )
    monkeypatch.setenv(ENV, str(tmp_path))
    entry = await add_network(hass)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.plant.cycle_s == MAX_CYCLE_MINUTES * 60  # the default period
    await cycles(hass, entry, CYCLES)
    assert coordinator.last_update_success
    return entry


async def test_wrong_design_loads_raise_a_repair_naming_the_inlets(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await _run(hass, tmp_path, monkeypatch, SIZES)
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_key == "design_loads"
    model = entry.runtime_data.coordinator.network
    lines = issue.translation_placeholders["inlets"].splitlines()
    assert len(lines) == len(SIZES), lines  # only the two wrong buildings
    for line, (iid, size) in zip(lines, sorted(SIZES.items()), strict=True):
        inlet = model.inlets[iid]
        assert line.startswith(f"- {inlet.name or iid}: ")
        assert line.endswith(f"({inlet.design_load_kw:g} kW)")  # the file's load
        percent = float(line.split(": ")[1].split("%")[0])
        assert percent > 120 if size > 1 else percent < 100 / 1.2, line  # the right way off

    placeholders = issue.translation_placeholders
    await hass.config_entries.async_reload(entry.entry_id)  # as a restart: the sums are kept
    await hass.async_block_till_done()
    await cycles(hass, entry, 1)
    again = _issue(hass, entry)
    assert again is not None
    assert again.translation_placeholders["inlets"].count("\n") == len(SIZES) - 1
    assert again.translation_placeholders.keys() == placeholders.keys()

    await hass.config_entries.async_remove(entry.entry_id)  # removed with its entry
    await hass.async_block_till_done()
    assert _issue(hass, entry) is None


async def test_the_corrected_file_clears_the_repair(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator uploads the file with the loads as built (the true plant's): the next
    cycle judges the kept sums by the new loads and the repair goes."""
    entry = await _run(hass, tmp_path, monkeypatch, SIZES)
    assert _issue(hass, entry) is not None
    result = await start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: "estate12", CONF_PATH: str(tmp_path / "estate12.yaml")}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert coordinator.network.inlets["B002"].design_load_kw == pytest.approx(
        1.6 * load_network("estate12").inlets["B002"].design_load_kw
    )
    await cycles(hass, entry, 1)
    assert _issue(hass, entry) is None


async def test_a_plant_as_its_file_raises_none(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await _run(hass, tmp_path, monkeypatch, {})
    loop = entry.runtime_data.coordinator.memory.loop
    assert loop is not None
    assert all(loop.design_loads.ratio(iid) is not None for iid in SIZES)  # judged: 48 h
    assert _issue(hass, entry) is None
