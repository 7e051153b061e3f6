"""Modbus RTU over a serial line: real pymodbus RTU server and client on a pseudo-terminal pair.

Two ptys are joined by a small byte relay (what a null-modem cable does), so the RTU framing,
CRC and timing path of pymodbus runs exactly as on an RS-485 adapter. Needs pyserial (pymodbus'
serial extra); skipped with that reason when it is not installed.
"""

from __future__ import annotations

import asyncio
import os
import pty
import select
import threading
import tty

import pytest
from heatbalance_gateway.bus_worker import BusWorker, Command, Reading
from heatbalance_gateway.config import BUS_SCHEMA
from heatbalance_gateway.register_map import load_profile
from heatbalance_gateway.transport import PymodbusTransport

from .modbus_sim import Behaviour, sim_device

pytest.importorskip("serial", reason="pyserial (pymodbus[serial]) is not installed")

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer

VALVE = load_profile("electric_valve")


class NullModem:
    """Two pseudo-terminals whose masters are cross-connected by a relay thread."""

    def __init__(self) -> None:
        self.a_master, a_slave = pty.openpty()
        self.b_master, b_slave = pty.openpty()
        for fd in (a_slave, b_slave):
            tty.setraw(fd)
        self.a_path, self.b_path = os.ttyname(a_slave), os.ttyname(b_slave)
        self._slaves = (a_slave, b_slave)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._relay, name="null-modem", daemon=True)
        self.thread.start()

    def _relay(self) -> None:
        pairs = {self.a_master: self.b_master, self.b_master: self.a_master}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(pairs), [], [], 0.05)
            for fd in ready:
                try:
                    os.write(pairs[fd], os.read(fd, 1024))
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self.thread.join()
        for fd in (self.a_master, self.b_master, *self._slaves):
            os.close(fd)


async def test_rtu_line_polls_and_commands_through_serial_framing() -> None:
    modem = NullModem()
    behaviours = [Behaviour(), Behaviour(dead=True)]
    values = {
        "position_setpoint": 40.0,
        "position_feedback": 39.5,
        "supply_temperature": 70.25,
        "return_temperature": 45.5,
    }
    server = ModbusSerialServer(
        [sim_device(1, VALVE, values, behaviours[0]), sim_device(2, VALVE, values, behaviours[1])],
        framer=FramerType.RTU,
        port=modem.a_path,
        baudrate=19200,
        ignore_missing_devices=True,
    )
    await server.serve_forever(background=True)
    bus = BUS_SCHEMA(
        {
            "name": "rs485",
            "type": "rtu",
            "port": modem.b_path,
            "baudrate": 19200,
            "timeout": 0.3,
            "retries": 0,
            "devices": [
                {
                    "name": "valve-1",
                    "device_id": 1,
                    "profile": "electric_valve",
                    "poll_interval": 0.3,
                },
                {
                    "name": "valve-2",
                    "device_id": 2,
                    "profile": "electric_valve",
                    "poll_interval": 0.3,
                },
            ],
        }
    )
    readings: list[Reading] = []
    availability: list[tuple[str, bool]] = []
    worker = BusWorker(
        bus,
        {"electric_valve": VALVE},
        PymodbusTransport.from_bus(bus),
        readings.append,
        lambda d, a: availability.append((d, a)),
    )
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(600):
            if availability and len([r for r in readings if r.device == "valve-1"]) >= 3:
                break
            await asyncio.sleep(0.05)
        result = await asyncio.wait_for(
            worker.submit(Command("valve-1", "position_setpoint", 12.3, "rtu-1")), 30
        )
    finally:
        worker.stop()
        await task
        await server.shutdown()
        await asyncio.sleep(0.4)
        modem.close()
    sample = next(r for r in readings if r.device == "valve-1")
    assert sample.values["supply_temperature"] == pytest.approx(70.25)
    assert availability == [("valve-2", False)]  # the silent one, and only it
    assert result["status"] == "confirmed"
    assert behaviours[0].writes == [(0, [123])]
