"""Wired M-Bus heat meters (EN 13757-2/-3; the standard's wired meter buses, §6.0.4).

A line is an M-Bus level converter (master) on a serial port, or an M-Bus-over-TCP converter;
pyserial's ``serial_for_url`` opens both (``/dev/ttyUSB0`` or ``socket://host:port``), 2400 baud
8E1 by default. Each poll of a meter is one exchange of the standard:

* primary address: SND_NKE → E5h, then REQ_UD2 → RSP_UD;
* secondary address (8 bytes: ID, manufacturer, version, medium): SND_UD select at FDh → E5h,
  then REQ_UD2 at FDh → RSP_UD (the meter answers under FDh while selected).

pyMeterBus (0.8.5, pure Python, BSD) builds the request frames, checks the checksum and
decodes the variable data records — each record's VIF gives its quantity, unit and decimal
scaling (e.g. VIF 13h: litres, 59h: 0.01 °C), so a profile only says which quantity becomes which
point and in which unit. Frames are read here by their start character and length field
under one deadline, not by the library's byte-wise reader (which waits a full timeout on every
garbage byte).

Line supervision as on the Modbus lines (issue 11): a late, short, garbled (checksum) or
foreign frame (wrong address, another meter's secondary address) is that meter's fault — a
``BadResponseError`` and the line is resynchronised by closing and reopening the port or
connection, so a late frame can never answer the next request; silence is ``NoResponseError``.
Values that are not finite or outside the profile's physical range are published as ``null``
and counted, a record the meter does not send is ``null`` too. The worker is the Modbus
``BusWorker`` (schedule, circuit breaker, §6.0.6 statistics, restart when it dies); only a poll
differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import termios
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import serial
import voluptuous as vol
import yaml

from .bus_worker import BusWorker, DeviceState
from .register_map import PROFILE_FIELDS, Point, Profile, ProfileError, in_kwh
from .transport import BadResponseError, NoResponseError


def _import_meterbus() -> Any:
    """pyMeterBus calls ``logging.basicConfig(level=INFO)`` on import; undo that on the root
    logger so the gateway's own logging set-up (format, level) stays in force."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import meterbus

    root.handlers[:] = handlers
    root.setLevel(level)
    return meterbus


meterbus = _import_meterbus()

MBUS_DIR = Path(__file__).with_name("profiles") / "mbus"
ACK = 0xE5
SELECTED = 0xFD  # the address a selected meter answers under
BUS_TYPES = ("mbus_serial", "mbus_tcp")

# pyMeterBus unit (after the VIF's decimal scaling) → profile unit → factor
CONVERT: dict[tuple[str, str], float] = {
    ("Wh", "kWh"): 1e-3,
    ("Wh", "MWh"): 1e-6,
    ("Wh", "GJ"): 3.6e-6,
    ("J", "kWh"): 1 / 3.6e6,
    ("J", "MWh"): 1 / 3.6e9,
    ("J", "GJ"): 1e-9,
    ("W", "W"): 1.0,
    ("W", "kW"): 1e-3,
    ("J/h", "kW"): 1 / 3.6e6,
    ("J/h", "W"): 1 / 3.6e3,
    ("m^3", "m³"): 1.0,
    ("m^3/h", "m³/h"): 1.0,
    ("m^3/min", "m³/h"): 60.0,
    ("m^3/s", "m³/h"): 3600.0,
    ("C", "°C"): 1.0,
    ("K", "K"): 1.0,
    ("bar", "bar"): 1.0,
}
FUNCTIONS = {
    "instantaneous": "FunctionType.INSTANTANEOUS_VALUE",
    "maximum": "FunctionType.MAXIMUM_VALUE",
    "minimum": "FunctionType.MINIMUM_VALUE",
}


@dataclass(frozen=True, slots=True)
class Selector:
    """Which record of an RSP_UD becomes a point: VIF quantity, storage number, function."""

    key: str
    vif: tuple[str, ...]  # pyMeterBus ``VIFUnit`` names, e.g. ("ENERGY_WH", "ENERGY_J")
    unit: str
    storage: int
    function: str
    valid_min: float | None
    valid_max: float | None

    def value(self, records: list[dict[str, Any]]) -> tuple[float | None, str | None]:
        """(value in the profile's unit, None), or (None, why) — never raises."""
        for record in records:
            if (
                str(record.get("type", "")).removeprefix("VIFUnit.") in self.vif
                and record.get("storage_number") == self.storage
                and record.get("function") == FUNCTIONS[self.function]
                and not record.get("tariff")
            ):
                return self._checked(record)
        return None, "no such record in the meter's answer"

    def _checked(self, record: dict[str, Any]) -> tuple[float | None, str | None]:
        unit = str(record.get("unit", "")).removeprefix("MeasureUnit.")
        factor = CONVERT.get((_LIB_UNITS.get(unit, unit), self.unit))
        if factor is None:
            return None, f"unit {unit} does not convert to {self.unit}"
        raw = record.get("value")
        if not isinstance(raw, int | float | Decimal):
            return None, f"undecodable: {raw!r}"
        value = float(raw) * factor
        if not math.isfinite(value):
            return None, f"not finite ({value})"
        value = round(value, 9)
        if self.valid_min is not None and value < self.valid_min:
            return None, f"{value} below {self.valid_min}"
        if self.valid_max is not None and value > self.valid_max:
            return None, f"{value} above {self.valid_max}"
        return value, None


# ``interpreted`` gives enum names (MeasureUnit.WH); the conversion table uses their values.
_LIB_UNITS = {unit.name: unit.value for unit in meterbus.MeasureUnit}


@dataclass(frozen=True, slots=True)
class MBusProfile:
    """An M-Bus device model: a register-map ``Profile`` (names, units, Home Assistant
    discovery) plus the record selectors that fill its points."""

    profile: Profile
    selectors: tuple[Selector, ...]


POINT_SCHEMA = vol.Schema(
    {
        vol.Required("key"): vol.Match(r"^[a-z][a-z0-9_]{0,47}$"),
        vol.Required("name"): vol.All(str, vol.Length(min=1, max=80)),
        vol.Required("vif"): vol.All(
            [vol.In([u.name for u in meterbus.VIFUnit])], vol.Length(min=1)
        ),
        vol.Required("unit"): vol.In(sorted({target for _lib, target in CONVERT})),
        vol.Optional("storage", default=0): vol.All(int, vol.Range(min=0, max=2**32)),
        vol.Optional("function", default="instantaneous"): vol.In(tuple(FUNCTIONS)),
        vol.Optional("device_class"): str,
        vol.Optional("state_class"): vol.In(("measurement", "total", "total_increasing")),
        vol.Optional("valid_min"): vol.Coerce(float),
        vol.Optional("valid_max"): vol.Coerce(float),
    },
    extra=vol.PREVENT_EXTRA,
)
PROFILE_SCHEMA = vol.Schema(
    {**PROFILE_FIELDS, vol.Required("points"): vol.All([POINT_SCHEMA], vol.Length(min=1, max=100))},
    extra=vol.PREVENT_EXTRA,
)


def parse_mbus_profile(data: Any, source: str = "<profile>") -> MBusProfile:
    """Validate an M-Bus profile; ProfileError names the source and the field."""
    try:
        top = PROFILE_SCHEMA(data)
    except vol.Invalid as err:
        where = ".".join(str(p) for p in err.path) or "(top)"
        raise ProfileError(f"{source}: {where}: {err.msg}") from err
    keys = [p["key"] for p in top["points"]]
    if len(set(keys)) != len(keys):
        raise ProfileError(f"{source}: duplicate point keys")
    points, selectors = [], []
    for index, point in enumerate(top["points"]):
        try:  # an energy counter is published in kWh (the record's Wh or J converted)
            raw = in_kwh(point | {"scale": 1.0})
        except vol.Invalid as err:
            raise ProfileError(f"{source}: points[{point['key']}].unit: {err.msg}") from err
        # Read-only sensors; the register fields are unused on M-Bus (distinct addresses only
        # keep the register-map invariants true for code that inspects any profile).
        points.append(
            Point(
                key=raw["key"],
                name=raw["name"],
                address=index * 2,
                function="input",
                type="float32",
                word_order="big",
                scale=1.0,
                offset=0.0,
                unit=raw["unit"],
                device_class=raw.get("device_class"),
                state_class=raw.get("state_class"),
                writable=False,
                min=None,
                max=None,
                step=None,
                tolerance=0.0,
                ha="sensor",
                feedback=None,
                valid_min=raw.get("valid_min"),
                valid_max=raw.get("valid_max"),
            )
        )
        selectors.append(
            Selector(
                key=raw["key"],
                vif=tuple(raw["vif"]),
                unit=raw["unit"],
                storage=raw["storage"],
                function=raw["function"],
                valid_min=raw.get("valid_min"),
                valid_max=raw.get("valid_max"),
            )
        )
    profile = Profile(
        top["name"], top["manufacturer"], top["model"], top["description"], tuple(points)
    )
    return MBusProfile(profile, tuple(selectors))


def load_mbus_profile(name_or_path: str, extra_dirs: tuple[Path, ...] = ()) -> MBusProfile:
    """A built-in M-Bus profile by name (``profiles/mbus/<name>.yaml``) or a YAML path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        for directory in (*extra_dirs, MBUS_DIR):
            if (candidate := directory / f"{name_or_path}.yaml").is_file():
                path = candidate
                break
        else:
            known = sorted(p.stem for p in MBUS_DIR.glob("*.yaml"))
            raise ProfileError(f"unknown M-Bus profile {name_or_path!r} (built-in: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(f"{path}: cannot read: {err}") from err
    return parse_mbus_profile(data, path.name)


# ---- frames ---------------------------------------------------------------------------------
class _Capture:
    """A write-only 'port' that keeps what pyMeterBus's frame builders send."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes | bytearray) -> None:
        self.data += bytes(data)


def snd_nke(address: int) -> bytes:
    """SND_NKE (link reset) to a primary address."""
    capture = _Capture()
    meterbus.send_ping_frame(capture, address)
    return capture.data


def req_ud2(address: int) -> bytes:
    """REQ_UD2 (request user data class 2) to a primary address."""
    capture = _Capture()
    meterbus.send_request_frame(capture, address)
    return capture.data


def select(secondary: str) -> bytes:
    """SND_UD selection of a secondary address (16 hex digits, as pyMeterBus prints it)."""
    capture = _Capture()
    meterbus.send_select_frame(capture, secondary.upper())
    return capture.data


def frame_size(head: bytes) -> int | None:
    """Total length of a frame from its first 4 bytes (None: not a frame start)."""
    if head[:1] == b"\xe5":
        return 1
    if head[:1] == b"\x10":
        return 5
    if len(head) >= 4 and head[0] == 0x68 and head[3] == 0x68 and head[1] == head[2]:
        return head[1] + 6
    return None


def decode_rsp_ud(frame: bytes, address: int | None, secondary: str | None) -> list[dict[str, Any]]:
    """The records of an RSP_UD from the meter asked; BadResponseError names what is wrong.

    A meter read by primary address must answer under it; a selected meter answers with its
    own primary address (whatever it is), so there its secondary address is checked instead."""
    try:
        telegram = meterbus.load(frame)
    except Exception as err:  # the library raises its own and plain errors on bad frames
        raise BadResponseError(f"undecodable frame: {err!r}") from err
    if not isinstance(telegram, meterbus.TelegramLong):
        raise BadResponseError(f"not an RSP_UD long frame: {frame[:8].hex()}")
    control = telegram.header.cField.parts[0]
    answered = telegram.header.aField.parts[0]
    if control & 0xCF != 0x08:
        raise BadResponseError(f"C field {control:#04x} is not RSP_UD")
    if address is not None and answered != address:
        raise BadResponseError(f"answer from address {answered}, asked {address}")
    if secondary is not None and telegram.secondary_address != secondary.upper():
        raise BadResponseError(
            f"answer from secondary {telegram.secondary_address}, asked {secondary.upper()}"
        )
    try:
        return [record.interpreted for record in telegram.records]
    except Exception as err:
        raise BadResponseError(f"undecodable records: {err!r}") from err


# ---- line -----------------------------------------------------------------------------------
class MBusLine:
    """One M-Bus line (serial master or TCP converter); blocking pyserial in a thread."""

    def __init__(self, url: str, baudrate: int, parity: str, timeout: float) -> None:
        self.url, self.baudrate, self.parity, self.timeout = url, baudrate, parity, timeout
        self._port: Any = None

    @classmethod
    def from_bus(cls, bus: dict[str, Any]) -> MBusLine:
        """``mbus_tcp``: ``socket://host:port``; ``mbus_serial``: the device path."""
        url = f"socket://{bus['host']}:{bus['port']}" if bus["type"] == "mbus_tcp" else bus["port"]
        return cls(url, bus["baudrate"], bus["parity"], bus["timeout"])

    def _open(self) -> Any:
        if self._port is None:
            try:
                self._port = serial.serial_for_url(
                    self.url,
                    baudrate=self.baudrate,
                    parity=self.parity,
                    bytesize=8,
                    stopbits=1,
                    # short read slices under the exchange's own deadline: changing a serial
                    # port's timeout reconfigures termios on every read (a pty refuses that)
                    timeout=min(self.timeout, 0.05),
                )
            except (OSError, serial.SerialException) as err:
                raise NoResponseError(f"cannot open {self.url}: {err}") from err
        return self._port

    def resync(self) -> None:
        """Close the port/connection: a frame still in flight dies with it."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()

    def _exchange(self, request: bytes) -> bytes:
        port = self._open()
        try:
            port.reset_input_buffer()
            port.write(request)
            deadline = time.monotonic() + self.timeout
            data = self._read(port, 1, deadline)
            if data == b"\xe5":
                return data
            data += self._read(port, 3, deadline, partial=data)
            size = frame_size(data)
            if size is None:
                raise BadResponseError(f"not an M-Bus frame start: {data.hex()}")
            # the rest may take its time on the wire: 11 bits a byte (8E1) at the line's rate
            deadline = (
                max(deadline, time.monotonic() + self.timeout / 2) + size * 11 / self.baudrate
            )
            return data + self._read(port, size - len(data), deadline, partial=data)
        except (OSError, serial.SerialException, termios.error) as err:
            self.resync()
            raise NoResponseError(str(err)) from err
        except (NoResponseError, BadResponseError):
            self.resync()
            raise

    def _read(self, port: Any, count: int, deadline: float, partial: bytes = b"") -> bytes:
        data = b""
        while len(data) < count and time.monotonic() < deadline:
            data += port.read(count - len(data))
        if len(data) < count:
            if partial or data:
                raise BadResponseError(f"short frame: {len(partial + data)} bytes, then silence")
            raise NoResponseError("no answer")
        return data

    async def exchange(self, request: bytes) -> bytes:
        """Send one frame, return the answer frame (one attempt)."""
        return await asyncio.to_thread(self._exchange, request)

    async def read_meter(self, address: int, secondary: str | None) -> list[dict[str, Any]]:
        """One reading of a meter's records (reset or selection, then REQ_UD2)."""
        first = snd_nke(address) if secondary is None else select(secondary)
        if await self.exchange(first) != b"\xe5":
            self.resync()
            raise BadResponseError("no E5h acknowledgement")
        if secondary is None:
            return decode_rsp_ud(await self.exchange(req_ud2(address)), address, None)
        return decode_rsp_ud(await self.exchange(req_ud2(SELECTED)), None, secondary)

    async def read(self, function: str, address: int, count: int, device_id: int) -> list[int]:
        """Not a register bus (the ``Transport`` protocol's read is unused here)."""
        raise BadResponseError("M-Bus meters have no registers")

    async def write(self, function: str, address: int, values: list[int], device_id: int) -> None:
        """M-Bus heat meters take no commands here."""
        raise BadResponseError("M-Bus meters take no commands")

    async def close(self) -> None:
        """Release the port."""
        await asyncio.to_thread(self.resync)


class MBusWorker(BusWorker):
    """The line's worker: Modbus ``BusWorker`` scheduling, breaker and statistics; a poll is
    one M-Bus reading of the meter's records."""

    def __init__(
        self, bus: dict[str, Any], profiles: dict[str, MBusProfile], line: MBusLine, **kw: Any
    ) -> None:
        super().__init__(bus, {k: p.profile for k, p in profiles.items()}, line, **kw)
        self.line = line
        self.selectors = {dev["name"]: profiles[dev["profile"]].selectors for dev in bus["devices"]}
        self.secondary: dict[str, str | None] = {
            dev["name"]: dev.get("secondary_address") for dev in bus["devices"]
        }

    async def _poll(self, device: DeviceState) -> None:
        plan = self._begin_poll(device)
        if plan is None:
            return
        secondary = self.secondary[device.name]
        records = await self._attempt(
            device,
            1 if plan == "probe" else 1 + self.retries,
            lambda: self.line.read_meter(device.device_id, secondary),
        )
        values: dict[str, float | None] = {}
        if records is not None:
            for selector in self.selectors[device.name]:
                value, why = selector.value(records)
                values[selector.key] = value
                self._note_validity(device, selector.key, why)
        healthy = records is not None and any(v is not None for v in values.values())
        self._after_poll(device, healthy, values, plan)
