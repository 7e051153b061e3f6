"""Modbus transports: pymodbus 3.16 TCP/RTU clients and a simulated line.

The transports make exactly one attempt per call (pymodbus ``retries=0``): retries are done by
the bus worker so every attempt is counted for §6.0.6 statistics. Device addresses use the
``device_id=`` keyword (pymodbus 3.16; ``slave=`` is gone), and ``reconnect_delay`` is never 0
(that busy-loops).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException


class NoResponseError(Exception):
    """The device did not answer (timeout, connection lost)."""


class DeviceError(Exception):
    """The device answered with a Modbus exception response (it is alive)."""


class Transport(Protocol):
    """One physical line (RS-485 port or Modbus TCP endpoint)."""

    async def read(self, function: str, address: int, count: int, device_id: int) -> list[int]:
        """Read registers (or bits as 0/1); one attempt."""

    async def write(self, function: str, address: int, values: list[int], device_id: int) -> None:
        """Write registers (or one coil); one attempt."""

    async def close(self) -> None:
        """Release the line."""


class PymodbusTransport:
    """pymodbus async client with one attempt per request."""

    def __init__(self, client: AsyncModbusTcpClient | AsyncModbusSerialClient) -> None:
        self.client = client

    @classmethod
    def from_bus(cls, bus: dict[str, Any]) -> PymodbusTransport:
        """Build the client for a ``tcp`` or ``rtu`` bus entry of the configuration."""
        common: dict[str, Any] = {
            "timeout": bus["timeout"],
            "retries": 0,
            "reconnect_delay": 0.5,
            "reconnect_delay_max": 30.0,
        }
        if bus["type"] == "tcp":
            return cls(AsyncModbusTcpClient(bus["host"], port=bus["port"], **common))
        return cls(
            AsyncModbusSerialClient(
                bus["port"],
                baudrate=bus["baudrate"],
                parity=bus["parity"],
                stopbits=bus["stopbits"],
                bytesize=bus["bytesize"],
                **common,
            )
        )

    async def _call(self, coro: Any) -> Any:
        try:
            response = await coro
        except (ModbusIOException, ConnectionException, TimeoutError) as err:
            raise NoResponseError(str(err)) from err
        if response.isError():
            raise DeviceError(str(response))
        return response

    async def _connected(self) -> None:
        if not self.client.connected and not await self.client.connect():
            raise NoResponseError("cannot connect")

    async def read(self, function: str, address: int, count: int, device_id: int) -> list[int]:
        """One read attempt."""
        await self._connected()
        c = self.client
        if function == "holding":
            r = await self._call(
                c.read_holding_registers(address, count=count, device_id=device_id)
            )
            return list(r.registers)
        if function == "input":
            r = await self._call(c.read_input_registers(address, count=count, device_id=device_id))
            return list(r.registers)
        if function == "coil":
            r = await self._call(c.read_coils(address, count=count, device_id=device_id))
        else:
            r = await self._call(c.read_discrete_inputs(address, count=count, device_id=device_id))
        return [int(bit) for bit in r.bits[:count]]

    async def write(self, function: str, address: int, values: list[int], device_id: int) -> None:
        """One write attempt (FC5 for a coil, FC6 for one register, FC16 for several)."""
        await self._connected()
        c = self.client
        if function == "coil":
            await self._call(c.write_coil(address, bool(values[0]), device_id=device_id))
        elif len(values) == 1:
            await self._call(c.write_register(address, values[0], device_id=device_id))
        else:
            await self._call(c.write_registers(address, values, device_id=device_id))

    async def close(self) -> None:
        """Close the client (stops its reconnect loop)."""
        self.client.close()


class SimulatedTransport:
    """A line of always-answering simulated devices for demos and load tests.

    Registers hold a deterministic slow wave per device and address so readings differ and
    can be checked; writes are kept. It never answers for device_id 0.
    """

    def __init__(self) -> None:
        self.written: dict[tuple[int, str, int], int] = {}
        self.tick = 0

    async def read(self, function: str, address: int, count: int, device_id: int) -> list[int]:
        """Return stored or generated registers."""
        if device_id == 0:
            raise NoResponseError("simulated device 0 never answers")
        self.tick += 1
        out = []
        for offset in range(count):
            key = (device_id, function, address + offset)
            if key in self.written:
                out.append(self.written[key])
            elif function in ("coil", "discrete"):
                out.append(0)
            else:
                phase = (device_id * 7 + address + offset + self.tick / 50) / 10
                out.append(int(1000 + 500 * math.sin(phase)) & 0xFFFF)
        return out

    async def write(self, function: str, address: int, values: list[int], device_id: int) -> None:
        """Store written registers."""
        for offset, value in enumerate(values):
            self.written[(device_id, function, address + offset)] = value

    async def close(self) -> None:
        """Nothing to release."""
