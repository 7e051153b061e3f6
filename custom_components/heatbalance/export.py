"""Responses of the data actions: CSV import, commissioning presettings, data export.

CSV parsing and validation are the engine loader's (rows and fields named in its errors);
imported inlets join the entry's own inlet list, and building inlets get a subentry (a
device) each — households stay aggregated, as at setup.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .const import (
    CONF_INLET_ID,
    CONF_INLETS,
    CONF_LINK,
    CONF_SOURCE,
    DOMAIN,
    LINK_WIRED,
    SOURCE_SIMULATOR,
    SUBENTRY_INLET,
)
from .coordinator import HeatbalanceCoordinator
from .engine.alarms import NETWORK
from .engine.commissioning import commission
from .engine.loader import NetworkError, import_inlets_csv, network_to_dict
from .network_setup import definitions


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
    for iid, r in result.inlets.items():
        rd = r.reading
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
            "in_band": r.in_band,
            "heat_kw": r.heat_kw,
            "energy_kwh": r.energy_kwh,
            "success_rate": r.success_rate,
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
            "share_in_band": result.share_in_band,
            "return_spread_k": result.spread,
            "flow_deviation_spread": result.flow_deviation_spread,
            "balanced": result.balanced,
            "success_rate": result.success_rate,
            "outdoor_c": result.outdoor_c,
            "supply_c": result.supply_c,
            "return_c": result.return_c,
            "heat_kw": result.heat_kw,
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
