"""Wired M-Bus heat meters (issue 11 item 6; §6.0.4 names M-Bus for wired heat meters).

Against a real TCP server speaking M-Bus frames (``devtools.mbus_meter``: SND_NKE / selection /
REQ_UD2 → E5h / RSP_UD with variable data records), as an M-Bus-over-TCP converter with meters
on its segment. No timed assertions: polls are counted.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from heatbalance_gateway.config import ConfigError, parse_config
from heatbalance_gateway.mbus import (
    MBusLine,
    MBusWorker,
    decode_rsp_ud,
    load_mbus_profile,
    parse_mbus_profile,
    req_ud2,
    select,
    snd_nke,
)
from heatbalance_gateway.register_map import ProfileError
from heatbalance_gateway.transport import BadResponseError

from devtools.gateway_proc import plain_broker
from devtools.mbus_meter import MBusLine as VirtualLine
from devtools.mbus_meter import SerialMBusLine, VirtualMeter

PROFILE = load_mbus_profile("mbus_heat_meter")
EXPECTED = {
    "flow": 1.25,  # 1250 l/h
    "power": 45.6,  # 45600 W
    "energy": 123_456.0,  # kWh (8-digit BCD), not last month's 61_728 (storage 1)
    "volume": 7890.0,  # 7890000 l
    "supply_temperature": 75.32,
    "return_temperature": 48.17,
}


def values(records: list[dict[str, Any]]) -> dict[str, float | None]:
    return {s.key: s.value(records)[0] for s in PROFILE.selectors}


def test_profile_takes_the_present_values_in_its_units() -> None:
    meter = VirtualMeter(address=5, ident=12345678)
    records = decode_rsp_ud(meter.rsp_ud(), 5, None)
    assert values(records) == pytest.approx(EXPECTED)
    # the maximum power record (3× the power) and storage 1 are present but not taken
    assert any(r["function"] == "FunctionType.MAXIMUM_VALUE" for r in records)
    assert any(r["storage_number"] == 1 for r in records)


def test_out_of_range_and_missing_records_are_null_with_a_reason() -> None:
    meter = VirtualMeter(address=5, ident=12345678, supply_c=250.0)
    records = decode_rsp_ud(meter.rsp_ud(), 5, None)
    supply = next(s for s in PROFILE.selectors if s.key == "supply_temperature")
    assert supply.value(records) == (None, "250.0 above 200.0")
    assert supply.value([r for r in records if "FLOW_TEMP" not in r["type"]])[0] is None


def test_bad_frames_are_refused_by_name() -> None:
    good = VirtualMeter(address=5, ident=12345678)
    with pytest.raises(BadResponseError, match="address"):
        decode_rsp_ud(good.rsp_ud(), 6, None)
    with pytest.raises(BadResponseError, match="secondary"):
        decode_rsp_ud(good.rsp_ud(), 5, "87654321" + "2D2C0104")
    with pytest.raises(BadResponseError, match="undecodable"):
        decode_rsp_ud(VirtualMeter(5, 1, fault="garbage").rsp_ud(), 5, None)
    with pytest.raises(BadResponseError):
        decode_rsp_ud(VirtualMeter(5, 1, fault="short").rsp_ud(), 5, None)


def test_request_frames_are_the_standard_ones() -> None:
    assert snd_nke(5).hex() == "1040054516"
    assert req_ud2(5).hex() == "105b056016"
    # SND_UD, CI 52h, at FDh, ID LSB first, manufacturer, version, medium
    assert select("123456782D2C0104").hex() == "680b0b6873fd52785634122d2c01043416"


def test_profile_errors_name_the_field() -> None:
    with pytest.raises(ProfileError, match=r"points.0.vif"):
        parse_mbus_profile(
            {"name": "x", "points": [{"key": "a", "name": "A", "vif": ["NOPE"], "unit": "kW"}]}
        )
    with pytest.raises(ProfileError, match="unit"):
        parse_mbus_profile(
            {"name": "x", "points": [{"key": "a", "name": "A", "vif": ["POWER_W"], "unit": "hp"}]}
        )


@pytest.mark.parametrize(("unit", "limit"), [("MWh", 200.0), ("GJ", 720.0), ("kWh", 200_000.0)])
def test_site_profile_energy_in_mwh_or_gj_is_published_in_kwh(unit: str, limit: float) -> None:
    """A site profile may name its energy counter in MWh or GJ: the meter's record (Wh or
    J by its VIF) is still published in kWh, the physical range converted with it."""
    point = {"key": "energy", "name": "E", "vif": ["ENERGY_WH", "ENERGY_J"], "unit": unit}
    site = parse_mbus_profile({"name": "x", "points": [point | {"valid_max": limit}]})
    (selector,) = site.selectors
    records = decode_rsp_ud(VirtualMeter(address=5, ident=12345678).rsp_ud(), 5, None)
    assert (site.profile.point("energy").unit, selector.unit) == ("kWh", "kWh")
    assert selector.value(records) == (pytest.approx(123_456.0), None)
    assert selector.valid_max == pytest.approx(200_000.0)  # 200 MWh = 720 GJ
    with pytest.raises(ProfileError, match=r"points\[energy\].unit: an energy counter"):
        parse_mbus_profile({"name": "x", "points": [point | {"unit": "m³"}]})


def mbus_bus(port: int, devices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "mbus1",
        "type": "mbus_tcp",
        "host": "127.0.0.1",
        "port": port,
        "devices": devices,
        **extra,
    }


def config_with(bus: dict[str, Any]) -> dict[str, Any]:
    return {"gateway_id": "gw1", "mqtt": {"main": plain_broker(1883)}, "buses": [bus]}


def test_config_accepts_primary_and_secondary_and_names_refusals() -> None:
    devices = [
        {"name": "m1", "address": 1},
        {"name": "m2", "secondary_address": "12345678 2d2c 01 04"},
    ]
    config = parse_config(config_with(mbus_bus(10001, devices)))
    bus = config.raw["buses"][0]
    assert [d["device_id"] for d in bus["devices"]] == [1, 0xFD]
    assert bus["devices"][1]["secondary_address"] == "123456782D2C0104"
    assert (bus["baudrate"], bus["parity"]) == (2400, "E")
    assert config.profiles["mbus_heat_meter"].point("energy").unit == "kWh"
    with pytest.raises(ConfigError, match=r"buses\[0\].devices\[1\].*address 1 used twice"):
        parse_config(config_with(mbus_bus(10001, [devices[0], {"name": "m3", "address": 1}])))
    with pytest.raises(ConfigError, match=r"buses\[0\].devices\[0\].address"):
        parse_config(config_with(mbus_bus(10001, [{"name": "m1"}])))
    with pytest.raises(ConfigError, match=r"buses\[0\].port"):
        parse_config(config_with({**mbus_bus(1, devices), "port": "x"}))
    with pytest.raises(ConfigError, match="secondary_address"):
        parse_config(config_with(mbus_bus(1, [{"name": "m1", "secondary_address": "12"}])))


class Recorder:
    """Worker callbacks, counted in polls."""

    def __init__(self) -> None:
        self.polls: dict[str, list[bool]] = defaultdict(list)
        self.readings: dict[str, list[dict[str, float | None]]] = defaultdict(list)
        self.availability: list[tuple[str, bool, int]] = []

    def on_poll(self, device: str, _plan: str, ok: bool) -> None:
        self.polls[device].append(ok)

    def on_reading(self, reading: Any) -> None:
        self.readings[reading.device].append(reading.values)

    def on_availability(self, device: str, available: bool) -> None:
        self.availability.append((device, available, len(self.polls[device]) + 1))

    async def until(self, predicate: Any, guard_s: float = 60.0) -> None:
        for _ in range(int(guard_s / 0.02)):
            if predicate():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"not reached: {dict(self.polls)} {self.availability}")


async def poll_line(bus: dict[str, Any], polls: int) -> Recorder:
    """Run the worker of one configured M-Bus line until every device had ``polls`` polls."""
    rec = Recorder()
    config = parse_config(config_with(bus))
    raw = config.raw["buses"][0]
    worker = MBusWorker(
        raw,
        config.mbus_profiles,
        MBusLine.from_bus(raw),
        on_reading=rec.on_reading,
        on_availability=rec.on_availability,
        on_poll=rec.on_poll,
    )
    task = asyncio.create_task(worker.run())
    try:
        await rec.until(lambda: all(len(rec.polls[d["name"]]) >= polls for d in raw["devices"]))
    finally:
        worker.stop()
        await task
    return rec


async def run_worker(
    meters: list[VirtualMeter], devices: list[dict[str, Any]], polls: int, **bus: Any
) -> Recorder:
    """Poll a virtual TCP line until every device had ``polls`` polls."""
    async with VirtualLine(meters) as line:
        return await poll_line(mbus_bus(line.port, devices, **bus), polls)


async def test_primary_and_secondary_meters_are_read() -> None:
    meters = [VirtualMeter(1, 11111111), VirtualMeter(2, 22222222, flow_lh=3_000)]
    secondary = meters[1].secondary
    devices = [
        {"name": "m1", "address": 1, "poll_interval": 0.1},
        {
            "name": "m2",
            "secondary_address": secondary[3::-1].hex() + secondary[4:].hex(),
            "poll_interval": 0.1,
        },
    ]
    rec = await run_worker(meters, devices, 3)
    assert rec.polls["m1"][:3] == rec.polls["m2"][:3] == [True] * 3
    assert rec.readings["m1"][0] == pytest.approx(EXPECTED)
    assert rec.readings["m2"][0] == pytest.approx({**EXPECTED, "flow": 3.0})


@pytest.mark.parametrize("fault", ["late", "short", "garbage", "wrong_address"])
async def test_one_bad_meter_among_five(fault: str) -> None:
    """The bad meter is unavailable within 3 polls, the four others answer every poll."""
    meters = [VirtualMeter(i, 10_000_000 + i) for i in range(1, 6)]
    meters[2].fault = fault
    meters[2].late_s = 0.9  # past the timeout (0.6 s: well beyond a loaded machine's stalls)
    devices = [{"name": f"m{i}", "address": i, "poll_interval": 0.2} for i in range(1, 6)]
    rec = await run_worker(meters, devices, 4, timeout=0.6, retries=1, baudrate=38400)
    assert rec.availability[0] == ("m3", False, 3)
    assert not any(rec.polls["m3"])
    for name in ("m1", "m2", "m4", "m5"):
        assert all(rec.polls[name]), (name, rec.polls[name])
        assert all(r == pytest.approx(EXPECTED) for r in rec.readings[name]), name
    assert all(v is None for r in rec.readings.get("m3", []) for v in r.values())


async def test_serial_level_converter_on_a_pseudo_terminal() -> None:
    """``mbus_serial``: pyserial opens the port 2400 8E1 and the same frames go over it."""
    meters = [VirtualMeter(7, 70707070, supply_c=80.5)]
    with SerialMBusLine(meters) as line:
        bus = {"name": "mbus1", "type": "mbus_serial", "port": line.path, "timeout": 1.0}
        bus["devices"] = [{"name": "m7", "address": 7, "poll_interval": 0.1}]
        raw = parse_config(config_with(bus)).raw["buses"][0]
        assert (raw["baudrate"], raw["parity"]) == (2400, "E")
        rec = await poll_line(bus, 2)
    assert rec.polls["m7"][:2] == [True, True]
    assert rec.readings["m7"][0] == pytest.approx({**EXPECTED, "supply_temperature": 80.5})
    assert line.segment.frames[0] == snd_nke(7)
