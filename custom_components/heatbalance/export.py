"""Responses of the data actions: CSV import, commissioning presettings, data export, and
the network export (the network as it is now, a file that imports again unchanged).

CSV parsing and validation are the engine loader's (rows and fields named in its errors);
imported inlets join the entry's own inlet list, and building inlets get a subentry (a
device) each — households stay aggregated, as at setup.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from homeassistant.config_entries import ConfigEntry, ConfigSubentry, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .archive_actions import sign
from .const import (
    CONF_DONE,
    CONF_INLET_ID,
    CONF_INLETS,
    CONF_LINK,
    CONF_SOURCE,
    DOMAIN,
    LINK_WIRED,
    SOURCE_SIMULATOR,
    SUBENTRY_COMMISSIONING,
    SUBENTRY_INLET,
)
from .coordinator import HeatbalanceCoordinator
from .engine.alarms import NETWORK
from .engine.building_list import estimate_network, read_building_list
from .engine.commissioning import commission
from .engine.loader import NetworkError, import_inlets_csv, network_data, network_to_dict
from .engine.model import Network
from .network_setup import (
    NETWORK_SUFFIXES,
    TABLE_SUFFIXES,
    definitions,
    network_source,
)
from .records import media_folder


def _read(path: str | None) -> bytes:
    return Path(str(path)).read_bytes()


async def async_import_csv(
    hass: HomeAssistant, coordinator: HeatbalanceCoordinator, text: str | None, path: str | None
) -> dict[str, Any]:
    """Add or replace inlets from a CSV table; the entry reloads with them."""
    if not text and not path:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="csv_missing")
    try:
        content: str | bytes = text if text else await hass.async_add_executor_job(_read, path)
    except OSError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="csv_unreadable",
            translation_placeholders={"error": str(err)},
        ) from err
    old = coordinator.network
    try:
        new = await hass.async_add_executor_job(import_inlets_csv, old, content)
    except NetworkError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="csv_invalid",
            translation_placeholders={"error": str(err)},
        ) from err
    changed = [iid for iid, inlet in new.inlets.items() if old.inlets.get(iid) != inlet]
    added = [iid for iid in changed if iid not in old.inlets]
    raw = {d["id"]: d for d in network_to_dict(new)["inlets"] if d["id"] in changed}
    entry = coordinator.config_entry
    kept = [d for d in definitions(entry.data) if d["id"] not in raw]
    hass.config_entries.async_update_entry(
        entry, data=dict(entry.data) | {CONF_INLETS: kept + list(raw.values())}
    )
    for iid in added:
        inlet = new.inlets[iid]
        if inlet.parent is None:
            hass.config_entries.async_add_subentry(
                entry,
                ConfigSubentry(
                    data=MappingProxyType(
                        {CONF_INLET_ID: iid, CONF_SOURCE: SOURCE_SIMULATOR, CONF_LINK: LINK_WIRED}
                    ),
                    subentry_type=SUBENTRY_INLET,
                    title=inlet.name or iid,
                    unique_id=iid,
                ),
            )
    return {"added": added, "replaced": [iid for iid in changed if iid not in added]}


async def commission_response(
    hass: HomeAssistant, coordinator: HeatbalanceCoordinator
) -> dict[str, Any]:
    """Presettings of every device from the engine's commissioning (§7.2.5, §7.2.6)."""
    record = await hass.async_add_executor_job(commission, coordinator.network)
    return record.as_dict()


def export_response(coordinator: HeatbalanceCoordinator) -> dict[str, Any]:
    """The network's current state for sharing (§5.3.9-4): settings, inlets, alarms."""
    result = coordinator.data
    settings = coordinator.settings
    inlets = {}
    heat = result.network_heat()
    for iid, r in result.inlets.items():
        rd = r.reading
        estimated = dict(r.filled)
        heat_estimate = result.heat_estimates.get(iid)
        if heat_estimate is not None:  # no trusted heat: the engine's
            estimated["heat_kw"] = heat_estimate
        inlets[iid] = {
            "name": coordinator.network.inlets[iid].name or iid,
            "supply_c": rd.supply_c,
            "return_c": rd.return_c,
            "room_c": rd.room_c,
            "flow_m3h": rd.flow_m3h,
            "opening": rd.opening,
            "command": r.command,
            "setpoint": r.setpoint,
            "deviation": r.deviation,
            "in_band": r.in_band,  # on the engine's estimate; on the reading beside it
            "in_band_readings": r.in_band_readings,
            "estimate_deviation": r.estimate_deviation,
            "uncertainty": r.uncertainty,  # ±2 σ of the estimate's deviation
            "heat_kw": r.heat_kw,
            "energy_kwh": r.energy_kwh,
            "success_rate": r.success_rate,
            # the engine's values where nothing was measured (issue 10 item 3), and why an
            # inlet is planned without a flow reading (its deviation and band are then the
            # plan's: in "estimated" too)
            "estimated": estimated,
            "open_loop": r.open_loop,
            # readings the engine rejected (shown raw above, unknown on the sensors), with why
            "flagged": {name: list(why) for name, why in r.flagged.items()},
        }
    return {
        "network": coordinator.network.name,
        "time_s": result.time_s,
        "settings": {
            "level": settings.level,
            "target": settings.target,
            "algorithm": settings.algorithm,
            "mode": settings.mode,
            "cycle_minutes": settings.cycle_minutes,
        },
        "indicators": {
            "share_in_band": result.share_in_band,  # % on the estimates (issue 9 item 1)
            "share_in_band_readings": result.share_in_band_readings,
            "return_spread_k": result.spread,
            "flow_deviation_spread": result.flow_deviation_spread,
            "balanced": result.balanced,
            "success_rate": result.success_rate,
            "outdoor_c": result.outdoor_c,
            "supply_c": result.supply_c,
            "return_c": result.return_c,
            "heat_kw": heat.kw,  # the substation meter's, the inlets' sum, or the estimate
            "heat_inlets_left_out": heat.left_out,  # … an estimate's inlets without one
            # the network model's, not measured; the heat where inlets' heat was filled in
            "estimated": sorted(result.modelled | ({"heat_kw"} if heat.estimated else set())),
        },
        "inlets": inlets,
        "alarms": [
            {
                "type": a.type,
                "grade": a.grade,
                "location": a.location if a.location != NETWORK else coordinator.network.name,
                "description": coordinator.events.describe(a),
                "acknowledged": a.acknowledged,
            }
            for a in coordinator.alarms.active.values()
        ],
    }


def learned_of(coordinator: HeatbalanceCoordinator) -> dict[str, Any]:
    """The running control loop's learnt corrections (§3.0.7-3); empty before it learnt."""
    loop = getattr(getattr(coordinator, "memory", None), "loop", None)
    learned = getattr(getattr(loop, "controller", None), "learned_corrections", None)
    return dict(learned()) if callable(learned) else {}


def commissioning_state(entry: ConfigEntry) -> list[dict[str, Any]]:
    """Every commissioning record of the entry (§7.2.6) with what is done and pending."""
    records = []
    for sub in entry.subentries.values():
        if sub.subentry_type != SUBENTRY_COMMISSIONING or "record" not in sub.data:
            continue
        record = dict(sub.data["record"])
        done = list(sub.data.get(CONF_DONE, []))
        records.append(
            {
                "title": sub.title,
                "done": done,
                "pending": [
                    r["inlet_id"] for r in record.get("inlets", []) if r["inlet_id"] not in done
                ],
                "record": record,
            }
        )
    return records


def _source_file(source: str) -> dict[str, Any]:
    """The entry's network file as data (empty for a built-in network or a building list)."""
    path = Path(source)
    if path.suffix.lower() not in NETWORK_SUFFIXES or not path.is_file():
        return {}
    try:
        return network_data(path.name, path.read_bytes())
    except NetworkError:  # damaged since it was loaded: the model is exported alone
        return {}


def _estimates(source: str, file: dict[str, Any]) -> list[dict[str, Any]]:
    """What the entry's source marks as estimated: a building list's estimates, or the
    ``estimates:`` of a network file (blocking)."""
    path = Path(source)
    if path.suffix.lower() in TABLE_SUFFIXES and path.is_file():
        buildings = read_building_list(path.read_bytes(), path.name)
        return [e.as_dict() for e in estimate_network(buildings, name=path.stem).estimates]
    estimates = file.get("estimates")
    return list(estimates) if isinstance(estimates, list) else []


def network_export(
    network: Network, source: str, learned: dict[str, Any], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """The network as it is now in the file format (blocking).

    The model with the inlets added in the UI, what is estimated, what the self-learning
    model corrected, the commissioning records. It loads again as the same network; the
    config flow restores its commissioning records. Learnt corrections are carried, not
    applied: a network imported from an export keeps the file's ``learned:`` in its own
    exports until its controller has learnt from more samples than the file's (its first
    cycle identifies the branches once, whatever the algorithm: that must not replace a
    season's corrections in the export).
    """
    file = _source_file(source)
    data = network_to_dict(network)
    if estimates := _estimates(source, file):
        data["estimates"] = estimates
    carried = file.get("learned")
    if isinstance(carried, dict) and _samples(carried) > _samples(learned):
        learned = dict(carried)
    data["learned"] = learned
    data["commissioning"] = records
    return data


def _samples(learned: dict[str, Any]) -> float:
    """How many samples the corrections rest on (a fresh controller reports neutral ones on
    none); a damaged file's entries count as none."""
    total = 0.0
    branches = learned.get("branches")
    for branch in branches.values() if isinstance(branches, dict) else ():
        samples = branch.get("samples") if isinstance(branch, dict) else None
        total += samples if isinstance(samples, int | float) and samples > 0 else 0
    pipe = learned.get("pipe_samples")
    return total + (pipe if isinstance(pipe, int | float) and pipe > 0 else 0)


def commissioning_subentries(source: str) -> list[ConfigSubentryData]:
    """The commissioning records an exported network file carries, as subentries (blocking)."""
    subentries = []
    for item in _source_file(source).get("commissioning") or []:
        if not isinstance(item, dict) or not isinstance(item.get("record"), dict):
            continue
        subentries.append(
            ConfigSubentryData(
                data={"record": item["record"], CONF_DONE: list(item.get(CONF_DONE) or [])},
                subentry_type=SUBENTRY_COMMISSIONING,
                title=str(item.get("title") or "Commissioning"),
                unique_id=None,
            )
        )
    return subentries


def write_export(folder: Path, data: dict[str, Any]) -> Path:
    """``data`` as ``<network>-network-<UTC time>.yaml`` in ``folder`` (blocking)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(data["name"]))
    path = folder / f"{slug}-network-{stamp}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def async_export_network(
    hass: HomeAssistant, coordinator: HeatbalanceCoordinator, link: dt.timedelta
) -> dict[str, Any]:
    """Write the network as it is now to HA's media folder; its path and a download link."""
    entry = coordinator.config_entry
    folder = media_folder(hass, entry.entry_id)

    def job() -> Path:
        data = network_export(
            coordinator.network,
            network_source(entry.data),
            learned_of(coordinator),
            commissioning_state(entry),
        )
        return write_export(folder, data)

    try:
        path = await hass.async_add_executor_job(job)
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="export_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    return {
        "file": str(path),
        "link": sign(hass, entry.entry_id, path.name, link, content_user=False),
        "media": f"media-source://media_source/local/heatbalance/{entry.entry_id}/{path.name}",
        "inlets": len(coordinator.network.inlets),
        "commissioning_records": len(commissioning_state(entry)),
    }
