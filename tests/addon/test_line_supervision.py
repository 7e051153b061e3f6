"""Line supervision against a real pymodbus server (issue 11, §6.0.6).

One misbehaving device among ten valves on one Modbus TCP line — late replies, short frames,
exception 04, garbage (NaN and sentinels) — must not cost the other nine their polls, and must
be reported within three of its own polls. "Their polls" are the polls their schedule asks for
between a device's first and last poll in the measured window (span / poll interval + 1), so a
stalled line shows as missing polls; a device whose last poll lies more than two intervals
before the window's end counts as stalled. The figure printed is the worst of the nine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import pytest
from heatbalance_gateway.bus_worker import BusWorker, DeviceState
from heatbalance_gateway.register_map import load_profile
from heatbalance_gateway.transport import PymodbusTransport

from .modbus_sim import FAULTS, Behaviour, SimServer, SimServerProcess, sim_device
from .test_bus_worker import VALUES, VALVE, Recorder, make_bus, valve_worker

# A probe of the late device costs one timeout per poll interval: 0.2 s of 0.8 s is a quarter
# of the line, which leaves the nine good valves room even on a loaded 2-core machine (at
# 0.25 s interval and 0.1 s timeout a loaded run measured 73 % for the late case: the line
# itself was full). The server runs in its own process (SimServerProcess): in this test's
# event loop it answered only when the worker's side let it, and 2 of 8 runs failed beside a
# load of 19 at nice 19 (a good valve kept 84.6 % of its polls). The client still needs the
# CPU in time: an answer that arrives while its process waits for a core is judged lost once
# the timeout has passed. So the whole line runs on a clock scaled by the machine's load
# (time_scale): timeout, interval, the late device's delay and the window grow together, and
# every figure asserted (polls kept, polls to report) is a count, the same at any scale.
INTERVAL_S = 0.8
TIMEOUT_S = 0.2
WINDOW_S = 8.0
BAD = 5
MAX_SCALE = 4.0


def time_scale() -> float:
    """The line's clock factor: the last minute's load per core, from 1 (idle) to 4."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return min(MAX_SCALE, max(1.0, load))


class Broken(Exception):
    """Raised by a sabotaged decoder."""


async def _run_line(fault: str) -> tuple[Recorder, BusWorker, dict[str, float]]:
    scale = time_scale()
    interval, timeout = INTERVAL_S * scale, TIMEOUT_S * scale
    behaviours = {i: Behaviour(fault=fault if i == BAD else None) for i in range(1, 11)}
    behaviours[BAD].late_s = 1.5 * timeout
    rec = Recorder()
    times: dict[str, list[tuple[float, bool]]] = {}
    rec.hooks.append(
        lambda device, _plan, ok: times.setdefault(device, []).append((time.monotonic(), ok))
    )
    async with SimServerProcess("electric_valve", VALUES, behaviours) as server:
        bus = make_bus(server.port, 10, interval=interval, timeout=timeout, retries=1)
        worker = valve_worker(bus, rec)
        task = asyncio.create_task(worker.run())
        try:
            await rec.until(
                lambda: all(len(rec.polls[f"valve-{i}"]) >= 2 for i in range(1, 11)),
                guard_s=30.0 * scale,
            )
            began = time.monotonic()
            await asyncio.sleep(WINDOW_S * scale)
            ended = time.monotonic()
        finally:
            worker.stop()
            await task
    kept = {}
    for name, polls in times.items():
        inside = [(t, ok) for t, ok in polls if began <= t <= ended]
        span = inside[-1][0] - inside[0][0] if inside else 0.0
        scheduled = span / interval + 1 if inside and ended - inside[-1][0] < 2 * interval else 0
        kept[name] = sum(ok for _t, ok in inside) / scheduled if scheduled else 0.0
    return rec, worker, kept


@pytest.mark.parametrize("fault", FAULTS)
async def test_one_bad_device_among_ten(fault: str) -> None:
    rec, worker, kept = await _run_line(fault)
    bad = f"valve-{BAD}"
    kept.pop(bad)
    worst = min(kept.values())
    print(f"{fault}: worst good device kept {worst:.1%} of its polls (clock ×{time_scale():.1f})")
    assert len(kept) == 9
    assert min(kept.values()) >= 0.95, kept
    # the bad device was reported unavailable within 3 of its own polls, and stays so
    assert rec.availability[0][:2] == (bad, False)
    assert rec.availability[0][2] <= 3
    assert all(name == bad for name, _a, _n in rec.availability)
    stats = worker.devices[bad].stats
    counted = {
        "late": stats.no_response,
        "short": stats.bad_responses,
        "exception": stats.exceptions,
        "garbage": stats.invalid_values,
    }[fault]
    assert counted > 0
    assert stats.alarm or not worker.devices[bad].breaker.available
    # nothing the bad device sent wrongly is published as a number (a short device still
    # answers its one-register holding block correctly: that value is its own)
    wrong = {p.key for p in VALVE.points if p.function == "input" or fault != "short"}
    assert all(
        r.values.get(key) is None for r in rec.readings if r.device == bad for key in wrong
    ), fault
    good = [r for r in rec.readings if r.device == "valve-1"]
    assert good[-1].values["supply_temperature"] == pytest.approx(70.25)


async def test_single_garbage_point_is_published_as_unavailable() -> None:
    """A device with one sentinel point stays online; that point is None, the rest valid."""
    values = {**VALUES, "position_feedback": 6553.5}  # raw 0xFFFF, the uint16 sentinel
    rec = Recorder()
    async with SimServer([sim_device(1, VALVE, values, Behaviour())]) as server:
        bus = make_bus(server.port, 1, interval=0.05)
        worker = BusWorker(
            bus, {"electric_valve": VALVE}, PymodbusTransport.from_bus(bus), rec.readings.append
        )
        task = asyncio.create_task(worker.run())
        try:
            await rec.until(lambda: len(rec.readings) >= 3)
        finally:
            worker.stop()
            await task
    reading = rec.readings[-1]
    assert reading.values["position_feedback"] is None
    assert reading.values["supply_temperature"] == pytest.approx(70.25)
    state = worker.devices["valve-1"]
    assert state.breaker.available
    assert state.invalid == {"position_feedback": "sentinel 65535"}
    assert state.stats.invalid_values >= 3


async def test_decoder_crash_is_the_device_fault_not_the_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected error inside one device's poll is logged with its name; the line goes on."""
    rec = Recorder()
    original = BusWorker._decode_block

    def sabotaged(self: BusWorker, device: DeviceState, *args: Any) -> None:
        if device.name == "valve-2":
            raise Broken("decoder bug")
        original(self, device, *args)

    monkeypatch.setattr(BusWorker, "_decode_block", sabotaged)
    devices = [sim_device(i, VALVE, VALUES, Behaviour()) for i in (1, 2, 3)]
    async with SimServer(devices) as server:
        bus = make_bus(server.port, 3, interval=0.1)
        worker = valve_worker(bus, rec)
        task = asyncio.create_task(worker.run())
        with caplog.at_level(logging.ERROR):
            try:
                await rec.until(lambda: len(rec.polls["valve-3"]) >= 6)
            finally:
                worker.stop()
                await task
    assert not task.exception()
    assert ("valve-2", False, 3) in rec.availability
    assert all(ok for _plan, ok in rec.polls["valve-3"])
    assert worker.devices["valve-2"].stats.poll_errors >= 3
    assert any("valve-2: poll failed" in r.getMessage() for r in caplog.records)


def test_profile_validates_values() -> None:
    point = VALVE.point("position_feedback")
    assert point.read([500]) == (50.0, None)
    assert point.read([0xFFFF]) == (None, "sentinel 65535")
    assert point.read([1001])[0] is None  # 100.1 % is outside the physical range
    assert point.read([]) == (None, "0 of 1 registers")
    temperature = VALVE.point("supply_temperature")
    assert temperature.read([0x7FC0, 0])[1] == "not finite (nan)"
    assert temperature.read([0x7F80, 0])[1] == "not finite (inf)"
    meter = load_profile("heat_meter").point("energy")
    assert meter.read([0xFFFF, 0xFFFF]) == (None, "sentinel 4294967295")


async def test_dead_worker_is_restarted_with_its_reason(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker task that dies is logged with the reason and started again (Gateway.run)."""
    from heatbalance_gateway import gateway as gateway_module
    from heatbalance_gateway.config import parse_config

    from devtools.gateway_proc import plain_broker

    monkeypatch.setattr(gateway_module, "RESTART_DELAY_S", 0.01)
    config = parse_config(
        {"gateway_id": "gw1", "data_dir": str(tmp_path), "mqtt": {"main": plain_broker(1883)}}
    )
    gateway = gateway_module.Gateway(config)
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise Broken(f"crash {len(runs)}")
        gateway.stop()

    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(gateway._supervised("bus line1", flaky), 10)
    gateway.outbox.close()
    assert len(runs) == 3
    assert gateway.restarts == {"bus line1": 2}
    assert [r.getMessage() for r in caplog.records] == ["bus line1 died; restarting in 0 s"] * 2
    assert "crash 1" in (caplog.records[0].exc_text or str(caplog.records[0].exc_info))
