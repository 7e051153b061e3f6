"""The operator's archive: every cycle of every inlet, alarms, audit, kept for seasons.

§5.2.6 / §5.3.9-1 ask for operating data, device states and alarms kept for a whole heating
season; Home Assistant's recorder purges after 10 days. This archive is independent of it:
an SQLite file by default, or any PostgreSQL server by URL (TimescaleDB hypertables when the
extension is there). Plain Python on SQLAlchemy Core — the library HA's own recorder uses, so
it ships in HA's venv and speaks both databases with one schema and one query language.
No Home Assistant here: the integration's glue (``records.py``) feeds it from a thread.

Compactness: samples are scaled integers (centi-°C, L/h, per-mille openings, W), which SQLite
stores in 1–3 bytes instead of 8 per REAL, in a table clustered on (cycle, inlet) so a cycle
is appended in one page run. Reports read daily roll-ups derived from the samples by SQL.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

_LOGGER = logging.getLogger(__name__)
SCHEMA_VERSION = 3
# scaled-integer signals of a sample: name → scale (stored = round(value × scale))
SIGNALS: dict[str, int] = {
    "supply_c": 100,
    "return_c": 100,
    "flow_m3h": 1000,
    "room_c": 100,
    "opening": 1000,  # valve feedback 0…1
    "dp_kpa": 100,
    "heat_kw": 1000,
    "setpoint": 1000,
    "actual": 1000,
    "deviation": 1000,
    "flow_deviation": 100,  # % of set flow
    "command": 1000,  # opening commanded (auto) or proposed (manual), 0…1
}
_SCALES = tuple(SIGNALS.items())
INLET_SIGNALS = (*SIGNALS, "in_band")  # what a history of one inlet can show
# what a history of the network can show: each cycle's figures
CYCLE_SIGNALS = ("heat_kw", "share_in_band", "spread", "supply_c", "return_c", "outdoor_c",
                 "pump_flow_m3h", "pump_power_w", "forecast_kw", "balanced")  # fmt: skip
# a cycle's heat_kw is no measurement where the inlets' heat was partly the engine's: then
# ``heat_estimated`` is true and ``heat_left_out`` counts the inlets neither measured nor
# estimated (the heat under-reports by theirs); issue 10 item 3
HEAT_FLAGS = ("heat_estimated", "heat_left_out")
SAMPLE_COLUMNS = ("cycle_id", "inlet", *SIGNALS, "in_band", "quality", "attempted", "received")
# signals carrying a quality flag: bit i = cleaned/flagged, bit i+8 = estimated (not measured)
QUALITY_SIGNALS = ("supply_c", "return_c", "flow_m3h", "room_c", "opening", "dp_kpa")
COMFORT_C = (18.0, 24.0)  # room band of the degree-hours (§4.1.1 design indoor 18 °C)
EVENT_KINDS = ("balance", "alarm", "audit", "commissioning")

metadata = MetaData()
meta_table = Table(
    "hb_meta", metadata, Column("key", String(32), primary_key=True), Column("value", Text)
)
cycles = Table(
    "hb_cycles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(64), nullable=False),
    Column("ts", Float, nullable=False),  # Unix seconds, UTC
    Column("day", Integer, nullable=False),  # local date ordinal: roll-ups and reports
    Column("dt_s", Float, nullable=False),  # the cycle's duration (energy integrals)
    Column("outdoor_c", Float),
    Column("supply_c", Float),
    Column("return_c", Float),
    Column("pump_flow_m3h", Float),
    Column("pump_power_w", Float),
    Column("pump_speed", Float),
    Column("heat_kw", Float),
    Column("heat_estimated", Boolean),  # schema 3: None in cycles written before
    Column("heat_left_out", Integer),
    Column("forecast_kw", Float),
    Column("share_in_band", Float),
    Column("spread", Float),
    Column("balanced", Boolean),
    Column("success_rate", Float),
    Index("ix_hb_cycles_network_ts", "network", "ts"),
    Index("ix_hb_cycles_network_day", "network", "day"),
)
inlets = Table(
    "hb_inlets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(64), nullable=False),
    Column("inlet_id", String(64), nullable=False),
    Column("name", String(128)),
    Column("area_m2", Float),
    Index("ux_hb_inlets", "network", "inlet_id", unique=True),
)
samples = Table(
    "hb_samples",
    metadata,
    Column("cycle_id", Integer, primary_key=True, autoincrement=False),
    Column("inlet", Integer, primary_key=True, autoincrement=False),
    *(Column(name, Integer) for name in SIGNALS),
    Column("in_band", Boolean),
    Column("quality", Integer, nullable=False, default=0),
    Column("attempted", Integer, nullable=False, default=0),  # §6.0.6 transmissions
    Column("received", Integer, nullable=False, default=0),  # ... answered at first try
    sqlite_with_rowid=False,
)
events = Table(
    "hb_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("kind", String(16), nullable=False),  # EVENT_KINDS
    Column("action", String(64), nullable=False),  # raised/cleared/…, the audited action
    Column("location", String(64)),  # inlet id or "network"
    Column("user_id", String(64)),
    Column("user_name", String(128)),
    Column("details", Text),  # JSON
    Index("ix_hb_events_network_ts", "network", "ts"),
)
# schema 2: per-inlet daily roll-ups, derived from the samples (rebuilt any time)
inlet_days = Table(
    "hb_inlet_days",
    metadata,
    Column("network", String(64), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("inlet", Integer, primary_key=True, autoincrement=False),
    Column("cycles", Integer, nullable=False),
    Column("hours", Float, nullable=False),
    Column("in_band", Integer, nullable=False),
    Column("judged", Integer, nullable=False),
    Column("abs_dev_sum", Float),
    Column("max_abs_dev", Float),
    Column("heat_kwh", Float),
    Column("over_dh", Float),
    Column("under_dh", Float),
    Column("flow_sum", Float),
    Column("supply_sum", Float),
    Column("return_sum", Float),
    Column("measured", Integer),  # cycles with a flow reading (availability)
    Column("attempted", Integer),
    Column("received", Integer),
)


class ArchiveError(Exception):
    """The archive cannot be opened or written (clear message for the operator)."""


# --- records --------------------------------------------------------------------------------
@dataclass
class InletSample:
    """One inlet in one cycle, in engineering units (None: not measured / not computed)."""

    inlet_id: str
    values: dict[str, float | None] = field(default_factory=dict)  # keys of SIGNALS
    in_band: bool | None = None
    flagged: Sequence[str] = ()  # QUALITY_SIGNALS the cleaning flagged
    estimated: Sequence[str] = ()  # QUALITY_SIGNALS estimated, not measured
    attempted: int = 0
    received: int = 0

    def row(self, cycle_id: int, inlet: int) -> tuple[Any, ...]:
        """The stored row (SAMPLE_COLUMNS' order): scaled integers, a quality bit mask."""
        values = self.values
        scaled = [
            round(v * scale) if (v := values.get(name)) is not None and math.isfinite(v) else None
            for name, scale in _SCALES
        ]
        quality = 0
        for bit, name in enumerate(QUALITY_SIGNALS):
            quality |= (name in self.flagged) << bit | (name in self.estimated) << (bit + 8)
        return (cycle_id, inlet, *scaled, self.in_band, quality, self.attempted, self.received)


@dataclass
class CycleRecord:
    """A network after one cycle: the cycle's figures and every inlet's sample."""

    network: str
    ts: float
    dt_s: float
    figures: dict[str, float | bool | None] = field(default_factory=dict)  # cycles columns
    samples: list[InletSample] = field(default_factory=list)
    inlet_info: dict[str, tuple[str | None, float | None]] = field(default_factory=dict)


@dataclass
class EventRecord:
    """An alarm change, a balance-state change, an audit entry or a commissioning record."""

    network: str
    ts: float
    kind: str
    action: str
    location: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def decode(row: dict[str, Any]) -> dict[str, Any]:
    """A stored sample row back in engineering units, with its quality flags spelled out."""
    out = {name: None if row[name] is None else row[name] / s for name, s in SIGNALS.items()}
    quality = int(row.get("quality") or 0)
    out["flagged"] = [n for i, n in enumerate(QUALITY_SIGNALS) if quality >> i & 1]
    out["estimated"] = [n for i, n in enumerate(QUALITY_SIGNALS) if quality >> (i + 8) & 1]
    out["in_band"] = None if row.get("in_band") is None else bool(row["in_band"])
    return out


# --- the archive ----------------------------------------------------------------------------
def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL: readers (reports, history) never block the writer, and vice versa."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Archive:
    """One database (SQLite file or PostgreSQL), any number of networks in it.

    Every method is blocking: call it from a thread (:class:`ArchiveWriter`, HA's executor).
    """

    def __init__(self, url: str, tz: str = "UTC") -> None:
        """Open (and create or migrate) the database at ``url``."""
        self.url = url
        self.tz = ZoneInfo(tz)
        self.sqlite = url.startswith("sqlite")
        try:
            self.engine: Engine = create_engine(url, pool_pre_ping=not self.sqlite)
            if self.sqlite:
                event.listen(self.engine, "connect", _sqlite_pragmas)
            self.version = migrate(self.engine)
        except SQLAlchemyError as err:
            raise ArchiveError(f"archive {self.safe_url}: {err}") from err
        self._inlet_ids: dict[tuple[str, str], int] = {}

    @property
    def safe_url(self) -> str:
        """The URL without its password (logs, diagnostics)."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def day_of(self, ts: float) -> int:
        """The local date ordinal of a Unix time (days of reports and roll-ups)."""
        return datetime.fromtimestamp(ts, self.tz).date().toordinal()

    # --- writing ----------------------------------------------------------------------------
    def write(self, records: Iterable[CycleRecord | EventRecord]) -> int:
        """Store a batch in one transaction; returns the number of sample rows written."""
        written = 0
        with self.engine.begin() as conn:
            for record in records:
                if isinstance(record, CycleRecord):
                    written += self._write_cycle(conn, record)
                else:
                    conn.execute(
                        insert(events),
                        {
                            "network": record.network,
                            "ts": record.ts,
                            "kind": record.kind,
                            "action": record.action,
                            "location": record.location,
                            "user_id": record.user_id,
                            "user_name": record.user_name,
                            "details": json.dumps(record.details, default=str, sort_keys=True),
                        },
                    )
        return written

    def _write_cycle(self, conn: Connection, record: CycleRecord) -> int:
        row = {"network": record.network, "ts": record.ts, "dt_s": record.dt_s}
        row |= {"day": self.day_of(record.ts)} | _finite(record.figures)
        cycle_id = conn.execute(insert(cycles).returning(cycles.c.id), row).scalar_one()
        keys = self._inlet_keys(conn, record)
        rows = [s.row(cycle_id, keys[s.inlet_id]) for s in record.samples]
        if rows:  # the driver's executemany with plain tuples: no per-row ORM-level work
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            sql = (  # constant names and placeholders only: no value is formatted in
                f"INSERT INTO {samples.name} ({', '.join(SAMPLE_COLUMNS)})"  # noqa: S608
                f" VALUES ({', '.join([mark] * len(SAMPLE_COLUMNS))})"
            )
            conn.exec_driver_sql(sql, rows)
        return len(rows)

    def _inlet_keys(self, conn: Connection, record: CycleRecord) -> dict[str, int]:
        """Integer keys of the record's inlets, registering new ones (names, areas)."""
        missing = [
            s.inlet_id
            for s in record.samples
            if (record.network, s.inlet_id) not in self._inlet_ids
        ]
        if missing:
            known = conn.execute(
                select(inlets.c.inlet_id, inlets.c.id).where(inlets.c.network == record.network)
            ).all()
            self._inlet_ids |= {(record.network, iid): key for iid, key in known}
            for iid in missing:
                if (record.network, iid) in self._inlet_ids:
                    continue
                name, area = record.inlet_info.get(iid, (None, None))
                key = conn.execute(
                    insert(inlets).returning(inlets.c.id),
                    {"network": record.network, "inlet_id": iid, "name": name, "area_m2": area},
                ).scalar_one()
                self._inlet_ids[(record.network, iid)] = key
        return {s.inlet_id: self._inlet_ids[(record.network, s.inlet_id)] for s in record.samples}

    def purge(self, before_ts: float) -> int:
        """Drop cycles, samples and events older than ``before_ts`` (retention); returns the
        number of cycles dropped. Roll-ups of dropped days go too."""
        with self.engine.begin() as conn:
            old = select(cycles.c.id).where(cycles.c.ts < before_ts)
            first_day = self.day_of(before_ts)
            conn.execute(delete(samples).where(samples.c.cycle_id.in_(old)))
            dropped = conn.execute(delete(cycles).where(cycles.c.ts < before_ts)).rowcount
            conn.execute(delete(events).where(events.c.ts < before_ts))
            conn.execute(delete(inlet_days).where(inlet_days.c.day < first_day))
        return int(dropped or 0)

    def checkpoint(self) -> None:
        """Fold SQLite's write-ahead log into the file (a backup then copies one consistent
        file); nothing to do on PostgreSQL, whose dumps are transactional."""
        if self.sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- reading ----------------------------------------------------------------------------
    def networks(self) -> list[str]:
        """Networks with records."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(cycles.c.network).distinct()).scalars())

    def counts(self, network: str | None = None) -> dict[str, int]:
        """Rows per table (tests, diagnostics, the restore check)."""
        with self.engine.connect() as conn:
            where_c = cycles.c.network == network if network else text("1=1")
            where_e = events.c.network == network if network else text("1=1")
            n_cycles = conn.execute(select(func.count()).select_from(cycles).where(where_c))
            n_samples = conn.execute(
                select(func.count())
                .select_from(samples.join(cycles, samples.c.cycle_id == cycles.c.id))
                .where(where_c)
            )
            n_events = conn.execute(select(func.count()).select_from(events).where(where_e))
            return {
                "cycles": int(n_cycles.scalar_one()),
                "samples": int(n_samples.scalar_one()),
                "events": int(n_events.scalar_one()),
            }

    def inlet_table(self, network: str) -> dict[str, dict[str, Any]]:
        """The network's inlets: id → key, name, heated area."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(inlets).where(inlets.c.network == network)).mappings()
            return {r["inlet_id"]: dict(r) for r in rows}

    def history(
        self, network: str, inlet_id: str, signals: Sequence[str], start: float, end: float
    ) -> list[dict[str, Any]]:
        """One inlet's signals over [start, end): rows of ts and each signal (§5.2.4-5)."""
        unknown = [s for s in signals if s not in SIGNALS and s != "in_band"]
        if unknown:
            raise ArchiveError(f"unknown signal(s): {', '.join(unknown)}")
        info = self.inlet_table(network).get(inlet_id)
        if info is None:
            return []
        with self.engine.connect() as conn:
            first, last = conn.execute(
                select(func.min(cycles.c.id), func.max(cycles.c.id)).where(
                    cycles.c.network == network, cycles.c.ts >= start, cycles.c.ts < end
                )
            ).one()
            if first is None:
                return []
            stmt = (
                select(cycles.c.ts, samples)
                .join(cycles, samples.c.cycle_id == cycles.c.id)
                .where(samples.c.cycle_id.between(first, last), samples.c.inlet == info["id"])
                .where(cycles.c.network == network)
                .order_by(samples.c.cycle_id)
            )
            out = []
            for row in conn.execute(stmt).mappings():
                values = decode(dict(row))
                point = {"ts": row["ts"]} | {s: values[s] for s in signals}
                point["flagged"] = [s for s in values["flagged"] if s in signals]
                point["estimated"] = [s for s in values["estimated"] if s in signals]
                out.append(point)
            return out

    def network_series(self, network: str, start: float, end: float) -> list[dict[str, Any]]:
        """Every cycle's network figures over [start, end)."""
        with self.engine.connect() as conn:
            stmt = (
                select(cycles)
                .where(cycles.c.network == network, cycles.c.ts >= start, cycles.c.ts < end)
                .order_by(cycles.c.ts)
            )
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def events_between(
        self, network: str, start: float, end: float, kinds: Sequence[str] = EVENT_KINDS
    ) -> list[dict[str, Any]]:
        """Alarm, balance, audit and commissioning records over [start, end)."""
        with self.engine.connect() as conn:
            stmt = (
                select(events)
                .where(events.c.network == network, events.c.ts >= start, events.c.ts < end)
                .where(events.c.kind.in_(list(kinds)))
                .order_by(events.c.ts, events.c.id)
            )
            out = []
            for r in conn.execute(stmt).mappings():
                row = dict(r)
                row["details"] = json.loads(row["details"] or "{}")
                out.append(row)
            return out

    # --- daily roll-ups ---------------------------------------------------------------------
    def roll_up(self, network: str, first_day: int, last_day: int, mark: bool = True) -> None:
        """(Re)build the per-inlet daily roll-ups of [first_day, last_day] from the samples;
        ``mark``: those days are complete (the nightly run does not redo them)."""
        lo, hi = COMFORT_C[0] * 100, COMFORT_C[1] * 100
        s, c = samples.c, cycles.c
        hours = c.dt_s / 3600.0
        dev = func.abs(s.deviation) / 1000.0
        over = func.coalesce((s.room_c - hi) / 100.0 * hours, 0.0)
        under = func.coalesce((lo - s.room_c) / 100.0 * hours, 0.0)
        stmt = (
            select(
                c.day,
                s.inlet,
                func.count().label("cycles"),
                func.sum(hours).label("hours"),
                func.sum(case((s.in_band.is_(True), 1), else_=0)).label("in_band"),
                func.count(s.in_band).label("judged"),
                func.sum(dev).label("abs_dev_sum"),
                func.max(dev).label("max_abs_dev"),
                func.sum(s.heat_kw / 1000.0 * hours).label("heat_kwh"),
                func.sum(case((s.room_c > hi, over), else_=0.0)).label("over_dh"),
                func.sum(case((s.room_c < lo, under), else_=0.0)).label("under_dh"),
                func.sum(s.flow_m3h / 1000.0).label("flow_sum"),
                func.sum(s.supply_c / 100.0).label("supply_sum"),
                func.sum(s.return_c / 100.0).label("return_sum"),
                func.count(s.flow_m3h).label("measured"),
                func.sum(s.attempted).label("attempted"),
                func.sum(s.received).label("received"),
            )
            .join(cycles, s.cycle_id == c.id)
            .where(c.network == network, c.day.between(first_day, last_day))
            .group_by(c.day, s.inlet)
        )
        with self.engine.begin() as conn:
            conn.execute(
                delete(inlet_days).where(
                    inlet_days.c.network == network, inlet_days.c.day.between(first_day, last_day)
                )
            )
            rows = [dict(r) | {"network": network} for r in conn.execute(stmt).mappings()]
            if rows:
                conn.execute(insert(inlet_days), rows)
            if mark:
                conn.execute(_upsert_meta(self.sqlite, f"rolled:{network}", str(last_day)))

    def ensure_rolled_up(self, network: str, until_day: int) -> None:
        """Roll up every complete day up to ``until_day`` not rolled up yet (idempotent)."""
        with self.engine.connect() as conn:
            done = conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == f"rolled:{network}")
            ).scalar_one_or_none()
            first = conn.execute(
                select(func.min(cycles.c.day)).where(cycles.c.network == network)
            ).scalar_one_or_none()
        if first is None:
            return
        start = max(int(done) + 1, first) if done is not None else first
        if start <= until_day:
            self.roll_up(network, start, until_day)

    def refresh_roll_ups(self, network: str, first_day: int, last_day: int) -> None:
        """Complete days not rolled up yet are rolled up; today's figures are rolled up
        afresh but not marked complete (the night's run redoes them)."""
        today = self.day_of(time.time())
        self.ensure_rolled_up(network, min(last_day, today - 1))
        if first_day <= today <= last_day:
            self.roll_up(network, today, today, mark=False)

    def inlet_totals(self, network: str, first_day: int, last_day: int) -> list[dict[str, Any]]:
        """Per-inlet sums of the daily roll-ups over [first_day, last_day] (worst deviation:
        the maximum), summed by the database: a season is 1,240 rows, not 223,000."""
        self.refresh_roll_ups(network, first_day, last_day)
        d = inlet_days.c
        summed = [func.sum(getattr(d, k)).label(k) for k in ROLLUP_SUMS]
        stmt = (
            select(d.inlet, func.max(d.max_abs_dev).label("max_abs_dev"), *summed)
            .where(d.network == network, d.day.between(first_day, last_day))
            .group_by(d.inlet)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]


ROLLUP_SUMS = (
    "cycles", "hours", "in_band", "judged", "abs_dev_sum", "heat_kwh", "over_dh", "under_dh",
    "flow_sum", "supply_sum", "return_sum", "measured", "attempted", "received",
)  # fmt: skip


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities are stored as NULL (PostgreSQL refuses nothing, reports skip it)."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()
    }


def _upsert_meta(sqlite: bool, key: str, value: str) -> Any:
    """Insert or replace one meta value (both dialects)."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    if sqlite:
        lite = sqlite_dialect.insert(meta_table).values(key=key, value=value)
        return lite.on_conflict_do_update(index_elements=["key"], set_={"value": value})
    pg = postgresql.insert(meta_table).values(key=key, value=value)
    return pg.on_conflict_do_update(index_elements=["key"], set_={"value": value})


# --- schema versions ------------------------------------------------------------------------
def _v1(conn: Connection) -> None:
    """Schema 1: cycles, inlets, samples, events."""
    for table in (meta_table, cycles, inlets, samples, events):
        table.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        _timescale(conn)


def _v2(conn: Connection) -> None:
    """Schema 2: daily roll-ups per inlet (reports over a season in seconds)."""
    inlet_days.create(conn, checkfirst=True)


def _v3(conn: Connection) -> None:
    """Schema 3: a cycle's heat says whether it is estimated and how many inlets it leaves
    out (:data:`HEAT_FLAGS`); cycles written before keep None (not known)."""
    have = {c["name"] for c in inspect(conn).get_columns(cycles.name)}
    for name in HEAT_FLAGS:
        if name not in have:  # an archive created by schema 1 of this code has them
            kind = cycles.c[name].type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {cycles.name} ADD COLUMN {name} {kind}")


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2, _v3)  # version i → i+1
assert len(MIGRATIONS) == SCHEMA_VERSION


def _timescale(conn: Connection) -> None:
    """Make the samples a hypertable when TimescaleDB is installed on the server."""
    available = conn.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).first()
    if available is None:
        return
    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS timescaledb")
    conn.exec_driver_sql(
        "SELECT create_hypertable('hb_samples', 'cycle_id', chunk_time_interval => 1000000,"
        " if_not_exists => TRUE, migrate_data => TRUE)"
    )


def stored_version(conn: Connection) -> int:
    """The schema version of a database (0: empty)."""
    if not conn.dialect.has_table(conn, meta_table.name):
        return 0
    value = conn.execute(
        select(meta_table.c.value).where(meta_table.c.key == "schema_version")
    ).scalar_one_or_none()
    return int(value) if value is not None else 0


def migrate(engine: Engine, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to schema ``target``, one version per transaction."""
    with engine.connect() as conn:
        version = stored_version(conn)
    if version > target:
        raise ArchiveError(
            f"the archive has schema {version}, newer than this heatbalance ({target})"
        )
    while version < target:
        with engine.begin() as conn:
            MIGRATIONS[version](conn)
            version += 1
            conn.execute(
                _upsert_meta(conn.dialect.name == "sqlite", "schema_version", str(version))
            )
    return version


Pending = CycleRecord | EventRecord | Callable[[], CycleRecord | EventRecord]


# --- the writer thread ----------------------------------------------------------------------
class ArchiveWriter:
    """Writes records in batches from its own thread, never from the caller's.

    ``submit`` only queues (microseconds: safe on HA's event loop). The thread writes what has
    queued, at most every ``batch_s`` seconds. ``flush`` waits until everything submitted so far
    is stored; ``hold`` flushes and keeps the thread off the database (a backup runs).
    """

    def __init__(self, archive: Archive, batch_s: float = 1.0) -> None:
        """Start the writer thread."""
        self.archive = archive
        self.batch_s = batch_s
        self.write_s: list[float] = []  # each batch's duration (measured cost)
        self.write_cpu_s: list[float] = []  # ... and the thread's CPU time for it
        self.errors = 0
        self.last_error: str | None = None
        self._queue: queue.Queue[Pending | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._gate = threading.Lock()  # held by a backup: no writes meanwhile
        self._held = False  # hold_start took the gate (released by hold_end or close)
        self._thread = threading.Thread(target=self._run, name="heatbalance archive", daemon=True)
        self._thread.start()

    def submit(self, record: Pending) -> None:
        """Queue one record, or a function building it in the writer's thread (non-blocking)."""
        with self._idle:
            self._pending += 1
        self._queue.put(record)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            batch = [] if first is None else [first]
            stop = first is None
            deadline = time.monotonic() + self.batch_s
            while not stop and (left := deadline - time.monotonic()) > 0:
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                self._write(batch)

    def _write(self, pending: list[Pending]) -> None:
        with self._gate:
            start, cpu = time.perf_counter(), time.thread_time()
            batch = [item() if callable(item) else item for item in pending]
            for attempt in range(3):  # a database restart or a locked file: try again
                try:
                    self.archive.write(batch)
                    break
                except (SQLAlchemyError, OSError) as err:
                    self.last_error = str(err)
                    if attempt == 2:
                        self.errors += 1
                    else:
                        time.sleep(1.0)
            self.write_s.append(time.perf_counter() - start)
            self.write_cpu_s.append(time.thread_time() - cpu)
        with self._idle:
            self._pending -= len(pending)
            self._idle.notify_all()

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until every record submitted so far is written; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def hold_start(self) -> None:
        """Flush, checkpoint and keep writes back while the caller copies the database (a
        backup: :mod:`.backup`'s pre-backup hook) until :meth:`hold_end`."""
        self.flush()
        self._gate.acquire()
        self._held = True
        self.archive.checkpoint()

    def hold_end(self) -> None:
        """Let writes go on after :meth:`hold_start` (nothing when not held: the gate may be
        the writer's own while it writes)."""
        if self._held:
            self._held = False
            self._gate.release()

    def close(self, timeout: float = 60.0) -> None:
        """Write what is queued, stop the thread, close the database.

        A backup that never called its post-backup hook (HA stopped meanwhile) must not keep
        the thread waiting at the gate: the hold ends here, the queue is written, the thread
        joined. Only a database that does not answer within ``timeout`` leaves it behind.
        """
        self.hold_end()
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            _LOGGER.error(
                "archive writer still busy after %.0f s; rows queued may be lost", timeout
            )
        self.archive.close()


# --- periods --------------------------------------------------------------------------------
SEASON_START = (11, 15)  # heating season of north China (operators may change it)
SEASON_END = (3, 15)


def season_of(day: date, start: tuple[int, int] = SEASON_START) -> tuple[date, date]:
    """The heating season containing ``day`` (or the last one that started before it):
    [start, start of the next season)."""
    begin = date(day.year, *start)
    if day < begin:
        begin = date(day.year - 1, *start)
    return begin, date(begin.year + 1, *start)


def period(kind: str, day: date) -> tuple[date, date]:
    """[first day, day after the last) of the day/week/month/season/year containing ``day``."""
    if kind == "day":
        return day, day + timedelta(days=1)
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    if kind == "month":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    if kind == "season":
        return season_of(day)
    if kind == "year":
        return date(day.year, 1, 1), date(day.year + 1, 1, 1)
    raise ArchiveError(f"unknown period {kind!r}")


def retention_cutoff(today: date, seasons: int = 2) -> date:
    """Records before this day may go: the current and the previous ``seasons - 1`` heating
    seasons stay whole (§5.3.9-1 asks for one; we keep two by default)."""
    begin, _ = season_of(today)
    return date(begin.year - (seasons - 1), begin.month, begin.day)
