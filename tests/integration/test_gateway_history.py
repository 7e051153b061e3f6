"""Backlog history of gateway inlets (issue 5 item 4, §6.0.3 resume without loss).

A replayed backlog must be durable before the gateway is told to delete it: it goes to a
journal file (fsync'd) before the ack, and from there into the long-term statistics of the
inlet's own sensors at the readings' original hours. Runs in a real Home Assistant test
instance with the real recorder (in-memory SQLite) and HA's MQTT machinery (``mqtt_mock``:
only the paho client is mocked). Checked: journal before ack, no duplicates, damaged lines
skipped, newer live state kept, import after a restart with the original hours, hours the
recorder compiled from live states never overwritten, pruning after the retention.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.heatbalance import gateway_history as gh
from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.diagnostics import gateway_link
from custom_components.heatbalance.gateway_source import AckTracker, GatewaySource, Item

from .conftest import add_network

HOUR = 3600.0
REAL_NOW = time.time()
NOW = math.floor(REAL_NOW / HOUR) * HOUR + 1800.0  # half past the current hour
H1 = NOW - 1800.0 - 5 * HOUR  # start of the hour five hours ago
H2 = H1 + HOUR
DEVICES = {"b001-meter": ("B001", "meter"), "b001-valve": ("B001", "valve")}
METER = {"flow": 4.0, "supply_temperature": 60.0, "return_temperature": 44.0}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: None, enable_custom_integrations: None) -> None:
    """The recorder must be set up before ``hass`` (a harness rule, FACTS.md)."""
    return


@pytest.fixture(autouse=True)
def gateway_journal_dir() -> None:
    """Here the journal goes where it does in production: ``<config>/.storage`` (config_dir)."""
    return


@pytest.fixture
def expected_lingering_timers() -> bool:
    """mqtt_mock and the scheduled import leave timers running (FACTS.md)."""
    return True


def batch(readings: list[tuple[int, float, str, dict[str, Any]]], stream: str = "s1") -> str:
    """A batch as the gateway's forwarder encodes it."""
    return json.dumps(
        {
            "gateway": "gw1",
            "stream": stream,
            "floor": 0,
            "readings": [
                {"seq": s, "ts": ts, "device": d, "values": v} for s, ts, d, v in readings
            ],
        }
    )


# --- pure parts ----------------------------------------------------------------------------------
def test_backlog_is_late_or_not_the_newest_state() -> None:
    """Late (older than the window) or superseded readings are history only."""
    assert gh.is_backlog(NOW - 700, True, NOW, 600)
    assert gh.is_backlog(NOW - 10, False, NOW, 600)
    assert not gh.is_backlog(NOW - 10, True, NOW, 600)


def test_parse_skips_damaged_lines_and_repeated_ids() -> None:
    """A torn or foreign line is counted and skipped, never fatal; an id is kept once."""
    good = gh.record("gw1", "s1", {"seq": 1, "ts": H1, "device": "b001-meter", "values": METER})
    lines = [
        gh.encode([good]),
        b'{"id": "gw1/s1/2", "ts": 1',  # torn by a crash mid-append
        b"[1, 2]\n",
        b'{"id": "x", "ts": "nan", "device": "d", "values": {}}\n',
        b'{"id": "y", "ts": 1.0, "device": "d", "values": 3}\n',
        b"\n",
        gh.encode([good]),
    ]
    records, damaged = gh.parse(lines)
    assert records == [good]
    assert good["id"] == "gw1/s1/1"
    assert damaged == 4


def test_hourly_mean_min_max_of_complete_hours_per_signal() -> None:
    """Clock hours of original timestamps; the open hour and unknown devices are left out."""
    recs = [
        {"ts": H1 + 60, "device": "b001-meter", "values": {**METER, "flow": 3.0}},
        {"ts": H1 + 1800, "device": "b001-meter", "values": {**METER, "flow": 5.0}},
        {"ts": H1 + 900, "device": "b001-valve", "values": {"position_feedback": 40}},
        {"ts": H1 + 901, "device": "b001-valve", "values": {"supply_temperature": 99.0}},
        {"ts": H2 + 60, "device": "b001-meter", "values": {"flow": float("nan"), "x": True}},
        {"ts": H1 + 60, "device": "other-meter", "values": METER},
        {"ts": NOW - 60, "device": "b001-meter", "values": METER},  # hour not complete
    ]
    stats = gh.hourly(recs, DEVICES, complete_before=NOW - 1800)
    flow = stats[("B001", "flow")][H1]
    assert (flow.mean, flow.low, flow.high, flow.count) == (4.0, 3.0, 5.0, 2)
    # the valve's temperature is not used when the inlet has a meter (as reading() does)
    assert stats[("B001", "supply_temperature")][H1].high == 60.0
    assert stats[("B001", "valve_position")][H1].mean == 40.0
    assert set(stats) == {("B001", k) for k in gh.SIGNALS}
    assert all(set(hours) == {H1} for hours in stats.values())
    # an inlet with only a valve: its temperatures come from the valve
    valve_only = gh.hourly(recs, {"b001-valve": ("B001", "valve")}, NOW)
    assert valve_only[("B001", "supply_temperature")][H1].mean == 99.0


def test_journal_load_prunes_and_rewrites_atomically(tmp_path: Path) -> None:
    """Entries beyond the retention and damaged lines are dropped from the file on load."""
    path = tmp_path / "j.jsonl"
    journal = gh.Journal(str(path))
    journal.load(NOW)  # no file yet
    assert journal.records == []
    old = gh.record("gw1", "s1", {"seq": 1, "ts": NOW - 11 * 86400, "device": "d", "values": {}})
    new = gh.record("gw1", "s1", {"seq": 2, "ts": NOW - 9 * 86400, "device": "d", "values": {}})
    journal.write([old])
    path.write_bytes(path.read_bytes() + b"{torn")
    journal.write([new])
    assert journal.new([old, new, new]) == [old, new]  # nothing committed yet
    journal.load(NOW)
    assert journal.records == [new]
    assert journal.damaged == 1
    assert journal.new([old, new]) == [old]
    assert gh.parse(path.read_bytes().splitlines()) == ([new], 0)
    assert not (tmp_path / "j.jsonl.tmp").exists()
    journal.load(NOW)  # nothing to drop: the file is left alone
    assert journal.damaged == 0


def test_imported_hours_file_missing_damaged_and_pruned(tmp_path: Path) -> None:
    """The record of hours this module imported is optional and written atomically."""
    path = str(tmp_path / "i.json")
    assert gh.load_imported(path) == {}
    gh.save_imported(path, {"sensor.a": {H1: 3, H2: 4}}, oldest=H2)
    assert gh.load_imported(path) == {"sensor.a": {H2: 4}}
    Path(path).write_text("{not json")
    assert gh.load_imported(path) == {}


# --- Home Assistant side -------------------------------------------------------------------------
def _entities(hass: HomeAssistant, entry_id: str = "net1") -> dict[str, str]:
    """The inlet's sensor entities as the integration registers them (entity.py unique ids)."""
    entry = MockConfigEntry(domain=DOMAIN, entry_id=entry_id)
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    return {
        key: registry.async_get_or_create(
            "sensor", DOMAIN, f"{entry_id}_B001_{key}", config_entry=entry
        ).entity_id
        for key in gh.SIGNALS
    }


def _history(hass: HomeAssistant, now: float = NOW) -> gh.BacklogHistory:
    return gh.BacklogHistory(hass, "heatbalance", DEVICES, lambda: now, late_s=600.0)


def _items(tracker: AckTracker, payload: str) -> list[Item]:
    return tracker.handle_batch("gw1", payload)


async def _rows(hass: HomeAssistant, entity_id: str) -> dict[float, dict[str, Any]]:
    """Hourly statistics rows of ``entity_id`` by start (epoch seconds)."""
    await async_wait_recording_done(hass)

    def query() -> dict[str, list[Any]]:
        start = datetime.fromtimestamp(H1 - 2 * HOUR, UTC)
        types: set[Any] = {"mean", "min", "max"}
        return dict(statistics_during_period(hass, start, None, {entity_id}, "hour", None, types))

    found = await hass.async_add_executor_job(query)
    return {float(r["start"]): dict(r) for r in found.get(entity_id, [])}


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A config directory of this test's own (the harness's default is shared)."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


async def test_journal_dedup_and_import_with_original_hours(
    hass: HomeAssistant, config_dir: Path
) -> None:
    """Backlog is journaled once, live readings are not; after a restart it is imported into
    the inlet's sensor statistics at the original hours (mean/min/max)."""
    ids = _entities(hass)
    history = _history(hass)
    await history.async_load()
    tracker = AckTracker()
    items = _items(
        tracker,
        batch(
            [
                (1, NOW - 5, "b001-meter", {**METER, "flow": 9.0}),  # live
                (2, H1 + 60, "b001-meter", {**METER, "flow": 3.0}),  # backlog
                (3, H1 + 1800, "b001-meter", {**METER, "flow": 5.0}),
                (4, H2 + 10, "b001-valve", {"position_feedback": 35.0}),
            ]
        ),
    )
    assert await history.async_record("gw1", "s1", items, NOW) == 3
    lines = Path(history.journal.path).read_bytes().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["gw1/s1/2", "gw1/s1/3", "gw1/s1/4"]
    assert Path(history.journal.path).parent == config_dir / ".storage"
    # The same readings again, as a fresh tracker (HA restart before its Store was saved) sees
    # them: new to the tracker, not to the journal.
    again = _items(AckTracker(), batch([(2, H1 + 60, "b001-meter", METER)]))
    assert await history.async_record("gw1", "s1", again, NOW) == 0
    assert len(Path(history.journal.path).read_bytes().splitlines()) == 3
    history.stop()

    # Restart: a new instance loads the journal and imports what the recorder lacks.
    restarted = _history(hass)
    await restarted.async_load()
    # a start's import and a timer's at once: one after the other, the file stays whole
    first, _second = await asyncio.gather(restarted.async_import(), restarted.async_import())
    assert first == 4  # flow, supply, return in H1; valve in H2
    assert set(gh.load_imported(restarted.imported_path)) == set(ids.values())
    flow = await _rows(hass, ids["flow"])
    assert set(flow) == {H1}
    assert (flow[H1]["mean"], flow[H1]["min"], flow[H1]["max"]) == (4.0, 3.0, 5.0)
    assert (await _rows(hass, ids["supply_temperature"]))[H1]["mean"] == pytest.approx(60.0)
    assert (await _rows(hass, ids["valve_position"]))[H2]["mean"] == pytest.approx(35.0)
    assert os.path.exists(restarted.imported_path)
    # Import again (another restart): an upsert, nothing changes.
    third = _history(hass)
    await third.async_load()
    assert await third.async_import() == 0  # imported before, nothing new: left alone
    assert (await _rows(hass, ids["flow"]))[H1]["mean"] == 4.0
    third.stop()
    restarted.stop()


async def test_live_compiled_hours_are_not_overwritten(
    hass: HomeAssistant, config_dir: Path, freezer: Any
) -> None:
    """An hour the recorder compiled from live states keeps its row; backlog of other hours is
    imported, and later backlog of an hour imported before updates that hour."""
    assert await async_setup_component(hass, "sensor", {})
    ids = _entities(hass)
    # HA was live during H2: the sensor had a state and the recorder compiled the hour.
    freezer.move_to(datetime.fromtimestamp(H2 + 50 * 60, UTC))
    attrs = {"state_class": "measurement", "unit_of_measurement": "m³/h"}
    hass.states.async_set(ids["flow"], "7.0", attrs | {"device_class": "volume_flow_rate"})
    await async_wait_recording_done(hass)
    do_adhoc_statistics(hass, start=datetime.fromtimestamp(H2 + 55 * 60, UTC))
    await async_wait_recording_done(hass)
    freezer.move_to(datetime.fromtimestamp(REAL_NOW, UTC))
    assert (await _rows(hass, ids["flow"]))[H2]["mean"] == 7.0

    history = _history(hass)
    await history.async_load()
    tracker = AckTracker()
    items = _items(
        tracker,
        batch([(1, H1 + 60, "b001-meter", METER), (2, H2 + 60, "b001-meter", METER)]),
    )
    await history.async_record("gw1", "s1", items, NOW)
    await history.async_import()
    flow = await _rows(hass, ids["flow"])
    assert flow[H2]["mean"] == 7.0  # the recorder's own row won
    assert flow[H1]["mean"] == 4.0

    # More backlog of H1 arrives later: H1 is ours, so it is re-imported with all readings.
    more = _items(tracker, batch([(3, H1 + 120, "b001-meter", {**METER, "flow": 6.0})]))
    await history.async_record("gw1", "s1", more, NOW)
    await history.async_import()
    flow = await _rows(hass, ids["flow"])
    assert (flow[H1]["mean"], flow[H1]["max"], flow[H2]["mean"]) == (5.0, 6.0, 7.0)
    history.stop()


async def test_damaged_journal_line_is_skipped_on_start(
    hass: HomeAssistant, config_dir: Path
) -> None:
    """A torn line (crash mid-append) costs that line only; the rest is imported."""
    ids = _entities(hass)
    path = config_dir / ".storage" / "heatbalance.gateway_journal.heatbalance.jsonl"
    path.parent.mkdir()
    good = gh.record("gw1", "s1", {"seq": 1, "ts": H1 + 5, "device": "b001-meter", "values": METER})
    path.write_bytes(gh.encode([good]) + b'{"id": "gw1/s1/2", "ts": ')
    # an earlier run queued this hour and saved that, but crashed before the recorder commit
    gh.save_imported(str(path).replace(".jsonl", ".imported.json"), {ids["flow"]: {H1: 1}}, 0)
    history = _history(hass)
    await history.async_load()
    assert history.journal.damaged == 1
    assert await history.async_import() == 3
    assert (await _rows(hass, ids["return_temperature"]))[H1]["mean"] == 44.0
    assert (await _rows(hass, ids["flow"]))[H1]["mean"] == 4.0
    assert gh.parse(path.read_bytes().splitlines()) == ([good], 0)  # rewritten without it
    history.stop()


async def test_no_import_without_a_unique_sensor_or_a_recorder(
    hass: HomeAssistant, config_dir: Path
) -> None:
    """Backlog of an inlet no network (or two networks) has stays in the journal only."""
    _entities(hass, "net1")
    _entities(hass, "net2")  # the same inlet id in two networks: ambiguous
    history = _history(hass)
    await history.async_load()
    items = _items(AckTracker(), batch([(1, H1, "b001-meter", METER)]))
    assert await history.async_record("gw1", "s1", items, NOW) == 1
    assert await history.async_import() == 0
    hass.config.components.remove("recorder")
    assert await history.async_import() == 0
    hass.config.components.add("recorder")
    history.stop()


# --- wired into the gateway source ---------------------------------------------------------------
ROOT = "heatbalance/gw/gw1"
INLETS: dict[str, tuple[str | None, str | None]] = {"B001": ("b001-meter", "b001-valve")}


def _journal_ids(path: Path) -> list[str]:
    return [json.loads(x)["id"] for x in path.read_bytes().splitlines()] if path.exists() else []


async def test_backlog_durable_before_the_ack_and_live_state_kept(
    hass: HomeAssistant, mqtt_mock: Any, config_dir: Path
) -> None:
    """Each ack is published only after its batch's backlog is in the journal file; batches
    arriving together are handled in order (and may share one journal write and one ack);
    backlog never replaces newer live state."""
    source = GatewaySource(hass, INLETS, clock=lambda: NOW)
    await source.async_start()
    assert source.backlog is not None
    path = Path(source.backlog.journal.path)
    at_ack: list[tuple[int, list[str]]] = []

    async def record(topic: str, payload: Any, *_a: Any, **_k: Any) -> None:
        if topic.endswith("/ack"):
            at_ack.append((json.loads(payload)["seq"], _journal_ids(path)))

    mqtt_mock.async_publish.side_effect = record
    live = {**METER, "flow": 9.0}
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(1, NOW - 5, "b001-meter", live)]))
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(2, H1 + 60, "b001-meter", METER)]))
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(3, H1 + 90, "b001-meter", METER)]))
    await hass.async_block_till_done()
    # batches queued together are stored as one group: one journal write, one ack (issue 10)
    seqs = [seq for seq, _ids in at_ack]
    assert seqs == sorted(set(seqs))
    assert seqs[-1] == 3
    backlog = {2: "gw1/s1/2", 3: "gw1/s1/3"}  # 1 is live: not journaled
    for seq, ids in at_ack:
        assert ids == [name for s, name in backlog.items() if s <= seq]
    assert source.live["b001-meter"].ts == NOW - 5
    assert source.live["b001-meter"].values["flow"] == 9.0
    # a replay of the same rows: acked again, journaled once
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(2, H1 + 60, "b001-meter", METER)]))
    await hass.async_block_till_done()
    assert at_ack[-1] == (3, ["gw1/s1/2", "gw1/s1/3"])
    source.stop()


async def test_journal_failure_means_no_ack_and_the_replay_is_new(
    hass: HomeAssistant, mqtt_mock: Any, config_dir: Path
) -> None:
    """When the journal cannot be written, the batch is not acked (the gateway keeps the rows)
    and its resend is taken as new, so it is journaled then."""
    source = GatewaySource(hass, INLETS, clock=lambda: NOW)
    await source.async_start()
    assert source.backlog is not None
    path = Path(source.backlog.journal.path)

    def acks() -> list[int]:
        calls = mqtt_mock.async_publish.call_args_list
        return [json.loads(c.args[1])["seq"] for c in calls if c.args[0] == f"{ROOT}/ack"]

    path.mkdir(parents=True)  # a directory where the file should be: every write fails
    payload = batch([(1, H1 + 60, "b001-meter", METER)])
    async_fire_mqtt_message(hass, f"{ROOT}/data", payload)
    await hass.async_block_till_done()
    assert acks() == []
    assert "gw1" not in source.tracker.streams
    path.rmdir()
    async_fire_mqtt_message(hass, f"{ROOT}/data", payload)
    await hass.async_block_till_done()
    assert _journal_ids(path) == ["gw1/s1/1"]
    assert acks() == [1]
    # a failure after written batches goes back to the last written position
    path.rename(path.with_suffix(".moved"))
    path.mkdir()
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(2, H1 + 70, "b001-meter", METER)]))
    await hass.async_block_till_done()
    assert acks() == [1]
    assert source.tracker.streams["gw1"].contiguous == 1
    source.stop()


async def test_restart_imports_what_a_crash_left_in_the_journal(
    hass: HomeAssistant, mqtt_mock: Any, config_dir: Path
) -> None:
    """HA crashed after the journal write and ack, before any import: the next start imports
    the backlog into the inlet's statistics at its original hour."""
    ids = _entities(hass)
    source = GatewaySource(hass, INLETS, clock=lambda: NOW)
    await source.async_start()
    async_fire_mqtt_message(
        hass,
        f"{ROOT}/data",
        batch(
            [
                (1, H1 + 60, "b001-meter", METER),
                (2, H1 + 70, "b001-valve", {"position_feedback": 30}),
            ]
        ),
    )
    await hass.async_block_till_done()
    source.stop()  # the scheduled import never runs: the crash
    assert await _rows(hass, ids["flow"]) == {}

    restarted = GatewaySource(hass, INLETS, clock=lambda: NOW)
    await restarted.async_start()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (await _rows(hass, ids["flow"]))[H1]["mean"] == 4.0
    assert (await _rows(hass, ids["valve_position"]))[H1]["mean"] == 30.0
    assert gateway_link(restarted)["backlog_rows_imported"] == 4  # the diagnostics show it
    restarted.stop()


async def test_import_runs_after_a_replay_and_again_when_the_hour_completes(
    hass: HomeAssistant, config_dir: Path
) -> None:
    """After a replay the import runs on its own; backlog of the running hour waits until the
    hour is complete (and compiled by the recorder), then it is imported too."""
    ids = _entities(hass)
    clock = [NOW]
    history = gh.BacklogHistory(hass, "heatbalance", DEVICES, lambda: clock[0], late_s=600.0)
    await history.async_load()
    this_hour = NOW - 1800.0
    items = _items(
        AckTracker(),
        batch([(1, H1 + 60, "b001-meter", METER), (2, NOW - 900, "b001-meter", METER)]),
    )
    assert await history.async_record("gw1", "s1", items, NOW) == 2
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=gh.IMPORT_DELAY_S + 1))
    await hass.async_block_till_done()
    assert set(await _rows(hass, ids["flow"])) == {H1}
    clock[0] = this_hour + HOUR + gh.COMPILE_MARGIN_S  # the hour ended, the recorder compiled
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2 * HOUR))
    await hass.async_block_till_done()
    assert set(await _rows(hass, ids["flow"])) == {H1, this_hour}
    assert history.imported_rows == 6  # H1 once (nothing new in it), this hour once
    history.stop()


async def test_the_real_inlet_sensors_are_found_and_their_units_match(
    hass: HomeAssistant, config_dir: Path
) -> None:
    """A network set up through the config flow: each signal resolves to the inlet's own sensor
    (entity.py's unique ids) and the imported unit is the sensor's, so the recorder keeps one
    series for live and backlog hours."""
    await add_network(hass)
    history = _history(hass)
    for key, (_kind, _name, unit) in gh.SIGNALS.items():
        entity_id = history.entity_id("B001", key)
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.attributes["unit_of_measurement"] == unit
        assert state.attributes["state_class"] == "measurement"
    await history.async_load()
    items = _items(AckTracker(), batch([(1, H1 + 5, "b001-meter", METER)]))
    await history.async_record("gw1", "s1", items, NOW)
    assert await history.async_import() == 3
    flow = await _rows(hass, history.entity_id("B001", "flow") or "")
    assert flow[H1]["mean"] == 4.0
    history.stop()


async def test_store_never_counts_a_batch_whose_journal_write_is_under_way(
    hass: HomeAssistant, mqtt_mock: Any, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Store's ack position includes a batch only once its backlog is durable: a crash
    during the write must leave the gateway's resend new, not a duplicate (§6.0.3)."""
    source = GatewaySource(hass, INLETS, clock=lambda: NOW)
    await source.async_start()
    assert source.backlog is not None
    journal = source.backlog.journal
    write, entered, release = gh.Journal.write, threading.Event(), threading.Event()

    def slow_write(self: gh.Journal, records: list[dict[str, Any]]) -> None:
        if records[0]["id"] == "gw1/s1/2":  # the second batch's fsync takes its time
            entered.set()
            release.wait(10)
        write(self, records)

    monkeypatch.setattr(gh.Journal, "write", slow_write)
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(1, H1 + 60, "b001-meter", METER)]))
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(2, H1 + 90, "b001-meter", METER)]))
    assert await hass.async_add_executor_job(entered.wait, 10)
    assert source.tracker.streams["gw1"].contiguous == 2  # classified …
    assert source._written_dict()["streams"]["gw1"]["contiguous"] == 1  # … not yet written
    release.set()
    await hass.async_block_till_done()
    assert source._written_dict()["streams"]["gw1"]["contiguous"] == 2
    assert _journal_ids(Path(journal.path)) == ["gw1/s1/1", "gw1/s1/2"]
    source.stop()


async def test_import_follows_the_unit_the_recorder_keeps_the_series_in(
    hass: HomeAssistant, config_dir: Path, freezer: Any
) -> None:
    """A user who shows temperatures in °F has the series kept in °F: backlog in °C is
    converted, not mixed in; a unit that does not convert is not imported at all."""
    assert await async_setup_component(hass, "sensor", {})
    ids = _entities(hass)
    freezer.move_to(datetime.fromtimestamp(H2 + 50 * 60, UTC))
    fahrenheit = {"state_class": "measurement", "unit_of_measurement": "°F"}
    hass.states.async_set(ids["supply_temperature"], "150.0", fahrenheit)
    hass.states.async_set(ids["valve_position"], "5", {"state_class": "measurement"})
    hass.states.async_set(
        ids["flow"], "1", {"state_class": "measurement", "unit_of_measurement": "W"}
    )
    await async_wait_recording_done(hass)
    do_adhoc_statistics(hass, start=datetime.fromtimestamp(H2 + 55 * 60, UTC))
    await async_wait_recording_done(hass)
    freezer.move_to(datetime.fromtimestamp(REAL_NOW, UTC))

    history = _history(hass)
    await history.async_load()
    valve = {"position_feedback": 30.0}
    items = _items(
        AckTracker(),
        batch([(1, H1 + 60, "b001-meter", METER), (2, H1 + 60, "b001-valve", valve)]),
    )
    await history.async_record("gw1", "s1", items, NOW)
    await history.async_import()
    supply = await _rows(hass, ids["supply_temperature"])
    assert supply[H1]["mean"] == pytest.approx(140.0)  # 60 °C
    assert supply[H2]["mean"] == pytest.approx(150.0)
    assert set(await _rows(hass, ids["flow"])) == {H2}  # m³/h does not convert to W
    # a series without a unit is a plain ratio to the recorder: 30 % is kept as 0.3
    assert (await _rows(hass, ids["valve_position"]))[H1]["mean"] == pytest.approx(0.3)
    assert gh.to_unit("m³/h", "W") is None
    assert gh.to_unit("m³/h", "L/min") is not None
    history.stop()
