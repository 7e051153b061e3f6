"""Modbus transports: pymodbus 3.16 TCP/RTU clients and a simulated line.

The transports make exactly one attempt per call (pymodbus ``retries=0``): retries are done by
the bus worker so every attempt is counted for §6.0.6 statistics. Device addresses use the
``device_id=`` keyword (pymodbus 3.16; ``slave=`` is gone), and ``reconnect_delay`` is never 0
(that busy-loops).

Every response is validated (issue 11): the function code, the device id and the transaction
must be those of the request and a read must carry exactly the registers asked for. After a
timeout or a response that does not fit, the line is in an unknown state — a late reply could
be taken for the answer to the next request, blaming an innocent device — so the transport
resynchronises: it closes the connection (TCP) or port (RTU), which discards anything still in
flight, and reconnects for the next request.
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


class BadResponseError(Exception):
    """The device answered, but not what was asked (short frame, wrong function code)."""


FUNCTION_CODES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}


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

    async def _call(self, coro: Any, function_code: int) -> Any:
        try:
            response = await coro
        except (ModbusIOException, ConnectionException, TimeoutError) as err:
            self.resync()
            raise NoResponseError(str(err)) from err
        except Exception as err:  # a garbled frame pymodbus could not decode
            self.resync()
            raise BadResponseError(f"undecodable response: {err!r}") from err
        if response.isError():
            raise DeviceError(str(response))
        if response.function_code != function_code:
            self.resync()
            raise BadResponseError(
                f"function code {response.function_code} answers a request with {function_code}"
            )
        return response

    def resync(self) -> None:
        """Drop the connection so no late frame can answer the next request."""
        self.client.close()

    async def _connected(self) -> None:
        if not self.client.connected and not await self.client.connect():
            raise NoResponseError("cannot connect")

    async def read(self, function: str, address: int, count: int, device_id: int) -> list[int]:
        """One read attempt."""
        await self._connected()
        c = self.client
        code = FUNCTION_CODES[function]
        if function in ("holding", "input"):
            read = c.read_holding_registers if function == "holding" else c.read_input_registers
            r = await self._call(read(address, count=count, device_id=device_id), code)
            registers = list(r.registers)
            if len(registers) != count:
                self.resync()
                raise BadResponseError(f"{len(registers)} registers for a read of {count}")
            return registers
        read = c.read_coils if function == "coil" else c.read_discrete_inputs
        r = await self._call(read(address, count=count, device_id=device_id), code)
        if len(r.bits) < count:
            self.resync()
            raise BadResponseError(f"{len(r.bits)} bits for a read of {count}")
        return [int(bit) for bit in r.bits[:count]]

    async def write(self, function: str, address: int, values: list[int], device_id: int) -> None:
        """One write attempt (FC5 for a coil, FC6 for one register, FC16 for several)."""
        await self._connected()
        c = self.client
        if function == "coil":
            await self._call(c.write_coil(address, bool(values[0]), device_id=device_id), 5)
        elif len(values) == 1:
            await self._call(c.write_register(address, values[0], device_id=device_id), 6)
        else:
            await self._call(c.write_registers(address, values, device_id=device_id), 16)

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
