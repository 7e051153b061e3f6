"""Backlog history of gateway inlets: a durable journal, imported into the recorder's statistics.

The gateway deletes an outbox row once the integration acknowledges it (gateway_source.py),
so a replayed backlog must be durable on this side *before* the ack, or a Home Assistant
crash right after a replay loses it (resume after interruption without loss, §6.0.3). The
live state cannot hold it: a late reading never overwrites newer state, and the recorder only
keeps states at the time they were set, not at the gateway's original timestamps.

So backlog readings go to an append-only JSON-lines journal under ``<config>/.storage/``
(flushed and fsync'd before the ack), and from there into the hourly long-term statistics of
the inlet's own sensors (flow, supply and return temperature, valve position) at their
original hours (what was acquired every ≤30 min, §4.3.4, at its acquisition time). An hour is
imported only when it is complete and the recorder has no row of its own for it: rows compiled
from live states win and are never overwritten. The import is an upsert and re-runs on every
start, so a crash between the journal write and the import loses nothing.

The pure parts (record format, reading the journal, pruning, hourly aggregation) import no
Home Assistant and are tested without it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from .engine.control.base import usable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from homeassistant.core import CALLBACK_TYPE, HomeAssistant

_LOGGER = logging.getLogger(__name__)

JOURNAL_PREFIX = "heatbalance.gateway_journal"
RETENTION_S = 10 * 86_400.0
"""Journal entries older than this are pruned on start: long enough to cover a long outage
plus the gateway's own TTL (its outbox holds at most days), short enough to keep the file and
the restart re-import small. Statistics already imported stay in the recorder."""
LATE_S = 120.0
"""The late window: a reading older than this on arrival is backlog. Live batches arrive within
seconds of their poll; 2 min is the stale window (2 cycles, §6.0.6) at the shortest cycle
(1 min), so anything the source would no longer show as live state is journaled."""
HOUR_S = 3600.0
COMPILE_MARGIN_S = 15 * 60.0
"""An hour is imported only this long after it ended: by then the recorder has compiled its
own row for it from live states (it does so within seconds of the hour's end)."""
IMPORT_DELAY_S = 60.0  # a replay arrives in many batches: import once after it
STATISTICS_SOURCE = (
    "recorder"  # statistics of entities are the recorder's (async_import_statistics)
)

# Sensor key (sensor.py, unique id ``<entry>_<inlet>_<key>``) → (device kind, value name, unit).
SIGNALS: dict[str, tuple[str, str, str]] = {
    "flow": ("meter", "flow", "m³/h"),
    "supply_temperature": ("meter", "supply_temperature", "°C"),
    "return_temperature": ("meter", "return_temperature", "°C"),
    "valve_position": ("valve", "position_feedback", "%"),
}
TEMPERATURES = ("supply_temperature", "return_temperature")


# --- pure: records, journal text, aggregation ---------------------------------------------------
def message_id(gateway: str, stream: str, seq: int) -> str:
    """A reading's identity across restarts: the gateway's outbox stream and sequence."""
    return f"{gateway}/{stream}/{seq}"


def is_backlog(ts: float, is_latest: bool, arrival: float, late_s: float) -> bool:
    """A reading is backlog when it arrives late (older than ``late_s``) or is not the newest
    state of its device: either way the live state does not show it, only history can."""
    return not is_latest or ts < arrival - late_s


def record(gateway: str, stream: str, reading: Mapping[str, Any]) -> dict[str, Any]:
    """A journal record of one parsed gateway reading (gateway_source.parse_batch)."""
    return {
        "id": message_id(gateway, stream, int(reading["seq"])),
        "ts": float(reading["ts"]),
        "device": str(reading["device"]),
        "values": dict(reading["values"]),
    }


def encode(records: Iterable[Mapping[str, Any]]) -> bytes:
    """JSON lines, one record a line."""
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)


def _valid(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("values"), dict):
        raise ValueError("not a record")
    ts = float(raw["ts"])
    if not math.isfinite(ts):
        raise ValueError("timestamp not finite")
    return {"id": str(raw["id"]), "ts": ts, "device": str(raw["device"]), "values": raw["values"]}


def parse(lines: Iterable[bytes | str]) -> tuple[list[dict[str, Any]], int]:
    """Records of a journal and the number of damaged lines (skipped, never fatal: a crash
    mid-append leaves at most a torn last line). A repeated id keeps its first record."""
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    damaged = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            rec = _valid(json.loads(line))
        except (ValueError, TypeError, KeyError):
            damaged += 1
            continue
        if rec["id"] not in seen:
            seen.add(rec["id"])
            records.append(rec)
    return records, damaged


def prune(records: list[dict[str, Any]], now: float, retention_s: float) -> list[dict[str, Any]]:
    """Records younger than the retention."""
    return [r for r in records if r["ts"] >= now - retention_s]


@dataclass(slots=True)
class HourStats:
    """Mean, min and max of one signal over one clock hour."""

    total: float = 0.0
    count: int = 0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        """Take one sample."""
        self.total += value
        self.count += 1
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    @property
    def mean(self) -> float:
        """Arithmetic mean of the samples."""
        return self.total / self.count


def _hour(ts: float) -> float:
    """Start of the clock hour (UTC epoch seconds) of ``ts``."""
    return math.floor(ts / HOUR_S) * HOUR_S


def hourly(
    records: Iterable[Mapping[str, Any]],
    devices: Mapping[str, tuple[str, str]],
    complete_before: float,
) -> dict[tuple[str, str], dict[float, HourStats]]:
    """Per (inlet, sensor key) and hour start (UTC epoch): the journal's statistics, for hours
    ending at or before ``complete_before``. ``devices`` maps a gateway device to (inlet, kind)
    as the source does; temperatures come from the meter, from the valve only for an inlet
    without a meter (as GatewaySource.reading reads them). Devices of no inlet are skipped."""
    metered = {inlet for inlet, kind in devices.values() if kind == "meter"}
    out: dict[tuple[str, str], dict[float, HourStats]] = {}
    for rec in records:
        hour = _hour(rec["ts"])
        where = devices.get(rec["device"])
        if where is None or hour + HOUR_S > complete_before:
            continue
        inlet, kind = where
        for key, (source_kind, name, _unit) in SIGNALS.items():
            own = source_kind == kind or (key in TEMPERATURES and inlet not in metered)
            value = usable(rec["values"].get(name)) if own else None
            if value is not None:
                out.setdefault((inlet, key), {}).setdefault(hour, HourStats()).add(value)
    return out


# --- the journal file (blocking I/O: run in the executor) ---------------------------------------
@dataclass(slots=True)
class Journal:
    """Append-only JSON-lines file of backlog readings; records and ids mirror it."""

    path: str
    records: list[dict[str, Any]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    damaged: int = 0

    def load(self, now: float, retention_s: float = RETENTION_S) -> None:
        """Read the file, skip damaged lines, prune old records; rewrite it atomically when
        anything was dropped (a crash during the rewrite leaves the old file whole)."""
        try:
            with open(self.path, "rb") as file:
                records, damaged = parse(file)
        except FileNotFoundError:
            records, damaged = [], 0
        kept = prune(records, now, retention_s)
        if damaged or len(kept) < len(records):
            self._rewrite(kept)
        self.records, self.damaged = kept, damaged
        self.ids = {r["id"] for r in kept}

    def _rewrite(self, records: list[dict[str, Any]]) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "wb") as file:
            file.write(encode(records))
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, self.path)

    def new(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Those records not journaled yet (dedup by message id), each once."""
        out, seen = [], set(self.ids)
        for rec in records:
            if rec["id"] not in seen:
                seen.add(rec["id"])
                out.append(rec)
        return out

    def write(self, records: list[dict[str, Any]]) -> None:
        """Append, flush and fsync (blocking: the executor's part; the caller then calls
        :meth:`committed`, on the event loop)."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "ab+") as file:
            # after a torn last line, start a fresh line so the new records stay readable
            torn = file.tell() > 0 and file.seek(-1, os.SEEK_END) >= 0 and file.read(1) != b"\n"
            file.write((b"\n" if torn else b"") + encode(records))
            file.flush()
            os.fsync(file.fileno())

    def committed(self, records: list[dict[str, Any]]) -> None:
        """Mirror records that :meth:`write` made durable."""
        self.records.extend(records)
        self.ids.update(r["id"] for r in records)


type Imported = dict[str, dict[float, int]]
"""Per statistic id: the hours this module imported itself and from how many readings."""


def load_imported(path: str) -> Imported:
    """The imported hours ({} when the file is missing or damaged: hours without a recorder
    row are then still imported, only a later update of an imported hour would be missed)."""
    try:
        with open(path, "rb") as file:
            raw = json.load(file)
        return {str(k): {float(h): int(n) for h, n in v.items()} for k, v in raw.items()}
    except FileNotFoundError:
        return {}
    except (ValueError, TypeError, AttributeError) as err:
        _LOGGER.warning("Ignoring damaged %s: %r", path, err)
        return {}


def save_imported(path: str, imported: Imported, oldest: float) -> None:
    """Write the imported hours (younger than ``oldest``) atomically."""
    data = {k: {str(h): n for h, n in v.items() if h >= oldest} for k, v in imported.items()}
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as file:
        json.dump(data, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)


def _take_over(old: str, new: str) -> None:
    """Rename an older journal (and its imported-hours file) to the new name, unless the new
    one exists already (then another entry took it over first)."""
    for suffix in ("", ".imported.json"):
        source = old if not suffix else f"{old[: -len('.jsonl')]}{suffix}"
        target = new if not suffix else f"{new[: -len('.jsonl')]}{suffix}"
        if os.path.exists(source) and not os.path.exists(target):
            os.replace(source, target)


# --- Home Assistant side -----------------------------------------------------------------------
def to_unit(unit: str, target: str | None) -> Callable[[float], float] | None:
    """Conversion of values in ``unit`` to ``target`` (None when the two do not convert)."""
    from homeassistant.components.recorder.statistics import STATISTIC_UNIT_TO_UNIT_CONVERTER

    if target == unit:
        return float
    converter = STATISTIC_UNIT_TO_UNIT_CONVERTER.get(unit)
    if converter is None or target not in converter.VALID_UNITS:
        return None
    return partial(converter.convert, from_unit=unit, to_unit=target)


def storage_dir(hass: HomeAssistant) -> str:
    """Where journals live: Home Assistant's own ``.storage`` (kept in its backups)."""
    return hass.config.path(".storage")


class BacklogHistory:
    """Journal of one gateway source (by topic base) and its import into statistics."""

    def __init__(
        self,
        hass: HomeAssistant,
        base: str,
        devices: Mapping[str, tuple[str, str]],
        clock: Callable[[], float],
        late_s: float,
        legacy: str | None = None,
    ) -> None:
        """``devices`` is the source's device → (inlet, kind) map; ``late_s`` the late window
        (the source passes :data:`LATE_S`). ``base`` names the journal (the config entry);
        ``legacy`` the name it had before (the topic base): an existing journal of that name
        is taken over on load, so an upgrade leaves no backlog behind."""
        self.hass = hass
        self.devices = devices
        self.clock = clock
        self.late_s = late_s
        self.journal = Journal(os.path.join(storage_dir(hass), f"{JOURNAL_PREFIX}.{base}.jsonl"))
        self.legacy = (
            None
            if legacy is None or legacy == base
            else os.path.join(storage_dir(hass), f"{JOURNAL_PREFIX}.{legacy}.jsonl")
        )
        self.imported_path = f"{self.journal.path[: -len('.jsonl')]}.imported.json"
        self.imported: Imported = {}
        self.imported_rows = 0
        self._timer: CALLBACK_TYPE | None = None
        self._importing = asyncio.Lock()  # a start's import and a timer's never overlap

    async def async_load(self) -> None:
        """Load and prune the journal and the imported-hours file."""
        if self.legacy is not None:
            await self.hass.async_add_executor_job(_take_over, self.legacy, self.journal.path)
        await self.hass.async_add_executor_job(self.journal.load, self.clock())
        if self.journal.damaged:
            _LOGGER.warning(
                "Skipped %d damaged line(s) of %s", self.journal.damaged, self.journal.path
            )
        self.imported = await self.hass.async_add_executor_job(load_imported, self.imported_path)

    async def async_record(
        self, gateway: str, stream: str, items: Iterable[Any], arrival: float
    ) -> int:
        """Journal a batch's new backlog readings durably; returns how many were written.
        ``items`` are gateway_source.Item (reading, is_new, is_latest)."""
        return await self.async_record_batches(gateway, [(stream, list(items), arrival)])

    async def async_record_batches(
        self, gateway: str, batches: Iterable[tuple[str, Iterable[Any], float]]
    ) -> int:
        """:meth:`async_record` for several batches as (stream, items, arrival): one write."""
        late = [
            record(gateway, stream, item.reading)
            for stream, items, arrival in batches
            for item in items
            if item.is_new and is_backlog(item.reading["ts"], item.is_latest, arrival, self.late_s)
        ]
        fresh = self.journal.new(late)
        if not fresh:
            return 0
        await self.hass.async_add_executor_job(self.journal.write, fresh)
        self.journal.committed(fresh)
        self.schedule_import(IMPORT_DELAY_S)
        return len(fresh)

    def schedule_import(self, delay_s: float) -> None:
        """Import after ``delay_s`` unless an import is already scheduled."""
        from homeassistant.helpers.event import async_call_later

        if self._timer is None:
            self._timer = async_call_later(self.hass, delay_s, self._fire)

    async def _fire(self, _now: Any) -> None:
        self._timer = None
        await self.async_import()

    def stop(self) -> None:
        """Cancel a scheduled import (the journal is already durable)."""
        if self._timer is not None:
            self._timer()
            self._timer = None

    async def async_import(self) -> int:
        """Import the journal's complete hours that the recorder has no own row for; returns
        the number of hourly rows handed to the recorder. Hours not complete yet are
        imported by a later run, scheduled here."""
        async with self._importing:
            return await self._async_import()

    async def _async_import(self) -> int:
        from homeassistant.components.recorder import get_instance

        if "recorder" not in self.hass.config.components:
            return 0
        if not await asyncio.shield(get_instance(self.hass).async_db_ready):
            return 0  # the recorder failed to start: the journal waits for the next start
        now = self.clock()
        complete_before = now - COMPILE_MARGIN_S
        # off the event loop: ~1 s per 100,000 readings (benchmarks/bench_gateway_journal.py)
        stats = await self.hass.async_add_executor_job(
            hourly, list(self.journal.records), dict(self.devices), complete_before
        )
        rows = 0
        for (inlet, key), hours in stats.items():
            rows += await self._import_one(inlet, key, hours)
        if rows:
            oldest = now - RETENTION_S - HOUR_S
            await self.hass.async_add_executor_job(
                save_imported, self.imported_path, self.imported, oldest
            )
        ends = (_hour(r["ts"]) + HOUR_S for r in self.journal.records)
        if (first := min((e for e in ends if e > complete_before), default=None)) is not None:
            self.schedule_import(max(first + COMPILE_MARGIN_S - now, 1.0))
        self.imported_rows += rows
        return rows

    async def _import_one(self, inlet: str, key: str, hours: dict[float, HourStats]) -> int:
        from homeassistant.components.recorder.statistics import async_import_statistics
        from homeassistant.util import dt as dt_util

        from .compat import mean_statistic_metadata

        entity_id = self.entity_id(inlet, key)
        if entity_id is None:
            return 0
        ours = self.imported.setdefault(entity_id, {})
        taken, series = await self._recorded(entity_id, min(hours), max(hours) + HOUR_S)
        unit = SIGNALS[key][2] if series is None else series[0]
        convert = to_unit(SIGNALS[key][2], unit)
        if convert is None:
            _LOGGER.warning("%s keeps statistics in %s: backlog not imported", entity_id, unit)
            return 0
        # no row yet (also: imported, but a crash came before the recorder committed it), or
        # our own row and the journal has more readings of that hour now
        todo = sorted(
            h for h in hours if h not in taken or ours.get(h, hours[h].count) != hours[h].count
        )
        if not todo:
            return 0
        rows = [
            {
                "start": dt_util.utc_from_timestamp(h),
                "mean": convert(hours[h].mean),
                "min": convert(hours[h].low),
                "max": convert(hours[h].high),
            }
            for h in todo
        ]
        meta = mean_statistic_metadata(entity_id, STATISTICS_SOURCE, unit)
        async_import_statistics(self.hass, meta, rows)  # type: ignore[arg-type]
        ours.update((h, hours[h].count) for h in todo)
        return len(rows)

    async def _recorded(
        self, entity_id: str, start: float, end: float
    ) -> tuple[set[float], tuple[str | None] | None]:
        """Hours of ``entity_id`` the recorder already has a row for, and the unit its series
        is kept in, as a 1-tuple (None: no series yet; the unit itself may be None). A user may
        have chosen another display unit (°F, L/min): the recorder keeps the series in it, so
        imports must use it too."""
        from homeassistant.components.recorder import get_instance
        from homeassistant.components.recorder.statistics import (
            get_metadata,
            statistics_during_period,
        )
        from homeassistant.util import dt as dt_util

        recorder = get_instance(self.hass)
        found = await recorder.async_add_executor_job(
            statistics_during_period,
            self.hass,
            dt_util.utc_from_timestamp(start),
            dt_util.utc_from_timestamp(end),
            {entity_id},
            "hour",
            None,
            {"mean"},
        )
        meta = await recorder.async_add_executor_job(
            partial(get_metadata, self.hass, statistic_ids={entity_id})
        )
        series = (meta[entity_id][1]["unit_of_measurement"],) if entity_id in meta else None
        return {float(row["start"]) for row in found.get(entity_id, [])}, series

    def entity_id(self, inlet: str, key: str) -> str | None:
        """The inlet's sensor for ``key`` (unique id ``<entry>_<inlet>_<key>``, entity.py);
        None when no or more than one heatbalance network has it (not ours to guess)."""
        from homeassistant.helpers import entity_registry as er

        from .const import DOMAIN

        registry = er.async_get(self.hass)
        found = {
            entity_id
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if (
                entity_id := registry.async_get_entity_id(
                    "sensor", DOMAIN, f"{entry.entry_id}_{inlet}_{key}"
                )
            )
        }
        if len(found) != 1:
            if found:
                _LOGGER.warning("Inlet %s is in several networks: backlog not imported", inlet)
            return None
        return found.pop()
