"""A real pymodbus 3.16 server simulating field devices for the gateway tests.

Uses ``SimDevice``/``SimData`` (the deprecated datastore contexts are not used). A device that
must not answer gets an ``action`` that sleeps past the client timeout and then stays silent
(``NoSuchIdException`` + ``ignore_missing_devices``: no response frame is ever sent, so no late
frame can be mistaken for another device's answer).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heatbalance_gateway import codec
from heatbalance_gateway.register_map import Profile, load_profile
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

FAULTS = ("late", "short", "exception", "garbage")
"""How a misbehaving device can answer (issue 11): ``late`` answers every read after the
client's timeout, ``short`` sends one register fewer than asked (``SimServer`` truncates the
response on the wire), ``exception`` answers exception 04 (device failure), ``garbage`` holds
NaN and sentinel values in every register."""


@dataclass
class Behaviour:
    """How one simulated device answers; counters are the ground truth for statistics."""

    dead: bool = False
    drop_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    hold_s: float = 0.3
    requests: int = 0
    dropped: int = 0
    writes: list[tuple[int, list[int]]] = field(default_factory=list)
    outcomes: list[bool] = field(default_factory=list)  # per request seen: answered?
    fault: str | None = None  # one of FAULTS, or None for a well-behaved device
    late_s: float = 0.35
    holding: int = 0  # silent requests still held (their handler not yet ended)
    _plan: list[bool] = field(default_factory=list)

    def _drop_next(self) -> bool:
        """Stratified seeded injection: each block of 100 requests drops exactly rate×100."""
        if not self.drop_rate:
            return False
        if not self._plan:
            block = [True] * round(self.drop_rate * 100) + [False] * (
                100 - round(self.drop_rate * 100)
            )
            self.rng.shuffle(block)
            self._plan = block
        return self._plan.pop()

    async def action(self, fc, _start, address, _count, regs, set_values):
        """pymodbus SimDevice action: count, maybe stay silent, record writes."""
        self.requests += 1
        drop = self.dead or self._drop_next()
        self.outcomes.append(not drop)
        if drop:
            self.dropped += 1
            self.holding += 1
            try:
                await asyncio.sleep(self.hold_s)
            finally:
                self.holding -= 1
            raise NoSuchIdException("simulated silence")
        if set_values is not None and fc in (5, 6, 15, 16):
            self.writes.append((address, list(set_values)))
        if self.fault == "late":
            await asyncio.sleep(self.late_s)
        elif self.fault == "exception":
            return ExcCodes.DEVICE_FAILURE
        elif self.fault == "garbage" and set_values is None:
            regs[:] = [0xFFFF] * len(regs)  # the uint16 sentinel; two of them: a float32 NaN
        return None


def _register_list(profile: Profile, function: str, values: dict[str, float]) -> list[SimData]:
    points = [p for p in profile.points if p.function == function]
    if not points:
        return [SimData(900, values=0, datatype=DataType.REGISTERS)]
    end = max(p.address + p.count for p in points)
    regs = [0] * end
    for point in points:
        raw = codec.to_raw(values.get(point.key, 0.0), point.scale, point.offset)
        regs[point.address : point.address + point.count] = codec.encode(
            raw, point.type, point.word_order
        )
    return [SimData(0, values=regs, datatype=DataType.REGISTERS)]


def _bit_list(profile: Profile, function: str, values: dict[str, float]) -> list[SimData]:
    bits = [False] * 16
    for point in (p for p in profile.points if p.function == function):
        bits[point.address] = bool(values.get(point.key, 0))
    return [SimData(0, values=bits, datatype=DataType.BITS)]


def sim_device(
    device_id: int, profile: Profile, values: dict[str, float], behaviour: Behaviour
) -> SimDevice:
    """A SimDevice with the profile's four tables filled from engineering values."""
    return SimDevice(
        device_id,
        simdata=(
            _bit_list(profile, "coil", values),
            _bit_list(profile, "discrete", values),
            _register_list(profile, "holding", values),
            _register_list(profile, "input", values),
        ),
        action=behaviour.action,
    )


class SimServer:
    """Async context manager running a ModbusTcpServer on a free loopback port: the one the
    system gives when it binds (:attr:`port` once entered). A port picked free first and
    bound later could be taken in between by a suite running beside (``Errno 98``)."""

    def __init__(
        self, devices: list[SimDevice], behaviours: dict[int, Behaviour] | None = None
    ) -> None:
        self.port = 0
        self.behaviours = behaviours or {}
        self.server = ModbusTcpServer(
            devices,
            address=("127.0.0.1", 0),
            ignore_missing_devices=True,
            trace_pdu=self._trace_pdu,
        )

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """Truncate the register list of a ``short`` device's responses on the wire."""
        behaviour = self.behaviours.get(pdu.dev_id)
        if sending and behaviour is not None and behaviour.fault == "short":
            registers = getattr(pdu, "registers", None)
            if registers and len(registers) > 1:
                pdu.registers = registers[:-1]
        return pdu

    async def __aenter__(self) -> SimServer:
        await self.server.serve_forever(background=True)
        self.port = int(self.server.transport.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        # let late answers still being delayed finish, so no server task outlives the test
        late = [b.late_s for b in self.behaviours.values() if b.fault == "late"]
        await asyncio.sleep(max(late, default=0.0) + (0.05 if late else 0.0))
        await self.server.shutdown()


ROOT = Path(__file__).resolve().parents[2]
START_GUARD_S = 60.0  # turns a server that never starts into an error, not a timing figure


class SimServerProcess:
    """:class:`SimServer` in a child process with its own event loop (``python -m
    tests.addon.modbus_sim SPEC``), for tests that judge a client's timing: in the test's own
    event loop the server answers only when the client's side lets it, so a loaded machine
    delays both together. Devices are given as a profile name, engineering values and each
    device's fault and delays (no counters come back: judge the client's side)."""

    def __init__(
        self, profile: str, values: dict[str, float], behaviours: dict[int, Behaviour]
    ) -> None:
        self.spec = {
            "profile": profile,
            "values": values,
            "devices": {
                str(i): {"fault": b.fault, "late_s": b.late_s, "dead": b.dead, "hold_s": b.hold_s}
                for i, b in behaviours.items()
            },
        }
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> SimServerProcess:
        path = [str(ROOT), str(ROOT / "addon"), os.environ.get("PYTHONPATH", "")]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.addon.modbus_sim",
            json.dumps(self.spec),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), START_GUARD_S)
        if not line.strip().isdigit():
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"the Modbus server process did not start: {line!r}")
        self.port = int(line)
        return self

    async def __aexit__(self, *exc: object) -> None:
        process = self.process
        assert process is not None
        assert process.stdin is not None
        process.stdin.close()  # the child shuts its server down and exits
        try:
            await asyncio.wait_for(process.wait(), START_GUARD_S)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _serve(spec: dict[str, Any]) -> None:
    """The child of :class:`SimServerProcess`: serve until stdin closes."""
    profile = load_profile(spec["profile"])
    behaviours = {int(i): Behaviour(**b) for i, b in spec["devices"].items()}
    devices = [sim_device(i, profile, spec["values"], b) for i, b in behaviours.items()]
    async with SimServer(devices, behaviours) as server:
        print(server.port, flush=True)
        await asyncio.to_thread(sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(_serve(json.loads(sys.argv[1])))
