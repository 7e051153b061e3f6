"""Inlets read from and moved through the heatbalance gateway add-on over MQTT.

The gateway (addon/, docs/gateway.md) polls Modbus heat meters and valves and forwards their
readings from a SQLite outbox in batches on ``<base>/gw/<gateway>/data``; it deletes a row
only after the consumer — this module — acknowledges it on ``<base>/gw/<gateway>/ack``
(store-and-forward, §6.0.3). The protocol's rules (dedup, contiguous ack, epochs, latest
state) live in gateway_protocol.py, the one implementation the add-on's tests use as well; the
ack is sent only after the batch's readings are written (the backlog durably, to the journal).

Each gateway inlet names its meter and valve device in its subentry (defaults
``<inlet>-meter`` / ``<inlet>-valve``, as the virtual plant names them; settings.py). Valve
commands go to ``<base>/gw/<gateway>/cmd`` with a request id (the gateway runs an id at most
once, §4.3.5); the gateway writes, reads back and answers on ``…/cmd/result``. That answer is
the command's confirmation: anything but ``confirmed`` — or no answer within a cycle — is
reported with the inlet's next reading (``Reading.command_status``) and alarmed like a
command/feedback mismatch (§5.3.8). A command without an answer is asked again, same request
id, every ``RESEND_S``: a command published while the gateway was reconnecting (it subscribes
with a clean session) never reached it, and a result published while it had no uplink never
left it; the gateway runs an id once and answers a repeat from its outbox (§4.3.5). A reading
older than the stale window counts as a failed transmission (§6.0.6) and is handed on as None,
never guessed.

Peers are bound to identity (issue 11): every inlet device — and the pump's drive — belongs
to one gateway id: the one configured on the inlet (the pump: in the options), else the first
that reported it (kept in the Store). Readings, command results and statistics about it from
any other gateway are ignored and logged, and commands go to the owner only: another
network's drive of the same name, on the same broker, is never commanded. Each config entry
has its own topic base, Store and journal (issue 10 item 6), so several networks share a
broker without acking each other's streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later

from .const import (
    CONF_GATEWAY_RETURN_PRESSURE,
    CONF_GATEWAY_SUPPLY_PRESSURE,
    RATED_HZ,
    SOURCE_GATEWAY,
)
from .engine.control.base import usable
from .gateway_history import LATE_S, BacklogHistory
from .gateway_protocol import (
    PROTOCOL,
    AckTracker,
    BatchError,
    Item,
    Received,
    Stream,
    ack_message,
    ack_topic,
    command_topic,
    copy_stream,
    finite,
    parse_batch,
)
from .reading import Reading

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.storage import Store

    from .settings import InletConfig

_LOGGER = logging.getLogger(__name__)
DEFAULT_BASE = "heatbalance"
HISTORY_MAX = 100_000
STORE_KEY = "heatbalance.gateway_source"
STORE_VERSION = 1
SAVE_DELAY_S = 5.0
METER_SIGNALS = {"supply_c": "supply_temperature", "return_c": "return_temperature"}
PENDING = "pending"  # sent, no answer yet
HELD = "held"  # never sent: its gateway was offline (counted as no move, issue 10 item 6)
QUEUED = "queued"  # held by a LoRaWAN network server until the device's next uplink
NO_RESULT = "no_result"  # no answer within the stale window
RESEND_S = 5.0  # a command still without an answer is asked again this often …
RESENDS = 6  # … at most this many times (then its cycle reports no_result)
QUEUE_READINGS = 20_000  # readings queued per entry at most (4 default gateway windows)
GROUP_READINGS = 1_000  # readings stored per journal write and ack at most
REACK_S = 1.0  # an ack repeated for resent duplicates at most this often per gateway
# A gateway not online for max(OFFLINE_REPAIR_S, one cycle) gets a repair (§5.3.8-5
# communication line; :func:`offline_repair_s`). The floor is longer than an add-on restart
# or update (the gateway is back online within seconds to a minute) and than a crash takes to
# show (the broker sends its will after 1.5 × keepalive, 45 s by default), so routine
# restarts raise nothing. One cycle: a gateway away for a whole acquisition period (§4.3.4)
# has cost that period's live readings and, past half a cycle, its held commands; a longer
# cycle's outage of a few minutes costs nothing (the gateway's outbox delivers the readings,
# a held command goes when it is back). Still a cycle before the readings go stale (2 cycles,
# §6.0.6) and every inlet behind it alarms one by one.
OFFLINE_REPAIR_S = 300.0
ONLINE, OFFLINE = "online", "offline"
ROUTES = {  # a topic's tail after ``<base>/gw/<gateway>/`` → its handler
    ("data",): "_on_data",
    ("status",): "_on_status",
    ("cmd", "result"): "_on_result",
    ("stats",): "_on_stats",
    ("info",): "_on_info",
}


def offline_repair_s(cycle_s: float) -> float:
    """How long a gateway may be not online before the ``gateway_offline`` repair: the
    floor :data:`OFFLINE_REPAIR_S` or one control cycle, whichever is longer."""
    return max(OFFLINE_REPAIR_S, cycle_s)


def _value(values: dict[str, Any], key: str) -> float | None:
    """A finite number from a reading's values, or None (bad values are not guessed)."""
    return usable(values.get(key))


# --- Home Assistant side ----------------------------------------------------------------------
@dataclass(slots=True)
class Live:
    """Newest state of one gateway device (original gateway timestamp)."""

    gateway: str
    ts: float
    values: dict[str, Any]


class GatewaySource:
    """MQTT source for gateway inlets: readings in, acks and valve commands out."""

    def __init__(
        self,
        hass: HomeAssistant,
        inlets: Mapping[str, tuple[str | None, str | None]],
        base: str = DEFAULT_BASE,
        clock: Callable[[], float] = time.time,
        owners: Mapping[str, str | None] | None = None,
        key: str | None = None,
        sensors: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        pump: tuple[str, str | None] | None = None,
        substation: str | None = None,
        hold_s: float = math.inf,
        cycle: Callable[[], float] | None = None,
        substation_heat: str | None = None,
    ) -> None:
        """Map the inlets' (meter, valve) devices; nothing is subscribed before
        :meth:`async_start`. Raises ValueError when two inlets name the same device.
        ``owners`` names an inlet's gateway id (None: the first gateway that reports it);
        ``key`` names this source's Store and journal (the config entry; default the base);
        ``sensors`` an inlet's further devices as (kind, name): ``supply_pressure`` and
        ``return_pressure`` transmitters (kPa), ``room`` sensors of typical users; ``pump``
        the pump drive's device and its configured gateway id (None: the first to report);
        ``substation`` the substation's flow meter (bound to the first gateway to report it);
        ``hold_s`` how long an unanswered command may still go to its gateway once that is
        online (the cycle's answer window: after it the cycle reports ``no_result``, and a
        valve the engine took as unmoved must not move late); ``cycle`` the control cycle
        (s) as configured now, which then sets that window (half of it) and the offline
        repair's threshold (:func:`offline_repair_s`); ``substation_heat`` the substation's
        heat meter (its ``power`` point: the network heat, bound like the flow meter)."""
        self.hass = hass
        self.base = base
        self.key = key or base
        self.clock = clock
        self.tracker = AckTracker()
        self.inlets = dict(inlets)
        self.sensors = {iid: tuple(pairs) for iid, pairs in (sensors or {}).items()}
        self.devices: dict[str, tuple[str, str]] = {}  # device → (inlet, kind)
        for iid, names in self.inlets.items():
            pairs = [*zip(("meter", "valve"), names, strict=True), *self.sensors.get(iid, ())]
            for kind, name in pairs:
                if name is None:
                    continue
                if name in self.devices:
                    raise ValueError(f"inlets {self.devices[name][0]} and {iid} share {name}")
                self.devices[name] = (iid, kind)
        configured = owners or {}
        self.configured: dict[str, str] = {  # device → configured gateway id
            name: gw for name, (iid, _kind) in self.devices.items() if (gw := configured.get(iid))
        }
        self.pump = pump[0] if pump else None  # the drive: bound to one gateway as well
        self.substation = substation  # the substation's flow meter: so is it
        self.substation_heat = substation_heat  # … and its heat meter (14g)
        for name in (self.pump, substation, substation_heat):
            if name is not None and name in self.devices:
                raise ValueError(f"the substation's device {name} is an inlet's device too")
        if pump and pump[1]:
            self.configured[pump[0]] = pump[1]
        self.owner: dict[str, str] = dict(self.configured)  # device → its gateway
        self.foreign = 0  # readings, results, statistics from a gateway not the owner
        self._foreign_seen: set[tuple[str, str]] = set()
        self._sent_to: dict[str, str] = {}  # request id → gateway it was sent to
        self.live: dict[str, Live] = {}
        # devices whose newest state arrived in this run: the Store's live state says where a
        # valve stood before Home Assistant stopped, not where it stands now (turned by hand)
        self.heard: set[str] = set()
        self._restored_ts: dict[str, float] = {}  # device → its Store state's timestamp
        # … and of those, the ones whose position this cycle's acquisition used: a report
        # arriving between the acquisition and the command must not let a step computed
        # from the Store's position out (seen on HA 2025.4's slower MQTT delivery)
        self.read_heard: set[str] = set()
        # … and the position (%) those acquisitions read: a command says where it stepped from
        self.read_position: dict[str, float] = {}
        self.history: deque[tuple[float, str, dict[str, Any]]] = deque(maxlen=HISTORY_MAX)
        self.results: dict[str, dict[str, Any]] = {}
        self.last_command: dict[str, tuple[str, float]] = {}  # inlet → (request id, sent at)
        self.stats: dict[str, dict[str, Any]] = {}  # gateway → its retained statistics
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._asking: dict[str, Callable[[], None]] = {}  # request id → cancels its next ask
        self._stopped = False
        self.invalid = 0
        # what each gateway says it is (its retained ``…/info``: protocol, add-on version,
        # every device's point keys), and the link protocol of the batches that brought this
        # network's readings in this run (a batch of another version: no energy counter taken)
        self.info: dict[str, dict[str, Any]] = {}
        self.protocols: dict[str, int] = {}
        self.revision = 0  # counts changes of the two above (repairs are re-checked then)
        self._unsubscribe: list[Callable[[], None]] = []
        self._store: Store[dict[str, Any]] | None = None
        self.backlog: BacklogHistory | None = None  # the durable backlog journal (async_start)
        self._written: dict[str, Stream] = {}  # ack positions whose batches are all written
        self.received = Received()  # … and of the batches queued as well (early dedup)
        self._queue: deque[tuple[str, dict[str, Any], float]] = deque()  # (gateway, batch, at)
        self._queued = 0  # readings in the queue
        self._worker: asyncio.Task[None] | None = None  # drains the queue while not empty
        self._reacked: dict[str, float] = {}  # gateway → when its ack was last repeated
        self.deferred = 0  # readings left to the gateway's resend: the queue was full
        # Each gateway's retained status (``online`` once it is subscribed, ``offline`` on a
        # clean stop and as its will): a command is sent only to a gateway not known offline,
        # and every unanswered command goes again when its gateway comes online (issue 10).
        self.status: dict[str, str] = {}
        self.offline_since: dict[str, float] = {}  # gateway → since when not online (clock)
        self.down: set[str] = set()  # … not online for repair_s: the repair names them
        self._down_timers: dict[str, Callable[[], None]] = {}
        self._unanswered: dict[str, tuple[str, str, str, str]] = {}  # key → (id, gw, topic, cmd)
        # Commands held back because their gateway was offline count as no move until the
        # gateway confirms them (the plant tells the engine then, Plant.carried_out):
        # how many were held, sent once the gateway was back, confirmed, and never sent
        # (the answer window passed, or a newer command for the valve replaced them)
        self.held = 0
        self.held_sent = 0
        self.held_confirmed = 0
        self.held_unsent = 0
        self.holding: dict[str, str] = {}  # key → its last command's id, never published
        self._was_held: set[str] = set()  # request ids sent late (their answer is counted)
        self._hold_s = hold_s
        self._cycle = cycle
        self.on_change: Callable[[], object] | None = None  # told when :attr:`revision` moves

    @property
    def hold_s(self) -> float:
        """How long an unanswered command may still go to its gateway (half a cycle)."""
        return self._hold_s if self._cycle is None else self._cycle() / 2

    @property
    def repair_s(self) -> float:
        """How long a gateway may be not online before the repair names it."""
        return OFFLINE_REPAIR_S if self._cycle is None else offline_repair_s(self._cycle())

    async def async_start(self) -> None:
        """Restore the ack positions and live state, load the backlog journal and import what
        a crash left unimported (§6.0.3), then subscribe to every gateway."""
        from homeassistant.components import mqtt
        from homeassistant.helpers.storage import Store

        self._store = Store(self.hass, STORE_VERSION, f"{STORE_KEY}.{self.key}")
        stored = await self._store.async_load()
        if stored is None and self.key != self.base:  # saved per topic base before issue 10.6
            stored = await Store[dict[str, Any]](
                self.hass, STORE_VERSION, f"{STORE_KEY}.{self.base}"
            ).async_load()
        self.restore(stored or {})
        self._written = {gw: copy_stream(st) for gw, st in self.tracker.streams.items()}
        for gw, st in self._written.items():
            self.received.reset(gw, st)
        self.backlog = BacklogHistory(
            self.hass, self.key, self.devices, self.clock, LATE_S, legacy=self.base
        )
        await self.backlog.async_load()
        # in the background: a recorder still migrating its database must not hold the start
        self.hass.async_create_background_task(
            self.backlog.async_import(), "heatbalance gateway backlog import"
        )
        await mqtt.async_wait_for_mqtt_client(self.hass)
        topic = f"{self.base}/gw/#"
        unsubscribe = await mqtt.async_subscribe(self.hass, topic, self._on_message, 1)
        self._unsubscribe.append(_once_subscribed(self.hass, topic, unsubscribe))
        for gateway in set(self.owner.values()):  # one that never says it is online: as offline
            self._watch(gateway)

    @callback
    def _on_message(self, msg: Any) -> None:
        """Route a message of the topic base to its handler by the topic's tail; the rest
        (device states, availability, the acks and commands sent from here) is not ours.
        One wildcard subscription, not one per topic: see :func:`_once_subscribed`."""
        if self._stopped:  # unsubscribed, but the client had not yet subscribed the topic
            return
        tail = tuple(msg.topic.removeprefix(f"{self.base}/gw/").split("/")[1:])
        if (handler := ROUTES.get(tail)) is not None:
            getattr(self, handler)(msg)

    def stop(self) -> None:
        """Unsubscribe and cancel a scheduled backlog import (the journal is durable and is
        imported on the next start; a pending save still runs: HA writes it on shutdown)."""
        self._stopped = True
        self._queue.clear()  # not acked: the gateway keeps them and sends them again
        self._queued = 0
        while self._unsubscribe:
            self._unsubscribe.pop()()
        _not_restored(self.hass, self._on_message)
        while self._asking:
            self._asking.popitem()[1]()
        while self._down_timers:
            self._down_timers.popitem()[1]()
        if self.backlog is not None:
            self.backlog.stop()

    async def async_stop(self) -> None:
        """:meth:`stop`, and the Store written now (on unload). A reload's new source reads
        the Store at once: a delayed save landed after it, and the new source resumed from an
        older ack position and live state — without any, a replayed reading of a valve's old
        position was its newest, and the first command was limited from there (§5.3.6-3)."""
        self.stop()
        if self._store is not None:
            await self._store.async_save(self._written_dict())

    def as_dict(self) -> dict[str, Any]:
        """Ack position per gateway and the live state, for the Store.

        Kept so that a Home Assistant restart neither re-writes rows the gateway still holds
        nor lets a replayed reading overwrite the newest state it had (§6.0.3).
        """
        return {
            "streams": {
                gw: {"stream": st.stream, "contiguous": st.contiguous}
                for gw, st in self.tracker.streams.items()
            },
            "live": {
                dev: {"gateway": lv.gateway, "ts": lv.ts, "values": lv.values}
                for dev, lv in self.live.items()
            },
            "owners": {dev: gw for dev, gw in self.owner.items() if dev not in self.configured},
            "unanswered": self._unanswered_dict(),
        }

    def _unanswered_dict(self) -> dict[str, dict[str, Any]]:
        """The commands still unanswered (held for an offline gateway, or sent and not yet
        answered) with when they were issued: a restart while a gateway is offline must not
        forget them — they go when it is back within their window, and their answers count
        (issue 10 item 6)."""
        return {
            key: {
                "request_id": request_id,
                "gateway": gateway,
                "topic": topic,
                "payload": payload,
                "at": self.last_command[key][1],
                "held": self.holding.get(key) == request_id,
                "late": request_id in self._was_held,
            }
            for key, (request_id, gateway, topic, payload) in self._unanswered.items()
            if self.last_command.get(key, ("",))[0] == request_id
        }

    def _restore_unanswered(self, data: Any) -> None:
        """Read back :meth:`_unanswered_dict` (a command for a device not this source's, or
        for a gateway not its owner, is dropped)."""
        for key, cmd in dict(data or {}).items():
            request_id, gateway = str(cmd["request_id"]), str(cmd["gateway"])
            device = key.removeprefix("pump:") if key.startswith("pump:") else None
            device = device or self.inlets.get(key, (None, None))[1]
            if device is None or self.owner.get(device, gateway) != gateway:
                continue
            sent = self._as_sent(key, request_id, gateway, device, cmd)
            if sent is None:
                _LOGGER.warning("Not resending %s's damaged stored command %s", key, request_id)
                continue
            self._unanswered[key] = (request_id, gateway, *sent)
            self.last_command[key] = (request_id, finite(cmd["at"]))
            self._sent_to[request_id] = gateway
            if cmd["held"]:
                self.holding[key] = request_id
            if cmd["late"]:
                self._was_held.add(request_id)

    def _as_sent(
        self, key: str, request_id: str, gateway: str, device: str, cmd: dict[str, Any]
    ) -> tuple[str, str] | None:
        """A stored command's topic and payload when they are what :meth:`_async_command`
        publishes for ``key`` (its topic, request id, device, point, a value within 0…100 %);
        None otherwise. They go to a real valve or drive when the gateway is back, unchecked
        by :meth:`async_set_opening`'s range test: a damaged Store must not move one out of
        range or elsewhere ("never moves a valve outside its safety limits")."""
        topic, payload = command_topic(self.base, gateway), str(cmd["payload"])
        try:
            command = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(command, dict) or str(cmd["topic"]) != topic:
            return None
        point = "speed_setpoint" if key.startswith("pump:") else "position_setpoint"
        value = command.get("value")
        ok = (
            command.get("request_id") == request_id
            and command.get("device") == device
            and command.get("point") == point
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and 0.0 <= value <= 100.0
        )
        return (topic, payload) if ok else None

    def _save_soon(self) -> None:
        """Write the Store within :data:`SAVE_DELAY_S` (what is held must survive a stop)."""
        if self._store is not None:
            self._store.async_delay_save(self._written_dict, SAVE_DELAY_S)

    def restore(self, data: dict[str, Any]) -> None:
        """Resume from :meth:`as_dict`; a damaged store is ignored (the gateway replays)."""
        try:
            streams = {
                str(gw): Stream(str(st["stream"]), int(st["contiguous"]))
                for gw, st in data.get("streams", {}).items()
            }
            live = {
                str(dev): Live(str(lv["gateway"]), finite(lv["ts"]), dict(lv["values"]))
                for dev, lv in data.get("live", {}).items()
            }
            bound = {str(dev): str(gw) for dev, gw in data.get("owners", {}).items()}
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            _LOGGER.warning("Ignoring damaged gateway source store: %r", err)
            return
        self.owner = {**{d: g for d, g in bound.items() if self._bound(d)}, **self.configured}
        try:
            self._restore_unanswered(data.get("unanswered"))
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            _LOGGER.warning("Ignoring damaged held commands in the gateway source store: %r", err)
            self._unanswered, self.holding, self._was_held = {}, {}, set()
            self.last_command, self._sent_to = {}, {}
        live = {d: lv for d, lv in live.items() if self.owner.get(d, lv.gateway) == lv.gateway}
        self.tracker.streams.update(streams)
        self.live.update(live)
        for dev, lv in live.items():
            self.tracker.latest_ts[(lv.gateway, dev)] = lv.ts
            self._restored_ts[dev] = lv.ts

    @callback
    def _on_data(self, msg: Any) -> None:
        """Queue the batch with its arrival time for :meth:`_async_drain`, which stores the
        batches in arrival order. Dropped here, before any work is queued: a malformed batch
        (counted), one holding nothing not already received (a go-back resend: counted as
        duplicates; the ack is repeated when nothing is queued — the gateway missed it), and
        one that would push the queue past ``QUEUE_READINGS`` (not acked: the gateway keeps
        it and sends it again). The queue and the received set bound what a gateway replaying
        a long backlog to a slow Home Assistant can pile up (issue 10: unbounded, with every
        resend queued behind the backlog, the ack stood still)."""
        gateway = msg.topic.split("/")[-2]
        try:
            batch = parse_batch(msg.payload)
        except BatchError as err:
            self.invalid += 1
            _LOGGER.warning("Gateway %s: %s", gateway, err)
            return
        size = len(batch["readings"])
        if self.received.covers(gateway, batch):
            self.tracker.duplicates += size
            if self._worker is None:
                self._reack(gateway)
            return
        if self._queue and self._queued + size > QUEUE_READINGS:
            self.deferred += size
            _LOGGER.debug("Gateway %s: %d readings left to a resend (queue full)", gateway, size)
            return
        self.received.note(gateway, batch)
        self._queue.append((gateway, batch, self.clock()))
        self._queued += size
        if self._worker is None:
            self._worker = self.hass.async_create_task(
                self._async_drain(), "heatbalance gateway batches"
            )

    @property
    def queued(self) -> int:
        """Readings received and not yet stored (the queue :meth:`_async_drain` works off)."""
        return self._queued

    def _reack(self, gateway: str) -> None:
        """Repeat the ack of what is stored (at most every ``REACK_S``): a resend of nothing
        new means the gateway has not seen it."""
        now = self.hass.loop.time()
        written = self._written.get(gateway)
        if written is None or now - self._reacked.get(gateway, -math.inf) < REACK_S:
            return
        self._reacked[gateway] = now
        self.hass.async_create_task(self._async_ack(gateway, ack_message(written)))

    async def _async_drain(self) -> None:
        """Store the queued batches, a group of up to ``GROUP_READINGS`` at a time: one
        journal write and one ack per gateway and group, not per batch."""
        try:
            while self._queue and not self._stopped:
                group: list[tuple[str, dict[str, Any], float]] = []
                size = 0
                while self._queue and (not group or size < GROUP_READINGS):
                    group.append(self._queue.popleft())
                    size += len(group[-1][1]["readings"])
                self._queued -= size
                await self._async_group(group)
        finally:
            self._worker = None

    async def _async_group(self, group: list[tuple[str, dict[str, Any], float]]) -> None:
        """Write the group's new readings — the backlog durably to the journal — then
        acknowledge: the gateway deletes acked rows, so an ack never names a sequence whose
        journal write has not completed (§6.0.3)."""
        parts: dict[str, list[tuple[str, list[Item], float]]] = {}
        for gateway, batch, arrival in group:
            items = self.tracker.handle_parsed(gateway, batch)
            items = [i for i in items if not i.is_new or self._accepts(gateway, i.reading)]
            for item in items:
                if item.is_new:
                    self._write(gateway, item)
            parts.setdefault(gateway, []).append((batch["stream"], items, arrival))
            await asyncio.sleep(0)  # other callbacks between batches
        for gateway, batches in parts.items():
            if not await self._async_journal(gateway, batches):
                continue
            self._written[gateway] = copy_stream(self.tracker.streams[gateway])
            if self._store is not None:
                self._store.async_delay_save(self._written_dict, SAVE_DELAY_S)
            await self._async_ack(gateway, self.tracker.ack_payload(gateway))

    async def _async_journal(
        self, gateway: str, batches: list[tuple[str, list[Item], float]]
    ) -> bool:
        """Journal the backlog of ``gateway``'s batches; False (rewound, not to be acked)
        when it could not be written: the gateway sends them again, they count as new."""
        if self.backlog is None:
            return True
        try:
            await self.backlog.async_record_batches(gateway, batches)
        except OSError as err:
            _LOGGER.error("Gateway %s backlog not journaled, not acked: %r", gateway, err)
            self._rewind(gateway)
            self.tracker.forget(gateway, [i for _s, items, _a in batches for i in items])
            self.received.reset(gateway, self._written.get(gateway))
            return False
        return True

    async def _async_ack(self, gateway: str, ack: bytes | None) -> None:
        if ack is None or self._stopped:
            return
        try:
            await self._publish(ack_topic(self.base, gateway), ack)
        except HomeAssistantError as err:  # broker gone: unacked rows come again,
            _LOGGER.debug("Gateway %s ack not sent: %s", gateway, err)  # as duplicates

    def _accepts(self, gateway: str, reading: dict[str, Any]) -> bool:
        """Whether ``gateway`` may report this device: its owner, or the first to report an
        unbound one (bound now). Another gateway's reading is ignored and logged (issue 11);
        the batch is still acknowledged, so that gateway does not resend it forever."""
        device = str(reading["device"])
        if not self._bound(device):
            return True  # not a device of this network: history only
        owner = self.owner.setdefault(device, gateway)
        if owner == gateway:
            if device not in self.configured and (gateway, device) not in self._foreign_seen:
                self._foreign_seen.add((gateway, device))
                _LOGGER.info("Gateway device %s bound to gateway %s", device, gateway)
            return True
        self._refuse(gateway, device, "reading")
        return False

    def _bound(self, device: str) -> bool:
        """Whether the device is this network's (an inlet's, the pump's drive, the substation's
        flow meter): bound to one gateway."""
        return device in self.devices or device in (
            self.pump,
            self.substation,
            self.substation_heat,
        )

    def _refuse(self, gateway: str, device: str, what: str) -> None:
        self.foreign += 1
        if (gateway, device) not in self._foreign_seen:
            self._foreign_seen.add((gateway, device))
            _LOGGER.warning(
                "Ignored a %s for %s from gateway %s: the device belongs to gateway %s",
                what,
                device,
                gateway,
                self.owner.get(device),
            )

    def _rewind(self, gateway: str) -> None:
        """Forget a batch's sequences (its rows stay at the gateway, which sends them again)."""
        written = self._written.get(gateway)
        if written is None:
            self.tracker.streams.pop(gateway, None)
        else:
            self.tracker.streams[gateway] = copy_stream(written)

    def _written_dict(self) -> dict[str, Any]:
        """:meth:`as_dict` with the ack positions of written batches only: a Store save that
        lands while a batch's journal write is under way must not count that batch as written,
        or a crash then would make the gateway's resend a duplicate (§6.0.3)."""
        data = self.as_dict()
        data["streams"] = {
            gw: {"stream": st.stream, "contiguous": st.contiguous}
            for gw, st in self._written.items()
        }
        return data

    def _write(self, gateway: str, item: Item) -> None:
        """In-memory history always (original timestamp; the durable backlog is the journal's,
        gateway_history.py); live state only when not older. A batch of another link
        protocol keeps no energy counter: an add-on before protocol 2 sent it in MWh, and read
        as kWh it would be 1000× small — the repair ``gateway_protocol`` says so instead."""
        reading = item.reading
        values = reading["values"]
        protocol = self.tracker.protocols.get(gateway, PROTOCOL)  # of the batch at hand
        if self._bound(reading["device"]) and self.protocols.get(gateway) != protocol:
            self.protocols[gateway] = protocol
            self.revision += 1
        if protocol != PROTOCOL and "energy" in values:
            values = {k: v for k, v in values.items() if k != "energy"}
        self.history.append((reading["ts"], reading["device"], values))
        if item.is_latest:
            self.live[reading["device"]] = Live(gateway, reading["ts"], values)
            # the Store's reading resent (unacked when Home Assistant stopped: same
            # timestamp) is no news of where the valve stands now (§5.3.6-3)
            if reading["ts"] > self._restored_ts.get(reading["device"], -math.inf):
                self.heard.add(reading["device"])

    @callback
    def _on_status(self, msg: Any) -> None:
        """A gateway's retained availability. ``online`` means subscribed (the add-on says
        so on its SUBACK): unanswered commands go to it again now. Anything but ``online``
        and ``offline`` is counted invalid and changes nothing."""
        gateway = msg.topic.split("/")[-2]
        payload = msg.payload if isinstance(msg.payload, str) else bytes(msg.payload).decode()
        state = payload.strip().lower()
        if state not in (ONLINE, OFFLINE):
            self.invalid += 1
            _LOGGER.warning("Gateway %s: unknown status %r", gateway, payload[:40])
            return
        before = self.status.get(gateway)
        self.status[gateway] = state
        if state == OFFLINE:
            if before != OFFLINE:
                _LOGGER.info("Gateway %s is offline: its commands are held", gateway)
            self._watch(gateway)
            return
        self.offline_since.pop(gateway, None)
        if (cancel := self._down_timers.pop(gateway, None)) is not None:
            cancel()
        if gateway in self.down:
            self.down.discard(gateway)
            self._changed()
        self._send_unanswered(gateway)

    def offline(self) -> list[str]:
        """This network's gateways (owning one of its devices) not online for
        :attr:`repair_s`: another network's gateway on the same topic base is not ours to
        name."""
        return sorted(self.down & set(self.owner.values()))

    def held_by(self, key: str) -> str | None:
        """The offline gateway ``key``'s last command waits for (None: sent, or it never
        will be). Held, it is no move: the plant tells the engine once it is confirmed."""
        unanswered = self._unanswered.get(key)
        if unanswered is None or self.holding.get(key) != unanswered[0]:
            return None
        return unanswered[1]

    def awaiting(self, key: str, request_id: str) -> bool:
        """Whether ``request_id``, ``key``'s command, may still be carried out: held for its
        gateway, or sent and not yet answered within its window."""
        return self._unanswered.get(key, ("",))[0] == request_id

    def answer(self, key: str, request_id: str) -> str | None:
        """What became of ``request_id``, ``key``'s command: the gateway's answer (``queued``
        while a LoRaWAN valve has yet to take it), ``pending`` while it may still be carried
        out, ``no_result`` when it was held, sent late and its answer never came (it may
        have moved the valve: the plant assumes it did, flagged, until the valve reports),
        None when it will not be (a newer command replaced it, it was never sent)."""
        if self.last_command.get(key, ("",))[0] != request_id:
            return None
        if (result := self.results.get(request_id)) is not None:
            return str(result.get("status") or "invalid")
        if self.awaiting(key, request_id):
            return PENDING
        return NO_RESULT if request_id in self._was_held else None

    def reported_since_command(self, inlet_id: str) -> bool:
        """Whether the inlet's valve reported after its last command was issued: a
        read-back that can say whether that command moved it."""
        valve = self.inlets.get(inlet_id, (None, None))[1]
        live = self.live.get(valve) if valve is not None else None
        last = self.last_command.get(inlet_id)
        return live is not None and last is not None and live.ts >= last[1]

    def _drop_held(self, key: str) -> None:
        """``key``'s held command will never be sent (its window passed, or a newer command
        replaced it): counted, and no longer sent when the gateway comes back."""
        request_id = self.holding.get(key)
        if request_id is not None and self.awaiting(key, request_id):
            del self._unanswered[key]
            self.held_unsent += 1

    def _watch(self, gateway: str) -> None:
        """Count ``gateway`` as not online from now (unless already), and name it in the
        repair once that has lasted :attr:`repair_s`."""
        if self._stopped or gateway in self._down_timers or self.status.get(gateway) == ONLINE:
            return
        self.offline_since.setdefault(gateway, self.clock())
        repair_s = self.repair_s

        @callback
        def still_down(_now: Any) -> None:
            self._down_timers.pop(gateway, None)
            if not self._stopped and self.status.get(gateway) != ONLINE:
                _LOGGER.warning("Gateway %s not online for %.0f s", gateway, repair_s)
                self.down.add(gateway)
                self._changed()

        self._down_timers[gateway] = async_call_later(self.hass, repair_s, still_down)

    def _changed(self) -> None:
        """What the repairs look at changed: count it, and tell the coordinator now."""
        self.revision += 1
        if self.on_change is not None:
            self.on_change()

    def _send_unanswered(self, gateway: str) -> None:
        """Send every command to ``gateway`` still unanswered (the last of its valve or
        pump, not yet reported ``no_result``) again, same request id: one published while
        the gateway was offline or not yet subscribed never reached it (§4.3.5)."""
        for key, (request_id, gw, topic, payload) in list(self._unanswered.items()):
            if gw != gateway or self._stopped:
                continue
            if self.clock() - self.last_command[key][1] > self.hold_s:
                if self.holding.get(key) == request_id:
                    self._drop_held(key)  # never sent: its cycle took the valve as unmoved
                else:
                    del self._unanswered[key]  # its cycle counts it lost (no_result)
                continue
            if self.holding.get(key) == request_id:  # held: sent now, a move once confirmed
                del self.holding[key]
                self.held_sent += 1
                self._was_held.add(request_id)
            if (cancel := self._asking.pop(request_id, None)) is not None:
                cancel()
            self.hass.async_create_task(
                self._async_ask_again(key, request_id, topic, payload, RESENDS + 1)
            )

    @callback
    def _on_result(self, msg: Any) -> None:
        """Record a command result by request id."""
        try:
            result = json.loads(msg.payload)
            request_id = str(result["request_id"])
        except (ValueError, TypeError, KeyError) as err:
            self.invalid += 1
            _LOGGER.warning("Unreadable command result on %s: %r", msg.topic, err)
            return
        gateway = msg.topic.split("/")[-3]
        sent_to = self._sent_to.get(request_id)
        if sent_to is not None and sent_to != gateway:
            self._refuse(gateway, str(result.get("device")), "command result")
            return
        if result.get("status") == QUEUED and request_id in self.results:
            return  # an interim answer never replaces the final one
        self.results[request_id] = result
        if result.get("status") != QUEUED and request_id in self._was_held:
            self._was_held.discard(request_id)
            self.held_confirmed += result.get("status") == "confirmed"
        for key, unanswered in list(self._unanswered.items()):
            if unanswered[0] == request_id:
                del self._unanswered[key]
        waiter = self._waiters.pop(request_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(result)

    @callback
    def _on_stats(self, msg: Any) -> None:
        """Keep a gateway's statistics (§6.0.6 first-try rates, outbox backlog)."""
        if (stats := self._json_object(msg, "gateway statistics")) is None:
            return
        gateway = msg.topic.split("/")[-2]
        devices = stats.get("devices")
        if isinstance(devices, dict):
            for device in [d for d in devices if self.owner.get(d, gateway) != gateway]:
                self._refuse(gateway, device, "statistics")
                del devices[device]
        self.stats[gateway] = stats

    @callback
    def _on_info(self, msg: Any) -> None:
        """Keep what a gateway says it is (its birth message, retained)."""
        if (info := self._json_object(msg, "gateway info")) is None:
            return
        gateway = msg.topic.split("/")[-2]
        if self.info.get(gateway) != info:
            self.info[gateway] = info
            self.revision += 1

    def _json_object(self, msg: Any, what: str) -> dict[str, Any] | None:
        """A message's JSON object; None (counted invalid, logged) for anything else."""
        try:
            value = json.loads(msg.payload)
            if not isinstance(value, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError) as err:
            self.invalid += 1
            _LOGGER.warning("Unreadable %s on %s: %r", what, msg.topic, err)
            return None
        return value

    def device_points(self, device: str) -> frozenset[str] | None:
        """The point keys the device's gateway (its owner, else any that lists it) says the
        device has; None when no gateway has said (an add-on before protocol 2, LoRaWAN)."""
        owner = self.owner.get(device)
        for gateway, info in self.info.items():
            devices = info.get("devices")
            if owner not in (None, gateway) or not isinstance(devices, dict):
                continue
            points = devices.get(device)
            if isinstance(points, list):
                return frozenset(str(p) for p in points)
        return None

    def points(self) -> dict[str, frozenset[str]]:
        """:meth:`device_points` of every inlet device (and substation meter) a gateway has
        described."""
        station = [name for name in (self.substation, self.substation_heat) if name]
        known = {name: self.device_points(name) for name in (*self.devices, *station)}
        return {name: points for name, points in known.items() if points is not None}

    def incompatible(self) -> dict[str, tuple[int, str | None]]:
        """Gateways whose batches brought this network's readings in another link protocol
        than this integration's: gateway → (its protocol, its add-on version if it said)."""
        out: dict[str, tuple[int, str | None]] = {}
        for gateway, protocol in self.protocols.items():
            if protocol != PROTOCOL:
                version = self.info.get(gateway, {}).get("version")
                out[gateway] = (protocol, None if version is None else str(version))
        return out

    def link_rate(self, inlet_id: str) -> tuple[float, int] | None:
        """The gateway's first-try success rate of the inlet's devices (§6.0.6): the worst
        device's rate in % and the smallest number of requests behind it; None when the
        gateway has reported none (then the integration counts what arrived)."""
        rates = []
        wanted = {d for d, (iid, _kind) in self.devices.items() if iid == inlet_id}
        for stats in self.stats.values():  # device names are unique across gateways
            devices = stats.get("devices")
            if not isinstance(devices, dict):
                continue
            for device in wanted & devices.keys():
                figures = devices[device]
                if not isinstance(figures, dict):
                    continue
                rate, requests = (
                    usable(figures.get("first_try_rate")),
                    usable(figures.get("requests")),
                )
                if rate is not None and requests is not None:
                    rates.append((rate, int(requests)))
        if not rates:
            return None
        return min(r for r, _ in rates), min(n for _, n in rates)

    def outbox(self) -> dict[str, dict[str, Any]]:
        """Each gateway's outbox figures (rows, oldest_age_s, dropped) as last reported."""
        return {
            gw: box
            for gw, stats in self.stats.items()
            if isinstance(box := stats.get("outbox"), dict)
        }

    async def _publish(self, topic: str, payload: bytes | str) -> None:
        from homeassistant.components import mqtt

        await mqtt.async_publish(self.hass, topic, payload, 1, False)

    def reading(self, inlet_id: str, stale_s: float, answer_s: float | None = None) -> Reading:
        """The inlet's acquisition: meter flow/temperatures, valve feedback (§6.0.6), and the
        answer to the last valve command (expected within ``answer_s``, default ``stale_s``)."""
        meter_name, valve_name = self.inlets.get(inlet_id, (None, None))
        meter, valve = self._fresh(meter_name, stale_s), self._fresh(valve_name, stale_s)
        answer = self.command_status(inlet_id, stale_s if answer_s is None else answer_s)
        reading = Reading(command_status=answer, link_rate=self.link_rate(inlet_id))
        has_meter, has_valve = meter_name in self.live, valve_name in self.live
        counts_heat = has_meter and self._has_point(meter_name, "energy")
        # Signals some device of this inlet provides: flow, two temperatures, feedback, and
        # the heat meter's energy counter when it has one (§6.0.6 counts each signal)
        reading.attempted = has_meter + 2 * (has_meter or has_valve) + has_valve + counts_heat
        if has_meter:
            reading.flow_m3h = _value(meter, "flow")
            reading.heat_kwh = _value(meter, "energy")  # kWh: the add-on converts (§4.1.2)
        if has_valve:
            feedback = _value(valve, "position_feedback")
            reading.opening = None if feedback is None else feedback / 100.0
            self._note_read(valve_name)
            if valve_name is not None and feedback is not None:
                self.read_position[valve_name] = feedback
        for attr, key in METER_SIGNALS.items():
            setattr(reading, attr, _value(meter, key) if key in meter else _value(valve, key))
        signals = (reading.flow_m3h, reading.supply_c, reading.return_c, reading.opening)
        reading.received = sum(v is not None for v in signals)
        reading.received += counts_heat and reading.heat_kwh is not None
        if answer == PENDING and self._feedback_predates_command(inlet_id, valve_name):
            reading.opening = None  # says nothing of the command yet: the engine assumes it
        if reading.opening is None and self._has_point(valve_name, "position_feedback"):
            # the engine steps from where it assumes the valve is, which a valve that reports
            # its position has not confirmed in this run: no step from there (§5.3.6-3; a
            # hand-turned valve went 0.8 → 0.565 against a 20 % limit after a reload)
            self.read_heard.discard(valve_name)
        self._sensor_readings(inlet_id, reading, stale_s)
        if has_valve:
            reading.fault_code = _value(valve, "fault_code")
        return reading

    def position(self, inlet_id: str, stale_s: float) -> float | None:
        """The inlet's valve position as last reported (0…1; None: none fresh, or older
        than the command still awaiting its answer), read without taking it as this
        cycle's acquisition (:meth:`reading` does that)."""
        valve = self.inlets.get(inlet_id, (None, None))[1]
        feedback = _value(self._fresh(valve, stale_s), "position_feedback")
        if feedback is None or self._feedback_predates_command(inlet_id, valve):
            return None
        return feedback / 100.0

    def _has_point(self, device: str | None, key: str) -> bool:
        """Whether the device delivers point ``key`` (a meter's ``energy``, a valve's
        ``position_feedback``): its gateway's point list says so, or (none published) its
        readings carry one — a stale reading counts as a lost one."""
        if device is None:
            return False
        points = self.device_points(device)
        if points is None:
            live = self.live.get(device)
            points = frozenset(live.values) if live is not None else frozenset()
        return key in points

    def _note_read(self, device: str | None) -> None:
        """Remember whether ``device``'s position, read now, was reported in this run."""
        if device in self.heard:
            self.read_heard.add(device)
        elif device is not None:
            self.read_heard.discard(device)

    def _feedback_predates_command(self, inlet_id: str, valve: str | None) -> bool:
        """True when the valve's last report is older than the command still awaiting its
        answer (a LoRaWAN valve reports every 15 min or so): not yet a read-back of it."""
        live = self.live.get(valve) if valve is not None else None
        last = self.last_command.get(inlet_id)
        if last is None or self.holding.get(inlet_id) == last[0]:
            return False  # held, never sent: the valve stands where it reports
        return live is not None and live.ts < last[1]

    def _sensor_readings(self, inlet_id: str, reading: Reading, stale_s: float) -> None:
        """Pressure transmitters (measured ΔP = supply − return, kPa), room sensors (their
        mean, §8.2.4-4), and the lowest battery of any battery device (§4.3.11-6)."""
        fresh = {
            name: (kind, self._fresh(name, stale_s))
            for kind, name in self.sensors.get(inlet_id, ())
            if name in self.live
        }
        reading.attempted += len(fresh)
        reading.received += sum(bool(values) for _kind, values in fresh.values())
        rooms = [
            t
            for kind, values in fresh.values()
            if kind == "room" and (t := _value(values, "temperature")) is not None
        ]
        if rooms:
            reading.room_c = sum(rooms) / len(rooms)
        pressure = {kind: _value(values, "pressure") for kind, values in fresh.values()}
        if "supply_pressure" in pressure and "return_pressure" in pressure:
            supply, ret = pressure["supply_pressure"], pressure["return_pressure"]
            reading.dp_available_kpa = None if supply is None or ret is None else supply - ret
            reading.measured = (*reading.measured, "dp_available_kpa")
        valve = self.inlets.get(inlet_id, (None, None))[1]
        batteries = [
            b
            for values in [*(v for _k, v in fresh.values()), self._fresh(valve, stale_s)]
            if (b := _value(values, "battery")) is not None
        ]
        if batteries:
            reading.battery_pct = min(batteries)

    def command_status(self, inlet_id: str, answer_s: float) -> str | None:
        """The gateway's answer to the inlet's last valve command (None: none sent).

        ``confirmed`` when the read-back matched; the gateway's status otherwise
        (``not_confirmed``, ``refused``, ``failed``, ``rejected``, ``invalid``, ``interrupted``);
        ``held`` while never sent (its gateway offline; after ``answer_s`` it never will be);
        ``pending`` while younger than ``answer_s``, ``no_result`` after that.
        """
        last = self.last_command.get(inlet_id)
        if last is None:
            return None
        request_id, sent_at = last
        if self.holding.get(inlet_id) == request_id:
            if self.clock() - sent_at > answer_s:
                self._drop_held(inlet_id)  # its cycle is over: a late move would surprise it
            return HELD
        result = self.results.get(request_id)
        if result is not None and result.get("status") == QUEUED:
            return PENDING  # a LoRaWAN valve takes it at its next uplink; the gateway times it
        if result is not None:
            return str(result.get("status") or "invalid")
        if self.clock() - sent_at <= answer_s:
            return PENDING
        # reported lost: never sent again, or a valve the engine took as unmoved moved late
        if self._unanswered.get(inlet_id, ("",))[0] == request_id:
            del self._unanswered[inlet_id]
        return NO_RESULT

    async def async_result(self, request_id: str, timeout_s: float) -> dict[str, Any] | None:
        """Wait for a command's result (None when none came within ``timeout_s``)."""
        if request_id in self.results:
            return self.results[request_id]
        waiter = self._waiters.setdefault(request_id, self.hass.loop.create_future())
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(waiter)
        except TimeoutError:
            return None
        finally:
            if waiter.done() or request_id in self.results:
                self._waiters.pop(request_id, None)

    def _fresh(self, device: str | None, stale_s: float) -> dict[str, Any]:
        if device is None:
            return {}
        live = self.live.get(device)
        if live is None or live.ts < self.clock() - stale_s:
            return {}
        return live.values

    async def async_set_opening(self, inlet_id: str, opening: float) -> str | None:
        """Command the inlet's valve (0…1); the request id, or None when it cannot be sent.

        The controller already kept ``opening`` within the inlet's safety limits; anything
        outside 0…1 or not finite is refused here too, so no command leaves out of range.
        Nor does one leave before the valve has reported in this run: the controller limits
        the step from the position it knows, and until then that is the Store's, from before
        Home Assistant stopped (§5.3.6-3: a valve turned by hand meanwhile moved 24 % against
        a 20 % limit on the first cycle after a restart). Not sent, it is not assumed moved.
        """
        if not isinstance(opening, int | float) or not 0.0 <= opening <= 1.0:
            _LOGGER.warning("Refused opening %r for %s: outside 0…1", opening, inlet_id)
            return None
        valve = self.inlets.get(inlet_id, (None, None))[1]
        if valve is None:
            _LOGGER.warning("Cannot move %s: it names no gateway valve", inlet_id)
            return None
        gateway = self.owner.get(valve)
        if gateway is None or valve not in self.read_heard:
            _LOGGER.info(
                "Not moving %s yet: its valve %s has not reported since start", inlet_id, valve
            )
            return None
        # the gateway reads the valve just before writing and refuses if it no longer stands
        # where this step was computed from (turned by hand since the poll; §5.3.6-3)
        expect = (
            self.read_position.get(valve) if self._has_point(valve, "position_feedback") else None
        )
        return await self._async_command(
            inlet_id, gateway, valve, "position_setpoint", opening, expect
        )

    def device_flow(self, device: str, stale_s: float) -> float | None:
        """A meter device's flow in m³/h (the substation's meter); None when stale."""
        return _value(self._fresh(device, stale_s), "flow")

    def device_power_kw(self, device: str, stale_s: float) -> float | None:
        """A heat meter device's thermal power in kW (the substation's heat meter: its
        ``power`` point); None when stale or it has none."""
        return _value(self._fresh(device, stale_s), "power")

    def pump_speed(self, device: str, stale_s: float) -> float | None:
        """A pump drive's (``vfd`` profile) speed as a share of rated speed: its speed
        feedback in %, else its output frequency (Hz of a 50 Hz drive); None when stale."""
        values = self._fresh(device, stale_s)
        self._note_read(device)
        percent = _value(values, "speed_feedback")
        if percent is not None:
            return percent / 100.0
        hertz = _value(values, "frequency")
        return None if hertz is None else hertz / RATED_HZ

    async def async_set_pump_speed(self, device: str, speed: float) -> str | None:
        """Command the pump's drive (0…1 of rated speed) through the gateway that owns it
        (configured, else the first that reported it); the request id, or None when it
        cannot be sent (out of range, not this source's drive, no owner yet)."""
        if not isinstance(speed, int | float) or not 0.0 <= speed <= 1.0:
            _LOGGER.warning("Refused pump speed %r for %s: outside 0…1", speed, device)
            return None
        if device != self.pump:
            _LOGGER.warning("Refused pump speed for %s: not this network's drive", device)
            return None
        gateway = self.owner.get(device)
        if gateway is None or device not in self.read_heard:  # speed unknown: as a valve's
            _LOGGER.info("Not commanding the pump yet: its drive %s has not reported", device)
            return None
        return await self._async_command(
            self.pump_key(device), gateway, device, "speed_setpoint", speed
        )

    @staticmethod
    def pump_key(device: str) -> str:
        """The key the pump drive's commands are kept under, beside the inlets' ids
        (:meth:`held_by`, :meth:`answer`)."""
        return f"pump:{device}"

    async def _async_command(
        self,
        key: str,
        gateway: str,
        device: str,
        point: str,
        share: float,
        expect: float | None = None,
    ) -> str:
        """Publish one set-point command (``share`` of the point's 0…100 %) to ``gateway``;
        its answer is awaited under ``key`` (an inlet id, or the pump). ``expect``: where the
        valve was read for this step (%), checked by the gateway at write time."""
        request_id = f"hb-{uuid.uuid4().hex[:16]}"
        command: dict[str, Any] = {
            "request_id": request_id,
            "device": device,
            "point": point,
            "value": round(share * 100.0, 1),
        }
        if expect is not None:
            command["expect"] = round(expect, 2)
        self._sent_to[request_id] = gateway  # only the owner's answer counts (issue 11)
        topic, payload = command_topic(self.base, gateway), json.dumps(command)
        self._drop_held(key)  # replaced: the valve's last command is the one that counts
        self.holding.pop(key, None)
        if self.status.get(gateway) == OFFLINE:  # sent when it is online (_on_status)
            _LOGGER.info("Gateway %s offline: command %s held", gateway, request_id)
            self.held += 1
            self.holding[key] = request_id
        else:
            await self._publish(topic, payload)
        self.last_command[key] = (request_id, self.clock())
        self._unanswered[key] = (request_id, gateway, topic, payload)
        if key in self.holding:
            self._save_soon()  # a restart while the gateway is away still sends it
        self._ask_again(key, request_id, topic, payload, RESENDS)
        return request_id

    def _ask_again(self, key: str, request_id: str, topic: str, payload: str, left: int) -> None:
        """In ``RESEND_S``, publish the command again if it is still ``key``'s last command
        and unanswered (``left`` more times). Without it a lost command or result stayed lost
        until the next cycle's ``no_result`` alarm (and the valve unmoved for a cycle)."""
        if left <= 0 or self._stopped:
            return

        @callback
        def again(_now: Any) -> None:
            self._asking.pop(request_id, None)
            last = self.last_command.get(key)
            if self._stopped or request_id in self.results or last is None:
                return
            if self.status.get(self._sent_to.get(request_id, "")) == OFFLINE:
                return  # asked again when the gateway is online (_send_unanswered)
            if last[0] == request_id:
                self.hass.async_create_task(
                    self._async_ask_again(key, request_id, topic, payload, left)
                )

        self._asking[request_id] = async_call_later(self.hass, RESEND_S, again)

    async def _async_ask_again(
        self, key: str, request_id: str, topic: str, payload: str, left: int
    ) -> None:
        _LOGGER.info("No answer yet to %s (%s): asking the gateway again", request_id, key)
        try:
            await self._publish(topic, payload)
        except HomeAssistantError as err:  # the broker is gone: asked again later
            _LOGGER.debug("Command %s not sent again: %s", request_id, err)
        self._ask_again(key, request_id, topic, payload, left - 1)


class GatewayHost(Protocol):
    """What a gateway source serves (the coordinator's ``Plant``): its inlets' mapping, and
    the place it is kept. A protocol, so this module and ``plant`` do not import each other."""

    inlets: dict[str, InletConfig]
    gateway: GatewaySource | None

    @property
    def pump_gateway_device(self) -> str | None:
        """The substation pump's drive on the gateway (None: not on the gateway)."""

    @property
    def pump_gateway_id(self) -> str | None:
        """The gateway configured to own that drive (None: the first that reports it)."""

    @property
    def substation_gateway_device(self) -> str | None:
        """The substation's flow meter on the gateway (None: not on the gateway)."""

    @property
    def substation_heat_gateway_device(self) -> str | None:
        """The substation's heat meter on the gateway (None: not on the gateway)."""

    @property
    def cycle_s(self) -> float:
        """The control cycle (s): a command's answer is expected within half of it."""


async def async_attach(
    hass: HomeAssistant, plant: GatewayHost, base: str = DEFAULT_BASE, key: str | None = None
) -> GatewaySource | None:
    """Start the source for the plant's gateway inlets (None when it has none).

    The coordinator calls this in its setup with the entry's topic base and id (its own Store
    and journal) and ``stop()`` on unload; the plant then reads and moves its
    ``source: gateway`` inlets through it.
    """
    gateway_inlets = {iid: cfg for iid, cfg in plant.inlets.items() if cfg.source == SOURCE_GATEWAY}
    station = (plant.substation_gateway_device, plant.substation_heat_gateway_device)
    if not (gateway_inlets or plant.pump_gateway_device or any(station)):
        return None
    devices = {iid: (cfg.gateway_meter, cfg.gateway_valve) for iid, cfg in gateway_inlets.items()}
    owners = {iid: cfg.gateway_id for iid, cfg in gateway_inlets.items()}
    sensors = {iid: sensor_devices(cfg) for iid, cfg in gateway_inlets.items()}
    drive = plant.pump_gateway_device
    source = GatewaySource(
        hass,
        devices,
        base or DEFAULT_BASE,
        owners=owners,
        key=key,
        sensors=sensors,
        pump=(drive, plant.pump_gateway_id) if drive else None,
        substation=station[0],
        substation_heat=station[1],
        cycle=lambda: plant.cycle_s,  # as configured now: the options apply in place
    )
    await source.async_start()
    plant.gateway = source
    return source


def _once_subscribed(
    hass: HomeAssistant, topic: str, unsubscribe: Callable[[], None]
) -> Callable[[], None]:
    """``unsubscribe``, held back until Home Assistant's MQTT client has subscribed ``topic``.

    Home Assistant 2026.10's client (MQTT 5, subscription identifiers) takes every queued
    wildcard topic at once, sends them one after the other and, after each SUBACK, looks up
    the next one's subscription id. An unsubscribe in that window — an entry reload — let the
    client release the id, and the lookup raised ``KeyError: 'heatbalance/gw/+/info'`` (4 of
    14 bench_product gateway runs), which ended the run: topics queued behind, also other
    integrations', stayed unsubscribed until the next reconnect. One topic per entry leaves no
    topic of the entry behind its own first; waiting for the SUBACK covers a topic of anyone
    else sent ahead of ours. HA 2025.4 looks up no ids (and has no such hook): at once there.
    """
    from homeassistant.components import mqtt

    on_done = getattr(mqtt, "async_on_subscribe_done", None)
    if on_done is None:
        return unsubscribe
    state = {"subscribed": False, "unsubscribe": False}
    stop_status: list[Callable[[], None]] = []

    def subscribed() -> None:
        if state["subscribed"]:
            return
        state["subscribed"] = True
        stop_watching()
        while stop_status:
            stop_status.pop()()
        if state["unsubscribe"]:
            unsubscribe()

    stop_watching = on_done(hass, topic, 1, subscribed)

    @callback
    def on_status(connected: bool) -> None:
        if not connected:  # its subscribe run ended with the connection
            subscribed()

    def release() -> None:
        if state["subscribed"]:
            unsubscribe()
            return
        state["unsubscribe"] = True
        # No subscribe run goes on without a connection: nothing to wait for then. Waiting,
        # the watcher stayed as long as Home Assistant ran when the connection never came
        # back (the MQTT entry unloaded), and the subscription went into the ones the MQTT
        # entry restores when set up again, still calling this stopped source.
        try:
            connected = mqtt.is_connected(hass)
        except KeyError:  # the MQTT entry is gone
            connected = False
        if not connected:
            subscribed()
        elif not stop_status:
            stop_status.append(mqtt.async_subscribe_connection_status(hass, on_status))

    return release


def _not_restored(hass: HomeAssistant, handler: Callable[[Any], None]) -> None:
    """Take ``handler``'s subscriptions out of those the MQTT entry restores.

    An unloading MQTT entry copies the subscriptions still held into the set it restores when
    set up again; an unsubscribe after that (the network unloads while the MQTT entry is
    down) removed them from the old client only, and the restored client called the stopped
    source beside the next one's subscription (checked on HA 2025.4 and 2026.10). The set is
    the MQTT entry's own data, read defensively: missing, it is left alone."""
    from homeassistant.components import mqtt

    data = hass.data.get(mqtt.DATA_MQTT)
    restore = getattr(data, "subscriptions_to_restore", None)
    if data is None or not isinstance(restore, set):
        return
    kept = {sub for sub in restore if getattr(sub.job, "target", None) != handler}
    if len(kept) != len(restore):
        data.subscriptions_to_restore = kept


def sensor_devices(cfg: InletConfig) -> list[tuple[str, str]]:
    """A gateway inlet's pressure transmitters and room sensors as (kind, device name)."""
    kinds = {
        CONF_GATEWAY_SUPPLY_PRESSURE: "supply_pressure",
        CONF_GATEWAY_RETURN_PRESSURE: "return_pressure",
    }
    pairs = [(kinds[k], name) for k, name in cfg.gateway_sensors.items() if k in kinds]
    return pairs + [("room", name) for name in cfg.rooms]
