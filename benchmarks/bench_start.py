"""HA start of a network whose Store holds a day of learning, measured through Home Assistant.

Issue 10: "HA start with the 23k network ≤ 30 s; nothing blocking in the event loop".
``bench_restore`` times the engine's rebuild alone; this runs the whole entry's setup in Home
Assistant's own test harness (pytest-homeassistant-custom-component, as ``bench_product``):

1. the network is added through the config flow (a fresh start, not timed), run one cycle
   and unloaded, so its Store, device and entity registries are what Home Assistant keeps;
2. the Store's cycle memory is replaced by a day-old one (``bench_restore --write F``:
   48 disturbed cycles of the integration's ``run_cycle`` on the same network), written as
   the coordinator writes it (``persistence.memory_form``: a large learning in its own file
   beside the Store, ``memory_file``; on code from before that file, deflated text in the
   Store);
3. ``hass.config_entries.async_setup`` is timed to its return — the Store read, the
   learning restored, the first coordinator data (the loop rebuilt from the Store and its
   first cycle), the platforms with every entity registered and written — and then to
   ``async_block_till_done``. Wall and CPU seconds (all threads; the event loop's thread
   alone beside), the load average before and after, the parts (``bench_product``'s
   :class:`StartParts`), the event loop's longest callback in its thread's CPU time and
   its longest stall (a 5 ms heartbeat), the restore's warnings (a damaged part would be
   named) and the meter check's restored windows (evidence the day was read, not dropped);
4. then one save of the restored learning (``coordinator.async_save``, as the timer's after a
   cycle) with the same heartbeat: the Store's serialisation (in the executor on both HA
   versions here) held the GIL in one call while the learning was inside it.

Steps 2-3 run ``--reps`` times in one process (the Store rewritten each time from the same
bytes). (At 8ffa043 ``--variants as-is field-by-field`` alternated the meter check's read
with and without 18c's check at once, since removed: docs/integration.md, 19d.)

Home Assistant's checks: ``block_async_io`` (blocking file, sleep and import calls on the
event loop; Home Assistant's bootstrap turns it on in every start) always; with
``--asyncio-debug`` also asyncio's debug mode (slow callbacks ≥ 100 ms) and
``hass.config.debug`` (thread-safety checks), as ``hass --debug`` runs — slower, so its
times are not the start's. Every warning they log is printed. The coordinator's own timer is
off (``bench_product._refreshes_counted``): the first cycle is the setup's own.

    PYTHONPATH=. .venv/ha2026/bin/python -m benchmarks.bench_start --state F
        [--reps 2] [--asyncio-debug] [--profile P]

Not a test: figures vary with the machine's load (printed beside each row).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "addon")]

import pytest  # noqa: E402

from benchmarks.bench_product import (  # noqa: E402
    GC,
    HaChecks,
    Heartbeat,
    LongestCallback,
    StartParts,
    _add_entry,
    _entity_count,
    _logging_as_home_assistant,
    _real_storage,
    _refreshes_counted,
)
from devtools.case_run import run_case  # noqa: E402


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])


# --- the harness part (runs under pytest) ---------------------------------------------------
@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/heatbalance."""


class Warnings(logging.Handler):
    """The integration's warnings while a start runs (a damaged stored part is logged)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.found.append(record.getMessage()[:300])


def _day_old_memory(state_file: Path, folder: Path) -> tuple[str, str, dict[str, Any]]:
    """``state_file``'s network, algorithm and cycle memory in the Store's form, as the
    coordinator writes it (``persistence.memory_form``): a large learning in its file
    (``memory_file``, written in ``folder`` under a stand-in entry id), on code from before
    that file the deflated text in the Store."""
    from custom_components.heatbalance.persistence import memory_form

    memory = json.loads(state_file.read_text())
    name, algorithm = memory.pop("network"), memory.pop("algorithm")
    try:
        from custom_components.heatbalance.memory_file import LearningFiles
    except ImportError:  # code from before the learning file
        return name, algorithm, memory_form(memory)
    return (
        name,
        algorithm,
        memory_form(memory, partial(LearningFiles(folder, "day-old").write, "a")),
    )


def _day_old_store(path: Path, form: dict[str, Any], folder: Path) -> tuple[bytes, bytes | None]:
    """The Store file at ``path`` with its cycle memory replaced by ``form``, and the bytes
    of the learning file it names (None when the learning is in the Store), renamed to the
    entry's (the file's digest is its content's)."""
    store = json.loads(path.read_text())
    # every form of the learning a version wrote (persistence.MEMORY_*), so the bench runs
    # on the code before a form was added too
    for key in ("memory_json", "memory", "memory_zlib", "memory_lines", "memory_file"):
        store["data"].pop(key, None)
    store["data"].update(form)
    pointer = form.get("memory_file")
    learning = None
    if pointer is not None:
        learning = (folder / pointer["file"]).read_bytes()
        pointer["file"] = pointer["file"].replace("day-old", store["key"].split(".", 1)[1])
    return json.dumps(store).encode(), learning


def _store_files(store: Path) -> dict[str, float]:
    """The sizes (MB) of the entry's Store and learning files."""
    return {p.name: p.stat().st_size / 1e6 for p in store.parent.glob(f"{store.name}*")}


async def _timed_save(coordinator: Any) -> dict[str, Any]:
    """One save of the restored learning (as the coordinator's timer saves after a cycle):
    wall and CPU seconds, the event loop's longest stall and callback, the files written."""
    block, beat = LongestCallback(), Heartbeat()
    block.start()
    beat.start()
    await asyncio.sleep(0)
    t0, c0, l0 = time.perf_counter(), time.process_time(), time.thread_time()
    try:
        await coordinator.async_save()
    finally:
        block.stop()
        beat.stop()
    spent = time.perf_counter() - t0, time.process_time() - c0, time.thread_time() - l0
    return {
        "spent": spent,
        "stall_ms": beat.worst_s * 1000.0,
        "long_stalls": len(beat.long),
        "longest_callback": block.report(),
        "files": _store_files(Path(coordinator.store.path)),
        "load": _load(),
    }


def _windows(coordinator: Any) -> dict[str, Any]:
    """The restored meter check: its inlets and their offset windows' mean length (a day
    read back: tens; dropped: at most 1 after the first cycle)."""
    loop = coordinator.memory.loop
    if loop is None:
        return {}
    meters = loop.controller.meters
    lengths = [len(meters.offsets.get(iid)) for iid in meters.inlets]
    return {"inlets": len(lengths), "mean_window": sum(lengths) / max(len(lengths), 1)}


async def _timed_start(hass: Any, entry: Any, rep: int) -> dict[str, Any]:
    """One setup of ``entry`` from its Store, timed (see the module docstring)."""
    warnings = Warnings()
    logging.getLogger("custom_components.heatbalance").addHandler(warnings)
    parts = StartParts()
    block, beat = LongestCallback(), Heartbeat()
    gc.collect()
    load0 = _load()
    gc0 = GC.total_s
    GC.worst_s = 0.0
    block.start()
    beat.start()
    await asyncio.sleep(0)  # the steps from here on are timed (this one began before)
    profile = cProfile.Profile() if os.environ.get("BENCH_START_PROFILE") else None
    t0, c0, l0 = time.perf_counter(), time.process_time(), time.thread_time()
    try:
        with parts.timed(), profile or contextlib.nullcontext():
            assert await hass.config_entries.async_setup(entry.entry_id)
            setup = time.perf_counter() - t0, time.process_time() - c0, time.thread_time() - l0
            await hass.async_block_till_done()
    finally:
        block.stop()
        beat.stop()
        logging.getLogger("custom_components.heatbalance").removeHandler(warnings)
    if profile is not None:
        profile.dump_stats(f"{os.environ['BENCH_START_PROFILE']}-{rep}.prof")
    settled = time.perf_counter() - t0, time.process_time() - c0, time.thread_time() - l0
    coordinator = entry.runtime_data.coordinator
    return {
        "rep": rep,
        "setup": setup,  # (wall, CPU all threads, CPU of the event loop's thread)
        "settled": settled,
        "first_data": coordinator.data is not None and coordinator.last_update_success,
        "parts": parts.report(),
        "longest_callback": block.report(),
        "stall_ms": beat.worst_s * 1000.0,
        # what ran during the longest stall, and every stall of ≥ 100 ms (ms: parts)
        "stall_during": parts.during(*beat.worst_at),
        "long_stalls": [[round((e - b) * 1000.0), parts.during(b, e)] for b, e in beat.long],
        "gc_worst_ms": GC.worst_s * 1000.0,  # the collector's longest pause (GIL held)
        "gc_s": GC.total_s - gc0,
        "load_before": load0,
        "load_after": _load(),
        "entities": _entity_count(hass, entry),
        "windows": _windows(coordinator),
        "warnings": warnings.found,
    }


async def test_start(hass: Any, request: Any) -> None:
    """The benchmark run (see the module docstring); writes its figures as JSON."""
    state_file = Path(os.environ["BENCH_START_STATE"])
    reps = int(os.environ.get("BENCH_START_REPS", "1"))
    made = Path(tempfile.mkdtemp(prefix="bench_start-learning-"))
    name, algorithm, form = _day_old_memory(state_file, made)
    gc.collect()  # the day's tree is gone before anything is timed
    _refreshes_counted(request.getfixturevalue("monkeypatch"))
    asyncio.get_running_loop().set_debug(False)  # as Home Assistant runs, unless asked below
    rows = []
    with _logging_as_home_assistant(hass), _real_storage(hass), GC:
        entry = await _add_entry(hass, name, algorithm, {"simulated_dropout": 10})
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        store = Path(hass.config.config_dir) / ".storage" / f"heatbalance.{entry.entry_id}"
        day_old, learning = _day_old_store(store, form, made)
        pointer = form.get("memory_file")
        del form
        checks = HaChecks.start(hass)  # block_async_io, as every HA start; asyncio debug:
        debug = os.environ.get("BENCH_START_ASYNCIO_DEBUG") == "1"
        asyncio.get_running_loop().set_debug(debug)  # only as hass --debug runs
        hass.config.debug = debug
        try:
            for rep in range(reps):
                store.write_bytes(day_old)
                if learning is not None and pointer is not None:
                    (store.parent / pointer["file"]).write_bytes(learning)
                HaChecks.phase = f"start {rep + 1}"
                row = await _timed_start(hass, entry, rep + 1)
                row["store_mb"] = len(day_old) / 1e6
                row["learning_mb"] = len(learning) / 1e6 if learning is not None else 0.0
                HaChecks.phase = f"save {rep + 1}"
                row["save"] = await _timed_save(entry.runtime_data.coordinator)
                rows.append(row)
                HaChecks.phase = f"unload {rep + 1}"  # not timed: after the start
                assert await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_block_till_done()
        finally:
            found = checks.stop()
            asyncio.get_running_loop().set_debug(False)
    out = Path(os.environ["BENCH_START_OUT"])
    out.write_text(json.dumps({"rows": rows, "checks": found, "asyncio_debug": debug}))


# --- the script part ------------------------------------------------------------------------
def _print(result: dict[str, Any], name: str) -> None:
    print(
        f"{name}: start from a day-old Store; seconds wall / CPU all threads / CPU event loop;"
        f" asyncio debug {'on' if result['asyncio_debug'] else 'off'}"
    )
    print(
        "| rep | setup returned | settled | first cycle | platforms | · Store read |"
        " · restore | · engine cycle | longest loop callback ms | stall ms | entities "
        "enabled/registered | meter windows | warnings | load before → after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|")
    for r in result["rows"]:

        def part(label: str, r: dict[str, Any] = r) -> str:
            cpu, wall = r["parts"].get(label, (0.0, 0.0))
            return f"{wall:.1f} / {cpu:.1f}"

        w = r["windows"]
        print(
            f"| {r['rep']} | {r['setup'][0]:.1f} / {r['setup'][1]:.1f} / "
            f"{r['setup'][2]:.1f} | {r['settled'][0]:.1f} / {r['settled'][1]:.1f} / "
            f"{r['settled'][2]:.1f} | {part('first cycle')} | {part('platforms')} | "
            f"{part('· Store read')} | {part('· restore')} | {part('· engine cycle')} | "
            f"{r['longest_callback']['ms']:.0f} | {r['stall_ms']:.0f} | "
            f"{r['entities'][0]}/{r['entities'][1]} | {w.get('inlets')} × "
            f"{w.get('mean_window', 0):.1f} | {len(r['warnings'])} | "
            f"{r['load_before']} → {r['load_after']} |",
            flush=True,
        )
    for r in result["rows"]:
        spent = ", ".join(f"{k} {c:.1f} ({w:.1f})" for k, (c, w) in r["parts"].items())
        print(f"  {r['rep']}: parts, CPU (wall): {spent}; GC {r['gc_s']:.1f} s")
        stalls = sorted(r.get("long_stalls", []), key=lambda s: -s[0])
        print(
            f"  {r['rep']}: longest stall {r['stall_ms']:.0f} ms during "
            f"{', '.join(r.get('stall_during', [])) or 'no timed part'}; "
            f"collector's longest pause {r.get('gc_worst_ms', 0.0):.0f} ms; "
            f"{len(stalls)} stalls ≥ 100 ms, the longest: "
            + ("; ".join(f"{ms} ({', '.join(on) or '–'})" for ms, on in stalls[:8]) or "none")
        )
        where = r["longest_callback"]["where"][:2]
        print(f"  {r['rep']}: longest callback {r['longest_callback']['what'][:160]}")
        for stack, samples in where:
            print(f"    {samples}× {stack[:220]}")
        for text in r["warnings"][:3]:
            print(f"    warning: {text}")
        save = r.get("save")
        if save:
            files = ", ".join(f"{k} {v:.1f} MB" for k, v in sorted(save["files"].items()))
            print(
                f"  {r['rep']}: save after the start {save['spent'][0]:.2f} / "
                f"{save['spent'][1]:.2f} / {save['spent'][2]:.2f} s (wall / CPU / loop CPU); "
                f"longest stall {save['stall_ms']:.0f} ms ({save['long_stalls']} ≥ 100 ms); "
                f"longest callback {save['longest_callback']['ms']:.0f} ms; files {files}; "
                f"load {save['load']}"
            )
        print(
            f"  {r['rep']}: Store read {r.get('store_mb', 0):.1f} MB, learning file "
            f"{r.get('learning_mb', 0):.1f} MB"
        )
    print(f"Home Assistant's checks: {len(result['checks'])} warnings")
    for found in result["checks"][:10]:
        print(f"  [{found['phase']}] {found['logger']}: {found['msg'][:400]}")


def main() -> int:
    """Run the starts under pytest in a process of their own and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", type=Path, required=True, help="bench_restore --write's file")
    parser.add_argument("--reps", type=int, default=2, help="timed starts in the process")
    parser.add_argument("--asyncio-debug", action="store_true", help="as hass --debug runs")
    parser.add_argument(
        "--profile", help="cProfile of each timed start (all threads) to PROFILE-<rep>.prof"
    )
    parser.add_argument("--timeout", type=float, default=3000.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_start-"))
    result_file = folder / "result.json"
    env = os.environ | {
        "BENCH_START_STATE": str(args.state.resolve()),
        "BENCH_START_REPS": str(args.reps),
        "BENCH_START_OUT": str(result_file),
        "BENCH_START_ASYNCIO_DEBUG": "1" if args.asyncio_debug else "0",
        "BENCH_PRODUCT_OUT": str(folder),  # bench_product writes the generated network there
        "BENCH_START_PROFILE": args.profile or "",
    }
    cmd = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider"]
    cmd += ["-W", "ignore", f"--timeout={args.timeout:.0f}", "--rootdir", str(ROOT)]
    log = folder / "run.log"
    print(f"log: {log}", flush=True)
    run = run_case(cmd, env, ROOT, log, args.timeout + 120.0)
    if not result_file.exists():
        print(f"failed: {run.reason()}")
        return 1
    _print(json.loads(result_file.read_text()), args.state.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
