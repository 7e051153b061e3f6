"""The archive over a heating season (issue 12 goals): write cost, file size, report time.

A 1,240-inlet network at 10-minute cycles: every cycle writes one row per inlet (12 signals,
quality flags, command, band result) and a network row, through :class:`ArchiveWriter`'s
thread, as Home Assistant does. Values are realistic and noisy (temperatures, flows and
openings that drift and jitter, 1 % of readings missing), so SQLite's variable-length
integers are not flattered by constants. Measures

- write time per cycle (the writer thread's time per batch of one cycle: what HA's event loop
  never waits for, ≤ 20 ms is the goal),
- the SQLite file's size (goal ≤ 2 GB for a 180-day season),
- the season report (build + PDF + XLSX + CSV; goal ≤ 10 s).

``--days 180`` writes the whole season (≈ 15–25 min here); fewer days extrapolate size
linearly, and say so. Not a timed test:

    .venv/ha2026/bin/python -m benchmarks.bench_archive --days 14
    .venv/ha2026/bin/python -m benchmarks.bench_archive --days 180 --url postgresql+psycopg://…
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from custom_components.heatbalance.engine.archive import (
    Archive,
    ArchiveWriter,
    CycleRecord,
    InletSample,
    sqlite_url,
)
from custom_components.heatbalance.engine.reports import FORMATS, build_report, write_report

INLETS = 1240
CYCLE_S = 600.0
SEASON_DAYS = 180
TZ = "Asia/Shanghai"
START = datetime(2025, 11, 15, tzinfo=__import__("zoneinfo").ZoneInfo(TZ))


def make_cycle(k: int, rng: np.random.Generator, base: dict[str, np.ndarray]) -> CycleRecord:
    """Cycle ``k`` of the season: slow drift plus noise per inlet."""
    day = k * CYCLE_S / 86400
    outdoor = -5 + 8 * np.sin(2 * np.pi * (day - 60) / 180) + rng.normal(0, 1.5)
    n = INLETS
    supply = 55 - 0.8 * outdoor + rng.normal(0, 0.3, n)
    ret = supply - base["dt"] + rng.normal(0, 0.4, n)
    flow = base["flow"] * (1 + rng.normal(0, 0.03, n))
    room = 20 + rng.normal(0, 1.2, n)
    opening = np.clip(base["opening"] + rng.normal(0, 0.01, n), 0.05, 1)
    heat = 4.186 * flow / 3.6 * (supply - ret)
    deviation = (flow / base["flow"] - 1) * 100 + rng.normal(0, 2, n)
    missing = rng.random(n) < 0.01
    record = CycleRecord(
        "season",
        START.timestamp() + k * CYCLE_S,
        CYCLE_S,
        {
            "outdoor_c": float(outdoor),
            "supply_c": float(supply.mean()),
            "return_c": float(ret.mean()),
            "pump_flow_m3h": float(flow.sum()),
            "pump_power_w": 15000.0 + float(rng.normal(0, 300)),
            "pump_speed": 0.9,
            "heat_kw": float(heat.sum()),
            "forecast_kw": float(heat.sum() * (1 + rng.normal(0, 0.05))),
            "share_in_band": float((np.abs(deviation) < 5).mean() * 100),
            "spread": float(deviation.std()),
            "balanced": bool((np.abs(deviation) < 5).mean() > 0.9),
            "success_rate": 99.0,
        },
    )
    for i in range(n):
        flow_i = None if missing[i] else float(flow[i])
        record.samples.append(
            InletSample(
                base["ids"][i],
                {
                    "supply_c": float(supply[i]),
                    "return_c": float(ret[i]),
                    "flow_m3h": flow_i,
                    "room_c": float(room[i]),
                    "opening": float(opening[i]),
                    "dp_kpa": float(base["dp"][i]),
                    "heat_kw": float(heat[i]),
                    "setpoint": float(base["flow"][i]),
                    "actual": flow_i,
                    "deviation": float(deviation[i]),
                    "flow_deviation": float(deviation[i]),
                    "command": float(opening[i]),
                },
                in_band=bool(abs(deviation[i]) < 5),
                flagged=("flow_m3h",) if missing[i] else (),
                estimated=("dp_kpa",),
                attempted=6,
                received=6 - int(missing[i]),
            )
        )
        if k == 0:
            record.inlet_info[base["ids"][i]] = (f"楼 {i}", float(base["area"][i]))
    return record


def fill_season(archive: Archive, days: float) -> None:
    """Repeat the written slice's network rows and daily roll-ups to a whole season (no
    per-inlet samples: a season report reads the roll-ups, made each night from them)."""
    from sqlalchemy import insert, select

    from custom_components.heatbalance.engine.archive import _upsert_meta, inlet_days
    from custom_components.heatbalance.engine.archive import cycles as cycles_table

    first = START.date().toordinal()
    whole = max(1, int(days))
    archive.ensure_rolled_up("season", first + whole - 1)
    with archive.engine.begin() as conn:
        slice_cycles = [
            dict(r)
            for r in conn.execute(
                select(cycles_table).where(cycles_table.c.day < first + whole)
            ).mappings()
        ]
        slice_days = [dict(r) for r in conn.execute(select(inlet_days)).mappings()]
        for shift in range(whole, SEASON_DAYS, whole):
            rows = [
                {k: v for k, v in r.items() if k != "id"}
                | {"ts": r["ts"] + shift * 86400, "day": r["day"] + shift}
                for r in slice_cycles
                if r["day"] + shift < first + SEASON_DAYS
            ]
            days_rows = [
                r | {"day": r["day"] + shift}
                for r in slice_days
                if r["day"] + shift < first + SEASON_DAYS
            ]
            conn.execute(insert(cycles_table), rows)
            conn.execute(insert(inlet_days), days_rows)
        conn.execute(_upsert_meta(archive.sqlite, "rolled:season", str(first + SEASON_DAYS - 1)))
    print(f"filled to {SEASON_DAYS} days: {archive.counts()['cycles']:,} cycles (roll-ups copied)")


def main() -> None:
    """Write the season (or a slice), then time the season report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument(
        "--fill-season",
        action="store_true",
        help="before the report, repeat the slice's network rows and roll-ups to 180 days",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hb-bench-archive-"))
    url = args.url or sqlite_url(str(folder / "archive.db"))
    rng = np.random.default_rng(12)
    base = {
        "ids": [f"B{i:04d}" for i in range(INLETS)],
        "flow": rng.uniform(0.3, 8.0, INLETS),
        "dt": rng.uniform(8, 20, INLETS),
        "opening": rng.uniform(0.2, 0.9, INLETS),
        "dp": rng.uniform(10, 80, INLETS),
        "area": rng.uniform(500, 8000, INLETS),
    }
    cycles = int(args.days * 86400 / CYCLE_S)
    writer = ArchiveWriter(Archive(url, TZ), batch_s=0.0)  # one cycle per batch: its own cost
    build_s = 0.0
    for k in range(cycles):
        t0 = time.perf_counter()
        record = make_cycle(k, rng, base)
        build_s += time.perf_counter() - t0
        writer.submit(record)
        writer.flush()  # measure each cycle alone, as at 10-minute cycles
        if k and k % 1440 == 0:
            print(
                f"  {k}/{cycles} cycles, last write {writer.write_s[-1] * 1000:.1f} ms", flush=True
            )
    writes = writer.write_s
    archive = writer.archive
    counts = archive.counts()
    print(f"cycles {cycles} ({args.days:g} days), sample rows {counts['samples']:,}")
    print(
        f"write per cycle ({INLETS} inlets): median {statistics.median(writes) * 1000:.1f} ms,"
        f" p95 {sorted(writes)[int(len(writes) * 0.95)] * 1000:.1f} ms,"
        f" max {max(writes) * 1000:.1f} ms; record building {build_s / cycles * 1000:.1f} ms/cycle"
    )
    cpu = writer.write_cpu_s
    print(
        f"writer thread CPU per cycle: median {statistics.median(cpu) * 1000:.1f} ms,"
        f" p95 {sorted(cpu)[int(len(cpu) * 0.95)] * 1000:.1f} ms (wall time above includes"
        f" waiting for a CPU on a loaded machine; load average {os.getloadavg()[0]:.1f})"
    )
    if archive.sqlite:
        archive.checkpoint()
        db = Path(url.removeprefix("sqlite:///"))
        size = db.stat().st_size
        season_cycles = SEASON_DAYS * 86400 / CYCLE_S
        print(
            f"SQLite file {size / 1e6:,.1f} MB = {size / counts['samples']:.1f} B per sample row;"
            f" 180-day season {'measured' if args.days >= SEASON_DAYS else 'extrapolated'}:"
            f" {size / cycles * season_cycles / 1e9:.2f} GB"
        )
    day = (START + timedelta(days=min(args.days, SEASON_DAYS) / 2)).date()
    if args.fill_season and args.days < SEASON_DAYS:
        fill_season(archive, args.days)
        day = (START + timedelta(days=SEASON_DAYS / 2)).date()
    for fmt in (("pdf", "xlsx", "csv"),):
        t0, c0 = time.perf_counter(), time.process_time()
        report = build_report(archive, "season", "benchmark", "season", day)
        t_build, c_build = time.perf_counter() - t0, time.process_time() - c0
        files = write_report(report, folder / "reports", fmt, "zh-Hans")
        t_all, c_all = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"season report ({report.summary['cycles']} cycles, {len(report.inlets)} inlets):"
            f" build {t_build:.1f} s (CPU {c_build:.1f} s), with {'+'.join(FORMATS)}"
            f" {t_all:.1f} s (CPU {c_all:.1f} s; load average {os.getloadavg()[0]:.1f})"
        )
        t0 = time.perf_counter()
        build_report(archive, "season", "benchmark", "season", day)
        print(f"season report again (roll-ups stored): build {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        rows = archive.history("season", "B0007", ["flow_m3h", "supply_c"], 0, 4e9)
        print(
            f"history of one inlet, whole range ({len(rows)} rows):"
            f" {time.perf_counter() - t0:.1f} s"
        )
        print(
            "files:", ", ".join(f"{p.name} {p.stat().st_size / 1e3:.0f} kB" for p in files.values())
        )
    writer.close()
    if not args.keep and archive.sqlite:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{folder / 'archive.db'}{suffix}").unlink(missing_ok=True)
    print(f"(folder {folder}; {date.today()}, pid {os.getpid()})")


if __name__ == "__main__":
    main()
