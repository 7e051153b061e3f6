"""Home Assistant glue of the operator's archive (``engine/archive.py``): open, feed, close.

One archive writer per network entry. The coordinator hands each cycle's result to
:func:`archive_cycle` (one call); the record is built and written by the writer's thread, so
the event loop only queues. Alarm and audit events reach the archive from the bus, with the
calling user; option and inlet changes are diffed here (old → new, §5.3.6-7) whoever made
them — options dialog, subentry editor, entity or action — and put on the audit log. The
archive lives beside HA's recorder and is never purged by it: its own retention keeps the
current and the previous heating season (§5.2.6, §5.3.9-1).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util

from .audit import async_audit
from .backup import async_check_backups
from .const import DATA_RECORDS, DOMAIN, EVENT_ALARM, EVENT_AUDIT
from .engine.archive import (
    Archive,
    ArchiveError,
    ArchiveWriter,
    CycleRecord,
    EventRecord,
    InletSample,
    retention_cutoff,
    sqlite_url,
)
from .settings import DEFAULT_OPTIONS

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .coordinator import HeatbalanceCoordinator

_LOGGER = logging.getLogger(__name__)
CONF_ARCHIVE_URL = "archive_url"
ARCHIVE_FILE = "heatbalance_archive.db"
KEEP_SEASONS = 2
# the cleaning's signal names → the archive's
_FLAG_NAMES = {"supply": "supply_c", "return": "return_c", "flow": "flow_m3h", "room": "room_c"}
_ESTIMATED_NAMES = {"dp_available_kpa": "dp_kpa"}  # Reading's field names → the archive's
# an inlet planned without a flow reading: its actual value, deviation and band are the plan's
_ON_PLAN = frozenset({"actual", "deviation", "flow_deviation", "in_band"})


@dataclass
class Records:
    """One entry's archive writer and what the glue remembers between calls."""

    writer: ArchiveWriter
    network: str  # the entry id: stable across renames
    balanced: bool | None = None
    last_ts: float | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)  # options and subentries, last seen
    own_change: bool = False  # an audited change of ours is being stored

    @property
    def archive(self) -> Archive:
        """The database behind the writer."""
        return self.writer.archive


def default_url(hass: HomeAssistant) -> str:
    """The SQLite file in HA's config folder (inside HA's backups)."""
    return sqlite_url(hass.config.path(ARCHIVE_FILE))


def records_of(hass: HomeAssistant, entry_id: str) -> Records | None:
    """The entry's archive, when it is open."""
    found: Records | None = hass.data.get(DATA_RECORDS, {}).get(entry_id)
    return found


async def async_setup_records(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Open the entry's archive (SQLite by default, PostgreSQL by the options' URL)."""
    url = entry.options.get(CONF_ARCHIVE_URL) or default_url(hass)
    try:
        archive = await hass.async_add_executor_job(Archive, url, hass.config.time_zone)
    except ArchiveError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="archive_unavailable",
            translation_placeholders={"error": str(err)},
        ) from err
    records = Records(ArchiveWriter(archive), entry.entry_id, snapshot=_settings_of(entry))
    hass.data.setdefault(DATA_RECORDS, {})[entry.entry_id] = records
    async_check_backups(hass)

    async def close(*_: Any) -> None:
        if hass.data.get(DATA_RECORDS, {}).pop(entry.entry_id, None) is not None:
            await hass.async_add_executor_job(records.writer.close)

    entry.async_on_unload(close)
    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, close))
    entry.async_on_unload(hass.bus.async_listen(EVENT_ALARM, _on_event(hass, records, "alarm")))
    entry.async_on_unload(hass.bus.async_listen(EVENT_AUDIT, _on_event(hass, records, "audit")))
    entry.async_on_unload(entry.add_update_listener(_async_audit_changes))
    entry.async_on_unload(
        async_track_time_change(hass, _daily(hass, records), hour=3, minute=17, second=0)
    )


async def async_check_archive(
    hass: HomeAssistant, url: str | None, field_name: str
) -> dict[str, str]:
    """Form errors when an operator's archive URL cannot be opened (empty: SQLite, fine)."""
    if not url:
        return {}

    def probe() -> None:
        Archive(url, hass.config.time_zone).close()

    try:
        await hass.async_add_executor_job(probe)
    except (ArchiveError, ValueError, ImportError) as err:  # refused, bad URL, no driver
        _LOGGER.warning("archive %s not usable: %s", url.split("@")[-1], err)
        return {field_name: "archive_unreachable"}
    return {}


# --- cycles ---------------------------------------------------------------------------------
@callback
def archive_cycle(coordinator: HeatbalanceCoordinator, result: Any) -> None:
    """Queue one cycle of the coordinator (the hook after each cycle; never raises)."""
    records = records_of(coordinator.hass, coordinator.config_entry.entry_id)
    if records is None:
        return
    now = dt_util.utcnow().timestamp()
    dt_s = now - records.last_ts if records.last_ts else coordinator.plant.interval.total_seconds()
    records.last_ts = now
    network = coordinator.network
    records.writer.submit(lambda: cycle_record(records.network, now, dt_s, result, network))
    balanced = bool(result.balanced)
    if records.balanced is not None and balanced != records.balanced:
        records.writer.submit(
            EventRecord(
                records.network,
                now,
                "balance",
                "balanced" if balanced else "unbalanced",
                details={"share_in_band": result.share_in_band, "spread": result.spread},
            )
        )
    records.balanced = balanced


def cycle_record(
    network_key: str, ts: float, dt_s: float, result: Any, network: Any
) -> CycleRecord:
    """The archive's record of a cycle result (built in the writer's thread)."""
    figures = {
        name: getattr(result, name, None)
        for name in (
            "outdoor_c",
            "supply_c",
            "return_c",
            "pump_flow_m3h",
            "pump_power_w",
            "pump_speed",
            "heat_kw",
            "forecast_kw",
            "share_in_band",
            "spread",
            "balanced",
            "success_rate",
        )
    }
    heat = result.network_heat()  # the sensor's figure, with its flags (issue 10 item 3)
    figures |= {"heat_kw": heat.kw, "heat_estimated": heat.estimated}
    figures["heat_left_out"] = heat.left_out
    record = CycleRecord(network_key, ts, dt_s, figures)
    for iid, inlet in result.inlets.items():
        reading = inlet.reading
        values = {
            "supply_c": reading.supply_c,
            "return_c": reading.return_c,
            "flow_m3h": reading.flow_m3h,
            "room_c": reading.room_c,
            "opening": reading.opening,
            "dp_kpa": reading.dp_available_kpa,
            "heat_kw": inlet.heat_kw,
            "setpoint": inlet.setpoint,
            "actual": inlet.actual,
            "deviation": inlet.deviation,
            "flow_deviation": inlet.flow_deviation,
            "command": inlet.command,
        }
        flagged = {_FLAG_NAMES.get(name.split(".")[0], name) for name in inlet.flagged}
        # as the plant flagged them: a real inlet's ΔP without transmitters is the model's
        estimated = {_ESTIMATED_NAMES.get(n, n) for n in getattr(reading, "estimated", ())}
        if "flow_deviation" in inlet.filled:  # planned without a flow reading: on the plan
            estimated |= _ON_PLAN if "deviation" in inlet.filled else {"flow_deviation"}
        record.samples.append(
            InletSample(
                iid,
                values,
                inlet.in_band,
                tuple(flagged),
                tuple(estimated),
                reading.attempted,
                reading.received,
            )
        )
        model = network.inlets.get(iid)
        if model is not None:
            record.inlet_info[iid] = (model.name or iid, model.heating_area_m2)
    return record


# --- alarms, audit, commissioning -----------------------------------------------------------
def _on_event(hass: HomeAssistant, records: Records, kind: str) -> Any:
    """A bus listener storing the entry's alarm or audit events with their user."""

    async def listener(event: Event) -> None:
        data = dict(event.data)
        if data.get("config_entry_id") != records.network:
            return
        user_id = event.context.user_id
        user = await hass.auth.async_get_user(user_id) if user_id else None
        if kind == "alarm":
            action, location = data.get("status", "?"), data.get("location")
            details = {
                k: v for k, v in data.items() if k not in ("config_entry_id", "status", "location")
            }
        else:
            action, location = data.get("action", "?"), data.get("entity_id")
            details = dict(data.get("details") or {})
        records.writer.submit(
            EventRecord(
                records.network,
                event.time_fired.timestamp(),
                kind,
                str(action),
                location,
                user_id,
                user.name if user else None,
                details,
            )
        )

    return listener


def archive_commissioning(hass: HomeAssistant, entry_id: str, response: dict[str, Any]) -> None:
    """Keep a commissioning calculation's presettings (the site's record of it)."""
    records = records_of(hass, entry_id)
    if records is not None:
        records.writer.submit(
            EventRecord(
                records.network,
                dt_util.utcnow().timestamp(),
                "commissioning",
                "presettings",
                details=response,
            )
        )


def _settings_of(entry: ConfigEntry) -> dict[str, Any]:
    """What an audit of changes compares: the options and every subentry's data."""
    subs = {f"{sub.subentry_type}:{sub.title}": dict(sub.data) for sub in entry.subentries.values()}
    return {"options": DEFAULT_OPTIONS | dict(entry.options), "subentries": subs}


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed keys of two flat mappings: key → [old, new] (added: old None; removed: new None)."""
    return {
        k: [old.get(k), new.get(k)]
        for k in sorted(old.keys() | new.keys())
        if old.get(k) != new.get(k)
    }


@contextmanager
def audited_change(hass: HomeAssistant, entry: ConfigEntry) -> Iterator[None]:
    """An entity or action changes the entry and audits that itself (with its user): the
    change is taken as seen, not audited twice."""
    records = records_of(hass, entry.entry_id)
    if records is not None:
        records.own_change = True
    try:
        yield
    finally:
        if records is not None:
            records.own_change = False
            records.snapshot = _settings_of(entry)


async def _async_audit_changes(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The entry changed: audit each changed option and inlet setting, old → new.

    Who: the user of the HTTP or websocket request that made the change (the options dialog
    and the subentry editor are admin-only in HA); none for automations and scripts.
    """
    records = records_of(hass, entry.entry_id)
    if records is None:
        return
    if records.own_change:
        return
    old, new = records.snapshot, _settings_of(entry)
    records.snapshot = new
    context = Context(user_id=_request_user(hass))
    options = diff(old.get("options", {}), new["options"])
    if options:
        async_audit(hass, entry.entry_id, "options_changed", context, changes=options)
    old_subs, new_subs = old.get("subentries", {}), new["subentries"]
    for key in sorted(old_subs.keys() | new_subs.keys()):
        changes = diff(old_subs.get(key) or {}, new_subs.get(key) or {})
        if changes:
            action = (
                "inlet_added"
                if key not in old_subs
                else "inlet_removed"
                if key not in new_subs
                else "inlet_changed"
            )
            async_audit(
                hass, entry.entry_id, action, context, inlet=key.split(":", 1)[1], changes=changes
            )


def _request_user(hass: HomeAssistant) -> str | None:
    """The user behind the websocket or HTTP request being served, if any."""
    from homeassistant.components import websocket_api
    from homeassistant.components.http.const import KEY_HASS_USER
    from homeassistant.helpers.http import current_request

    if (connection := websocket_api.current_connection.get()) is not None:
        return connection.user.id if connection.user else None
    request = current_request.get()
    user = request.get(KEY_HASS_USER) if request is not None else None
    return user.id if user is not None else None


# --- retention ------------------------------------------------------------------------------
def _daily(hass: HomeAssistant, records: Records) -> Any:
    """Once a day: roll up yesterday, drop what is older than the kept seasons."""

    async def run(now: datetime) -> None:
        local = dt_util.as_local(now).date()
        cutoff = retention_cutoff(local, KEEP_SEASONS)
        start = dt_util.start_of_local_day(cutoff).timestamp()
        archive = records.archive

        def job() -> None:
            archive.purge(start)
            archive.ensure_rolled_up(records.network, (local - timedelta(days=1)).toordinal())

        try:
            await hass.async_add_executor_job(job)
        except ArchiveError as err:  # the next day tries again
            _LOGGER.warning("heatbalance archive upkeep failed: %s", err)
        async_check_backups(hass)

    return run


def media_folder(hass: HomeAssistant, entry_id: str) -> Path:
    """Where reports go: HA's local media folder, which the media browser shows."""
    base = hass.config.media_dirs.get("local") or hass.config.path("media")
    return Path(base) / "heatbalance" / entry_id
