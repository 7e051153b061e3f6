"""One asyncio worker per Modbus line: scheduled polls, priority commands, circuit breakers.

A line (RS-485 or one Modbus TCP endpoint) carries one transaction at a time, so the worker is
strictly sequential. Commands wait in their own queue and are served before the next register
block of any poll, so a valve setpoint never waits for a full poll of the line (issue 5).
Each command is read back and only reported ``confirmed`` when the device holds the value.

A misbehaving device never stops its line (issue 11): a late, short or garbled reply makes the
transport resynchronise, decode trouble is that device's fault, an exception response or an
invalid value (NaN/Inf, sentinel, outside the physical range) is counted for that device and
published as ``null`` (unavailable), and a poll that yields no valid value is a failed poll for
the circuit breaker — a device answering only exception 04 turns unavailable within
``breaker.failures`` polls. Anything unexpected inside one poll is logged with the device's name
and the worker goes on with the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .breaker import CircuitBreaker
from .codec import EncodeError
from .register_map import Point, Profile
from .stats import LinkStats
from .transport import BadResponseError, DeviceError, NoResponseError, Transport

_LOGGER = logging.getLogger(__name__)
MAX_BLOCK = 120  # registers per read; Modbus allows 125
MAX_GAP = 8  # read across small holes rather than issue another request
EXPECT_DRIFT = 2.0  # % of stroke a valve may stand off where the command's sender read it


@dataclass(frozen=True, slots=True)
class Block:
    """A contiguous register range read in one request, and the points inside it."""

    function: str
    address: int
    count: int
    points: tuple[Point, ...]


def plan_blocks(profile: Profile) -> list[Block]:
    """Group a profile's points into as few read requests as the limits allow."""
    blocks: list[Block] = []
    for function in ("holding", "input", "coil", "discrete"):
        points = sorted(
            (p for p in profile.points if p.function == function), key=lambda p: p.address
        )
        current: list[Point] = []
        for point in points:
            if current:
                start = current[0].address
                end = max(p.address + p.count for p in current)
                if point.address - end > MAX_GAP or point.address + point.count - start > MAX_BLOCK:
                    blocks.append(_block(function, current))
                    current = []
            current.append(point)
        if current:
            blocks.append(_block(function, current))
    return blocks


def _block(function: str, points: list[Point]) -> Block:
    start = points[0].address
    end = max(p.address + p.count for p in points)
    return Block(function, start, end - start, tuple(points))


@dataclass(slots=True)
class Reading:
    """One poll of one device: wall-clock timestamp and engineering values by point key."""

    device: str
    ts: float
    values: dict[str, float | None]  # None: read but invalid (published as unavailable)


@dataclass(slots=True)
class Command:
    """A write request for one point; ``future`` receives the result dict."""

    device: str
    point: str
    value: float
    request_id: str | None = None
    expect: float | None = None  # where the sender read the valve (position set-points)
    future: asyncio.Future[dict[str, Any]] | None = None


def finish_command(command: Command, result: dict[str, Any]) -> None:
    """Complete a command's future once with its result (request id, device, point added)."""
    result.setdefault("request_id", command.request_id)
    result.setdefault("device", command.device)
    result.setdefault("point", command.point)
    if command.future is not None and not command.future.done():
        command.future.set_result(result)


@dataclass(slots=True)
class DeviceState:
    """Runtime state of one field device on the line."""

    name: str
    device_id: int
    profile: Profile
    interval: float
    blocks: list[Block]
    breaker: CircuitBreaker
    stats: LinkStats
    next_due: float = 0.0
    polls: int = 0
    last_values: dict[str, float] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)  # point key → why, while invalid
    bad_frames: int = 0  # bad responses in a row (only the first is logged as a warning)


class BusWorker:
    """Polls the devices of one line and executes commands for them."""

    def __init__(
        self,
        bus: dict[str, Any],
        profiles: dict[str, Profile],
        transport: Transport,
        on_reading: Callable[[Reading], None],
        on_availability: Callable[[str, bool], None] = lambda _d, _a: None,
        on_poll: Callable[[str, str, bool], None] = lambda _d, _k, _ok: None,
    ) -> None:
        self.name: str = bus["name"]
        self.link: str = bus["link"]
        self.retries: int = bus["retries"]
        self.transport = transport
        self.on_reading = on_reading
        self.on_availability = on_availability
        self.on_poll = on_poll
        self.stats = LinkStats(link=self.link)
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._stopping = False
        now = time.monotonic()
        self.devices: dict[str, DeviceState] = {}
        for index, dev in enumerate(bus["devices"]):
            profile = profiles[dev["profile"]]
            breaker_cfg = bus["breaker"]
            self.devices[dev["name"]] = DeviceState(
                name=dev["name"],
                device_id=dev["device_id"],
                profile=profile,
                interval=dev["poll_interval"],
                blocks=plan_blocks(profile),
                breaker=CircuitBreaker(breaker_cfg["failures"], breaker_cfg["max_backoff_polls"]),
                stats=LinkStats(link=self.link),
                # Spread first polls over a little time so a big line does not start in a burst.
                next_due=now + (index % 50) * 0.001,
            )

    # ---- public API -------------------------------------------------------------------
    def submit(self, command: Command) -> asyncio.Future[dict[str, Any]]:
        """Queue a command ahead of all polling; the future gets the result dict."""
        command.future = asyncio.get_running_loop().create_future()
        self.commands.put_nowait(command)
        self._wake.set()
        return command.future

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current transaction."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Serve commands first, then the most overdue poll, until stopped."""
        try:
            while not self._stopping:
                if not self.commands.empty():
                    await self._execute(self.commands.get_nowait())
                    continue
                device = min(self.devices.values(), key=lambda d: d.next_due)
                delay = device.next_due - time.monotonic()
                if delay > 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=delay)
                    continue
                await self._poll_guarded(device)
        finally:
            await self.transport.close()
            while not self.commands.empty():
                self._finish(self.commands.get_nowait(), {"status": "failed", "error": "stopping"})

    # ---- polling ----------------------------------------------------------------------
    def _reschedule(self, device: DeviceState, now: float) -> None:
        """Keep the cadence; a device polled late is next due no earlier than ``now``.

        On an overloaded line (a dead device's timeouts, a slow machine) every device is
        late, and the worker serves the most overdue first: capping each device's lateness
        at the start of its poll makes that a round-robin, every device once per round.
        Restarting a device more than an interval late at ``now + interval`` instead put it
        behind devices still catching up their backlog: under load five of ten valves went
        unpolled for three rounds while the other five and the dead one were polled (7
        polls against 10: test_dead_device_among_ten_does_not_stall_the_line).
        """
        device.next_due = max(device.next_due + device.interval, now)

    async def _poll_guarded(self, device: DeviceState) -> None:
        """One poll; whatever goes wrong inside it is this device's failed poll, not the line's."""
        try:
            await self._poll(device)
        except asyncio.CancelledError:
            raise
        except Exception:
            device.stats.poll_errors += 1
            _LOGGER.exception("%s/%s: poll failed, the line goes on", self.name, device.name)
            self._after_poll(device, False, {}, "full")

    def _begin_poll(self, device: DeviceState) -> str | None:
        """The breaker's plan for this poll (None: skipped while backing off); reschedules."""
        plan = device.breaker.plan()
        self._reschedule(device, time.monotonic())
        if plan == "skip":
            return None
        device.polls += 1
        return plan

    async def _poll(self, device: DeviceState) -> None:
        plan = self._begin_poll(device)
        if plan is None:
            return
        values: dict[str, float | None] = {}
        answered = True
        for number, block in enumerate(device.blocks):
            while not self.commands.empty():  # commands jump ahead of the rest of the poll
                await self._execute(self.commands.get_nowait())
            attempts = 1 if plan == "probe" and number == 0 else 1 + self.retries
            registers = await self._request(
                device, attempts, block.function, block.address, block.count
            )
            if registers is None:
                answered = False
                if number == 0:
                    break  # a silent device: do not spend the other blocks' timeouts on it
                continue
            self._decode_block(device, block, registers, values)
        # A poll counts as answered only when it yielded at least one valid value: a device
        # that refuses every read (exception 04) or sends only garbage is not "online".
        healthy = answered and any(v is not None for v in values.values())
        self._after_poll(device, healthy, values, plan)

    def _after_poll(
        self, device: DeviceState, answered: bool, values: dict[str, float | None], plan: str
    ) -> None:
        if answered:
            if device.breaker.record_success():
                _LOGGER.info("%s/%s answers again", self.name, device.name)
                self.on_availability(device.name, True)
        elif device.breaker.record_failure():
            _LOGGER.warning(
                "%s/%s unavailable after %d failed polls",
                self.name,
                device.name,
                device.breaker.consecutive_failures,
            )
            self.on_availability(device.name, False)
        self.on_poll(device.name, plan, answered)
        if values:
            device.last_values.update({k: v for k, v in values.items() if v is not None})
            self.on_reading(Reading(device.name, time.time(), values))

    def _decode_block(
        self,
        device: DeviceState,
        block: Block,
        registers: list[int],
        values: dict[str, float | None],
    ) -> None:
        """Validated values of a block's points; an exception reply ([]) makes them all None."""
        for point in block.points:
            start = point.address - block.address
            if registers:
                value, why = point.read(registers[start : start + point.count])
            else:
                value, why = None, "exception response"
            values[point.key] = value
            self._note_validity(device, point.key, why)

    def _note_validity(self, device: DeviceState, key: str, why: str | None) -> None:
        """Count invalid values; log when a point turns invalid and when it recovers."""
        if why is None:
            if device.invalid.pop(key, None) is not None:
                _LOGGER.info("%s/%s.%s valid again", self.name, device.name, key)
            return
        device.stats.invalid_values += 1
        self.stats.invalid_values += 1
        if device.invalid.get(key) is None:
            _LOGGER.warning("%s/%s.%s invalid: %s", self.name, device.name, key, why)
        device.invalid[key] = why

    async def _request(
        self,
        device: DeviceState,
        attempts: int,
        function: str,
        address: int,
        count: int,
        write: list[int] | None = None,
    ) -> list[int] | None:
        """Do one logical request with up to ``attempts`` tries; None if never answered.

        A Modbus exception response means the device is alive but refused: no retry, and an
        empty list is returned so callers can tell it from silence.
        """

        async def once() -> list[int]:
            if write is None:
                return await self.transport.read(function, address, count, device.device_id)
            await self.transport.write(function, address, write, device.device_id)
            return write

        return await self._attempt(device, attempts, once)

    async def _attempt[T](
        self, device: DeviceState, attempts: int, once: Callable[[], Awaitable[list[T]]]
    ) -> list[T] | None:
        """Up to ``attempts`` tries of one request, each counted for §6.0.6; None if never
        answered, [] for an exception response (alive, but no data)."""
        started = time.monotonic()
        for attempt in range(1, attempts + 1):
            try:
                result = await once()
            except NoResponseError:
                continue
            except BadResponseError as err:  # the device's fault; the transport resynchronised
                device.stats.bad_responses += 1
                self.stats.bad_responses += 1
                log = _LOGGER.debug if device.bad_frames else _LOGGER.warning
                log("%s/%s bad response: %s", self.name, device.name, err)
                device.bad_frames += 1
                continue
            except DeviceError as err:
                device.stats.exceptions += 1
                self.stats.exceptions += 1
                _LOGGER.debug("%s/%s exception response: %s", self.name, device.name, err)
                # answered, but no data: not a first-try success (§6.0.6)
                self._record(device, attempt, True, False, started)
                return []
            device.bad_frames = 0
            self._record(device, attempt, True, attempt == 1, started)
            return result
        self._record(device, attempts, False, False, started)
        return None

    def _record(
        self, device: DeviceState, attempts: int, answered: bool, first: bool, started: float
    ) -> None:
        latency = time.monotonic() - started
        device.stats.record(attempts, answered, first, latency)
        self.stats.record(attempts, answered, first, latency)

    # ---- commands ---------------------------------------------------------------------
    def _finish(self, command: Command, result: dict[str, Any]) -> None:
        finish_command(command, result)

    async def _moved_since_read(
        self, device: DeviceState, command: Command, effective: float, attempts: int
    ) -> dict[str, Any] | None:
        """The refusal of a position set-point whose valve no longer stands where the sender
        read it (``expect``), read just before the write; None when it may go.

        The sender limits its step from the position it last heard, which can be a poll old:
        a valve turned by hand in between would take the whole difference (§5.3.6-3), and
        only the gateway can read the valve at write time. Refused, nothing moves; the next
        cycle steps from the new position. A valve without position feedback, or a command
        without ``expect`` (an operator's set topic), is not checked.
        """
        if command.expect is None or command.point != "position_setpoint":
            return None
        try:
            feedback = device.profile.point("position_feedback")
        except KeyError:
            return None
        registers = await self._request(
            device, attempts, feedback.function, feedback.address, feedback.count
        )
        position, why = feedback.read(registers) if registers else (None, "not answered")
        if position is None:
            return {"status": "refused", "error": f"position not readable before the move: {why}"}
        device.last_values[feedback.key] = position
        if abs(position - command.expect) <= EXPECT_DRIFT + feedback.tolerance:
            return None
        return {
            "status": "refused",
            "value": effective,
            "position": position,
            "error": f"valve at {position:g}, not at {command.expect:g} as read for this step",
        }

    async def _execute(self, command: Command) -> None:
        """Write, then read the register back; never write outside the point's min/max."""
        device = self.devices.get(command.device)
        if device is None:
            self._finish(command, {"status": "refused", "error": "unknown device"})
            return
        try:
            point = device.profile.point(command.point)
            registers, effective = point.encode_setpoint(float(command.value))
        except KeyError:
            self._finish(command, {"status": "refused", "error": "unknown point"})
            return
        except (EncodeError, TypeError, ValueError) as err:
            self._finish(command, {"status": "refused", "error": str(err)})
            return
        attempts = 1 + self.retries
        refusal = await self._moved_since_read(device, command, effective, attempts)
        if refusal is not None:
            self._finish(command, refusal)
            return
        written = await self._request(
            device, attempts, point.function, point.address, point.count, registers
        )
        if not written:
            status = "failed" if written is None else "rejected"
            self._finish(
                command,
                {
                    "status": status,
                    "value": effective,
                    "error": "write not answered" if written is None else "device exception",
                },
            )
            return
        readback = await self._request(device, attempts, point.function, point.address, point.count)
        if not readback:
            self._finish(
                command,
                {"status": "not_confirmed", "value": effective, "error": "read-back failed"},
            )
            return
        held, why = point.read(readback)
        if held is None:
            self._finish(
                command,
                {"status": "not_confirmed", "value": effective, "error": f"read-back {why}"},
            )
            return
        status = "confirmed" if abs(held - effective) <= point.tolerance else "not_confirmed"
        device.last_values[point.key] = held
        self._finish(command, {"status": status, "value": effective, "readback": held})
