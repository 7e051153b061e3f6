"""A virtual M-Bus heat meter line behind an M-Bus-over-TCP converter (EN 13757-2/-3).

A real asyncio TCP server on loopback, as a transparent TCP converter with meters on its
M-Bus segment would be: it answers SND_NKE (``10 40 A CS 16``) and a secondary-address
selection (SND_UD, CI 52h, to address FDh) with the single character E5h, and REQ_UD2
(``10 5B/7B A CS 16``) with an RSP_UD long frame of variable data records (CI 72h). The frames
are built here by the standard, byte by byte, because pyMeterBus 0.8.5 decodes records but has
no record encoder; the tests check that the library decodes what this meter sends.

Records of a heat meter (the usual set, with the usual encodings): energy 8-digit BCD in kWh
(VIF 06h), volume 32-bit integer in litres (VIF 13h), power 32-bit integer in W (VIF 2Bh),
volume flow 32-bit integer in l/h (VIF 3Bh), supply and return temperature 16-bit integer in
0.01 °C (VIF 59h, 5Dh), plus two records a profile must not pick by mistake: the maximum power
(function field "maximum") and last month's energy (storage number 1).

Faults per meter (line supervision tests): ``late`` answers after ``late_s``, ``short`` sends
the frame without its last 3 bytes, ``garbage`` sends it with a wrong checksum, ``silent``
never answers, ``wrong_address`` answers with another primary address.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import struct
import threading
import tty
from dataclasses import dataclass, field

ACK = b"\xe5"
FAULTS = ("late", "short", "garbage", "silent", "wrong_address")


def _checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def _bcd(value: int, digits: int) -> bytes:
    """Packed BCD, least significant byte first (type A)."""
    text = f"{value:0{digits}d}"[-digits:]
    pairs = [int(text[i : i + 2]) for i in range(0, digits, 2)]
    return bytes((p // 10) << 4 | p % 10 for p in reversed(pairs))


def long_frame(control: int, address: int, ci: int, payload: bytes) -> bytes:
    """``68 L L 68 C A CI payload CS 16``."""
    body = bytes((control, address, ci)) + payload
    return bytes((0x68, len(body), len(body), 0x68)) + body + bytes((_checksum(body), 0x16))


def short_frame(control: int, address: int) -> bytes:
    """``10 C A CS 16``."""
    return bytes((0x10, control, address, (control + address) & 0xFF, 0x16))


@dataclass
class VirtualMeter:
    """One heat meter: identity, present values and an optional fault."""

    address: int  # primary address 0…250
    ident: int  # 8-digit identification number (secondary address)
    manufacturer: bytes = b"\x2d\x2c"  # "KAM" in the 2-byte manufacturer code, LSB first
    version: int = 0x01
    medium: int = 0x04  # heat (outlet)
    energy_kwh: int = 123_456
    volume_l: int = 7_890_000
    power_w: int = 45_600
    flow_lh: int = 1_250
    supply_c: float = 75.32
    return_c: float = 48.17
    fault: str | None = None
    late_s: float = 0.5
    requests: int = 0
    access: int = 0
    selected: bool = False

    @property
    def secondary(self) -> bytes:
        """ID (BCD, LSB first), manufacturer, version, medium: what a selection matches."""
        return _bcd(self.ident, 8) + self.manufacturer + bytes((self.version, self.medium))

    def records(self) -> bytes:
        """The variable data records (EN 13757-3 §6)."""
        return b"".join(
            (
                b"\x0c\x06" + _bcd(self.energy_kwh, 8),  # energy, 8-digit BCD, kWh
                b"\x4c\x06" + _bcd(self.energy_kwh // 2, 8),  # storage 1: last month's energy
                b"\x04\x13" + struct.pack("<i", self.volume_l),  # volume, litres
                b"\x04\x2b" + struct.pack("<i", self.power_w),  # power, W
                b"\x14\x2b" + struct.pack("<i", self.power_w * 3),  # maximum power, W
                b"\x04\x3b" + struct.pack("<i", self.flow_lh),  # volume flow, l/h
                b"\x02\x59" + struct.pack("<h", round(self.supply_c * 100)),  # 0.01 °C
                b"\x02\x5d" + struct.pack("<h", round(self.return_c * 100)),
            )
        )

    def rsp_ud(self) -> bytes:
        """The RSP_UD long frame (C 08h, CI 72h, fixed header, records)."""
        self.access = (self.access + 1) & 0xFF
        header = self.secondary + bytes((self.access, 0x00, 0x00, 0x00))
        address = self.address ^ 0x01 if self.fault == "wrong_address" else self.address
        frame = long_frame(0x08, address, 0x72, header + self.records())
        if self.fault == "short":
            return frame[:-3]
        if self.fault == "garbage":
            return frame[:-2] + bytes(((frame[-2] + 1) & 0xFF, 0x16))
        return frame


@dataclass
class MBusLine:
    """A TCP converter with meters on its segment; ``async with`` serves on a free port."""

    meters: list[VirtualMeter]
    host: str = "127.0.0.1"
    port: int = 0
    frames: list[bytes] = field(default_factory=list)  # every request frame received
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> MBusLine:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def meter(self, address: int) -> VirtualMeter | None:
        """The meter at a primary address, or the selected one at FDh."""
        for meter in self.meters:
            if (address == 0xFD and meter.selected) or meter.address == address:
                return meter
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while frame := await read_frame(reader):
                self.frames.append(frame)
                answer, meter = self.answer(frame)
                if answer is None or meter is None or meter.fault == "silent":
                    continue
                if meter.fault == "late" and answer != ACK:
                    await asyncio.sleep(meter.late_s)
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def answer(self, frame: bytes) -> tuple[bytes | None, VirtualMeter | None]:
        """What the segment answers to one master frame (None: nobody answers)."""
        if frame[0] == 0x10:
            control, address = frame[1], frame[2]
            meter = self.meter(address)
            if meter is None:
                return None, None
            meter.requests += 1
            if control == 0x40:  # SND_NKE: reset; at FDh it also ends the selection
                if address == 0xFD:
                    meter.selected = False
                return ACK, meter
            if control in (0x5B, 0x7B):  # REQ_UD2
                return meter.rsp_ud(), meter
            return None, None
        if frame[0] != 0x68 or len(frame) < 17:
            return None, None
        control, address, ci = frame[4], frame[5], frame[6]
        if control in (0x53, 0x73) and address == 0xFD and ci == 0x52:  # select
            wanted = frame[7:15]
            chosen = None
            for meter in self.meters:
                meter.selected = meter.secondary == wanted
                chosen = meter if meter.selected else chosen
            if chosen is not None:
                chosen.requests += 1
            return (ACK, chosen) if chosen else (None, None)
        return None, None


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """One M-Bus frame from a stream by its start character (None at end of stream)."""
    try:
        start = await reader.readexactly(1)
    except asyncio.IncompleteReadError:
        return None
    if start == ACK:
        return start
    if start == b"\x10":
        return start + await reader.readexactly(4)
    if start == b"\x68":
        head = await reader.readexactly(3)
        return start + head + await reader.readexactly(head[0] + 2)
    return start  # a stray byte: the caller ignores what it cannot parse


class SerialMBusLine:
    """The same meters behind a level converter on a serial port: a pseudo-terminal whose
    slave path the gateway opens (``mbus_serial``); a thread answers on the master side."""

    def __init__(self, meters: list[VirtualMeter]) -> None:
        self.segment = MBusLine(meters)
        self.master, slave = pty.openpty()
        tty.setraw(self.master)
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SerialMBusLine:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self._slave)

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count and not self._stop.is_set():
            if select.select([self.master], [], [], 0.05)[0]:
                data += os.read(self.master, count - len(data))
        return data

    def _serve(self) -> None:
        while not self._stop.is_set():
            start = self._read(1)
            if start == b"\x10":
                frame = start + self._read(4)
            elif start == b"\x68":
                head = self._read(3)
                frame = start + head + self._read(head[0] + 2) if len(head) == 3 else b""
            else:
                continue
            if len(frame) < 5:
                continue
            self.segment.frames.append(frame)
            answer, meter = self.segment.answer(frame)
            if answer is not None and meter is not None and meter.fault != "silent":
                os.write(self.master, answer)
