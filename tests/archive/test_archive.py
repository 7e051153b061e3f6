"""The archive's data layer (§5.2.6, §5.3.9-1): the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import shutil
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from custom_components.heatbalance.engine.archive import (
    Archive,
    ArchiveError,
    ArchiveWriter,
    CycleRecord,
    EventRecord,
    InletSample,
    migrate,
    period,
    retention_cutoff,
    season_of,
)
from custom_components.heatbalance.engine.reports import build_report, write_report

T0 = 1764547200.0  # 2025-12-01 00:00 UTC = 08:00 in Shanghai


def cycle(k: int, inlets: int = 3, network: str = "net", dt_s: float = 600.0) -> CycleRecord:
    """A cycle with distinct, checkable values per inlet and cycle."""
    record = CycleRecord(
        network,
        T0 + dt_s * k,
        dt_s,
        {"heat_kw": 10.0 * k, "balanced": k % 2 == 0, "share_in_band": 0.5, "spread": math.nan},
    )
    for i in range(inlets):
        values = {
            "supply_c": 70.0 + 0.01 * k,
            "return_c": 45.0 + i,
            "flow_m3h": 1.234 + 0.001 * i,
            "room_c": 25.0 if i == 0 else 17.0,
            "opening": 0.5,
            "dp_kpa": None if i == 2 else 30.25,
            "heat_kw": 6.0,
            "deviation": -3.5 + i,
            "command": 0.55,
        }
        record.samples.append(
            InletSample(
                f"B{i}",
                values,
                in_band=i != 1,
                flagged=("flow_m3h",) if i == 1 else (),
                estimated=("dp_kpa",),
                attempted=5,
                received=4,
            )
        )
        record.inlet_info[f"B{i}"] = (f"Building {i}", 1000.0)
    return record


def test_round_trip_keeps_values_flags_and_gaps(archive_url: str) -> None:
    """Scaled integers come back to their resolution; quality flags and missing values too."""
    archive = Archive(archive_url, "Asia/Shanghai")
    try:
        assert archive.write([cycle(k) for k in range(5)]) == 15
        assert archive.counts("net") == {"cycles": 5, "samples": 15, "events": 0}
        rows = archive.history(
            "net", "B1", ["flow_m3h", "supply_c", "dp_kpa", "in_band"], T0, T0 + 1800
        )
        assert [r["ts"] for r in rows] == [T0, T0 + 600, T0 + 1200]
        assert rows[2]["supply_c"] == pytest.approx(70.02)
        assert rows[0]["flow_m3h"] == pytest.approx(1.235)
        assert rows[0]["dp_kpa"] == pytest.approx(30.25)
        assert rows[0]["in_band"] is False
        assert (rows[0]["flagged"], rows[0]["estimated"]) == (["flow_m3h"], ["dp_kpa"])
        gap = archive.history("net", "B2", ["dp_kpa"], T0, T0 + 600)
        assert gap[0]["dp_kpa"] is None
        series = archive.network_series("net", T0, T0 + 3000)
        assert [r["heat_kw"] for r in series] == [0.0, 10.0, 20.0, 30.0, 40.0]
        assert series[0]["spread"] is None  # NaN stored as NULL
        assert archive.history("net", "nope", ["flow_m3h"], T0, T0 + 600) == []
        with pytest.raises(ArchiveError, match="unknown signal"):
            archive.history("net", "B1", ["bogus"], T0, T0 + 600)
    finally:
        archive.close()


def test_events_keep_who_and_what(archive_url: str) -> None:
    """Alarms and audit entries come back in order with user and details."""
    archive = Archive(archive_url)
    try:
        archive.write(
            [
                EventRecord("net", T0, "alarm", "raised", "B1", details={"grade": "emergency"}),
                EventRecord(
                    "net",
                    T0 + 5,
                    "audit",
                    "options_changed",
                    None,
                    "u1",
                    "Ann",
                    {"changes": {"max_step": [10, 20]}},
                ),
                EventRecord("other", T0 + 6, "audit", "x"),
            ]
        )
        found = archive.events_between("net", T0, T0 + 10)
        assert [(e["kind"], e["action"]) for e in found] == [
            ("alarm", "raised"),
            ("audit", "options_changed"),
        ]
        assert found[1]["user_name"] == "Ann"
        assert found[1]["details"] == {"changes": {"max_step": [10, 20]}}
        assert archive.events_between("net", T0, T0 + 10, ["alarm"])[0]["location"] == "B1"
    finally:
        archive.close()


def test_migration_from_schema_1_keeps_data(archive_url: str) -> None:
    """An archive made by schema 1 is migrated in place; a newer archive is refused."""
    engine = create_engine(archive_url)
    assert migrate(engine, target=1) == 1
    engine.dispose()
    archive = Archive(archive_url)
    try:
        assert archive.version == 3  # schema 3: the heat flags (issue 10 item 3)
        archive.write([cycle(0)])
        archive.roll_up("net", archive.day_of(T0), archive.day_of(T0))
        assert len(archive.inlet_totals("net", archive.day_of(T0), archive.day_of(T0))) == 3
    finally:
        archive.close()
    engine = create_engine(archive_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE hb_meta SET value = '99' WHERE key = 'schema_version'")
    engine.dispose()
    with pytest.raises(ArchiveError, match="newer"):
        Archive(archive_url)


def test_schema_2_archive_gains_the_heat_flags(archive_url: str) -> None:
    """Schema 3 (issue 10 item 3): a schema-2 archive — its cycles without the heat flags —
    gets them in place; cycles written before keep None (not known), new ones carry whether
    their heat was estimated and how many inlets it leaves out."""
    engine = create_engine(archive_url)
    assert migrate(engine, target=2) == 2
    with engine.begin() as conn:  # as schema 2 left the table (schema 1 now creates them)
        for name in ("heat_estimated", "heat_left_out"):
            conn.exec_driver_sql(f"ALTER TABLE hb_cycles DROP COLUMN {name}")
    engine.dispose()
    old = Archive(archive_url)
    old.close()  # opened: migrated
    assert old.version == 3
    engine = create_engine(archive_url)
    with engine.begin() as conn:  # a cycle written by schema 2, before the flags existed
        conn.exec_driver_sql(
            "INSERT INTO hb_cycles (network, ts, day, dt_s, heat_kw) VALUES ('net', 1, 1, 600, 5)"
        )
    engine.dispose()
    archive = Archive(archive_url)
    try:
        flagged = cycle(1)
        flagged.figures |= {"heat_estimated": True, "heat_left_out": 2}
        archive.write([cycle(0), flagged])
        series = archive.network_series("net", 0.0, T0 + 3000)
        flags = [(r["heat_estimated"], r["heat_left_out"]) for r in series]
        assert flags == [(None, None), (None, None), (True, 2)]
    finally:
        archive.close()


def test_daily_roll_up_figures(archive_url: str) -> None:
    """Roll-ups: in-band counts, energy, degree-hours, availability — from the samples."""
    archive = Archive(archive_url, "Asia/Shanghai")
    try:
        archive.write([cycle(k) for k in range(6)])  # one hour
        day = archive.day_of(T0)
        archive.ensure_rolled_up("net", day)
        rows = {r["inlet"]: r for r in archive.inlet_totals("net", day, day)}
        keys = {iid: v["id"] for iid, v in archive.inlet_table("net").items()}
        b0, b1 = rows[keys["B0"]], rows[keys["B1"]]
        assert (b0["cycles"], b0["in_band"], b1["in_band"], b1["judged"]) == (6, 6, 0, 6)
        assert b0["hours"] == pytest.approx(1.0)
        assert b0["heat_kwh"] == pytest.approx(6.0)
        assert b0["over_dh"] == pytest.approx(1.0)  # 25 °C against 24 °C, one hour
        assert b1["under_dh"] == pytest.approx(1.0)  # 17 °C against 18 °C
        assert b0["max_abs_dev"] == pytest.approx(3.5)
        assert (b0["attempted"], b0["received"], b0["measured"]) == (30, 24, 6)
        archive.ensure_rolled_up("net", day)  # idempotent: no day counted twice
        assert [r["cycles"] for r in archive.inlet_totals("net", day, day)] == [6, 6, 6]
    finally:
        archive.close()


def test_purge_drops_only_older_records(archive_url: str) -> None:
    """Retention drops cycles, samples and events before the cutoff, nothing after it."""
    archive = Archive(archive_url)
    try:
        archive.write([cycle(k) for k in range(4)] + [EventRecord("net", T0, "alarm", "raised")])
        assert archive.purge(T0 + 1200) == 2
        assert archive.counts("net") == {"cycles": 2, "samples": 6, "events": 0}
        assert [r["ts"] for r in archive.network_series("net", 0, 2e9)] == [T0 + 1200, T0 + 1800]
    finally:
        archive.close()


def test_writer_loses_nothing_and_holds_for_a_backup(archive_url: str, tmp_path: Path) -> None:
    """Records from several threads all arrive; a hold gives a consistent copy mid-stream."""
    writer = ArchiveWriter(Archive(archive_url), batch_s=0.05)
    copy = tmp_path / "copy.db"

    def produce(offset: int) -> None:
        for k in range(40):
            writer.submit(lambda k=k: cycle(offset + k))

    threads = [threading.Thread(target=produce, args=(o,)) for o in (0, 1000)]
    for t in threads:
        t.start()
    writer.hold_start()  # what a backup does: everything so far is in the file, writes wait
    try:
        held = writer.archive.counts()
        if writer.archive.sqlite:
            shutil.copy(archive_url.removeprefix("sqlite:///"), copy)
    finally:
        writer.hold_end()
    for t in threads:
        t.join()
    writer.close()
    final = Archive(archive_url)
    try:
        assert final.counts() == {"cycles": 80, "samples": 240, "events": 0}
        assert writer.errors == 0
    finally:
        final.close()
    if copy.exists():  # the copy taken while held is whole: what was counted is in it
        restored = Archive(f"sqlite:///{copy}")
        try:
            assert restored.counts() == held
        finally:
            restored.close()


def test_writer_closes_although_a_backup_never_ended(archive_url: str) -> None:
    """HA stops between the pre- and post-backup hooks: close ends the hold, writes the
    queue and joins its thread (a lingering thread fails HA's harness); a stray hold_end
    while the writer writes does not touch the writer's own lock."""
    writer = ArchiveWriter(Archive(archive_url), batch_s=0.05)
    writer.hold_end()  # not held: nothing to release
    writer.submit(cycle(0))
    writer.hold_start()
    writer.submit(cycle(1))  # queued behind the hold
    writer.close(timeout=30.0)
    assert not any(t.name == "heatbalance archive" and t.is_alive() for t in threading.enumerate())
    final = Archive(archive_url)
    try:
        assert final.counts()["cycles"] == 2
    finally:
        final.close()


def test_periods_and_retention() -> None:
    """Heating seasons run 15 Nov → 15 Nov; two seasons are kept by default."""
    assert season_of(date(2026, 1, 10)) == (date(2025, 11, 15), date(2026, 11, 15))
    assert season_of(date(2025, 12, 1)) == (date(2025, 11, 15), date(2026, 11, 15))
    assert period("week", date(2025, 12, 3)) == (date(2025, 12, 1), date(2025, 12, 8))
    assert period("month", date(2025, 12, 31)) == (date(2025, 12, 1), date(2026, 1, 1))
    assert period("year", date(2025, 12, 31)) == (date(2025, 1, 1), date(2026, 1, 1))
    assert retention_cutoff(date(2026, 2, 1)) == date(2024, 11, 15)
    with pytest.raises(ArchiveError):
        period("fortnight", date(2025, 1, 1))


def test_todays_roll_up_follows_new_cycles(archive_url: str) -> None:
    """Today's figures are rolled up afresh on each read, never frozen half-way."""
    archive = Archive(archive_url)
    try:
        now = time.time()
        first = [cycle(0), cycle(1)]
        for k, record in enumerate(first):
            record.ts = now - 60 * (2 - k)
        archive.write(first)
        today = archive.day_of(now)
        if archive.day_of(now - 120) != today:  # just after midnight: nothing to check
            pytest.skip("the records straddle midnight")
        rows = archive.inlet_totals("net", today, today)
        assert {r["cycles"] for r in rows} == {2}
        later = cycle(2)
        later.ts = now - 10
        archive.write([later])
        assert {r["cycles"] for r in archive.inlet_totals("net", today, today)} == {3}
    finally:
        archive.close()


def test_day_report_tells_measured_heat_from_estimated(archive_url: str, tmp_path: Path) -> None:
    """Issue 10 item 3: a cycle whose network heat was the engine's estimate (a meter lost
    or rejected: ``heat_estimated``) goes into the day's heat, but apart — measured and
    estimated kWh and the estimated cycles, per day and for the period — in every format
    (the PDF prints each summary key's label)."""
    archive = Archive(archive_url, "Asia/Shanghai")
    try:
        records = [cycle(k) for k in range(6)]  # 600 s each at 10·k kW
        for k in (2, 5):
            records[k].figures |= {"heat_estimated": True, "heat_left_out": 1}
        archive.write(records)
        report = build_report(archive, "net", "net", "day", date(2025, 12, 1))
    finally:
        archive.close()
    (day,) = report.days
    assert day["heat_kwh"] == pytest.approx(25.0)  # 10·(0+1+…+5) kW × 1/6 h
    assert day["heat_kwh_estimated"] == pytest.approx(70.0 / 6)  # cycles 2 and 5
    assert day["heat_kwh_measured"] == pytest.approx(80.0 / 6)
    assert day["estimated_cycles"] == 2
    summary = report.summary
    assert (summary["heat_kwh_estimated"], summary["estimated_cycles"]) == (
        day["heat_kwh_estimated"],
        2,
    )
    files = write_report(report, tmp_path, ("csv", "xlsx", "pdf"), "en")
    assert "heat_kwh_estimated" in files["csv"].read_text(encoding="utf-8")
