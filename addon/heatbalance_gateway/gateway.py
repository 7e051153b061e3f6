"""The gateway process: bus workers -> outbox -> forwarder -> MQTT, and commands back.

Wiring only; each concern lives in its own module (bus_worker, outbox, forwarder, mqtt_link,
discovery, commands, stats). Readings are collected from all workers and committed to the
outbox once per flush period (one transaction per poll cycle), before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import __version__
from .bus_worker import BusWorker, Command, Reading
from .commands import (
    CommandError,
    ParsedCommand,
    parse_request,
    parse_set,
    resolve_value,
    result_payload,
)
from .config import GatewayConfig
from .discovery import device_configs, gateway_configs, room_sensor_configs
from .forwarder import Forwarder
from .lorawan import QUEUED, LoraWanLink
from .mbus import BUS_TYPES as MBUS_TYPES
from .mbus import MBusLine, MBusWorker
from .mqtt_link import BrokerLink, Uplink
from .outbox import Outbox
from .topics import PROTOCOL, Topics
from .transport import PymodbusTransport, SimulatedTransport, Transport
from .zigbee import run_zigbee

_LOGGER = logging.getLogger(__name__)
FLUSH_S = 0.2
RESTART_DELAY_S = 1.0


class Gateway:
    """Runs everything until :meth:`stop`."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        raw = config.raw
        mqtt = raw["mqtt"]
        self.topics = Topics(mqtt["base_topic"], config.gateway_id, mqtt["discovery_prefix"])
        # Home Assistant's birth message: it (re)started, and what was sent meanwhile is lost
        self.birth = (
            mqtt.get("birth_topic") or f"{self.topics.discovery_prefix}/status",
            mqtt.get("birth_payload", "online").encode(),
        )
        box = raw["outbox"]
        self.outbox = Outbox(
            config.outbox_path, max_rows=box["max_rows"], ttl_s=box["ttl_days"] * 86400.0
        )
        self._pending: list[tuple[float, str, dict[str, float | None]]] = []
        self._availability: dict[str, bool] = {}
        self._inflight: set[str] = set()
        self._state: dict[str, dict[str, float | None]] = {}
        self._stop = asyncio.Event()
        self.workers: dict[str, BusWorker] = {}
        self.device_bus: dict[str, BusWorker] = {}
        self.device_cfg: dict[str, dict[str, Any]] = {}
        self.uplink: Uplink | None = None
        self.lora: LoraWanLink | None = None  # the network server's link (LoRaWAN devices)
        self.forwarder: Forwarder | None = None
        self.restarts: dict[str, int] = {}  # worker name → times restarted after dying
        self._closed = False
        self._drops = 0  # outbox drops in the last report period (the clearing drop alarm)

    # ---- construction -------------------------------------------------------------------
    def _transport(self, bus: dict[str, Any]) -> Transport:
        if bus["type"] == "simulated":
            return SimulatedTransport()
        return PymodbusTransport.from_bus(bus)

    def _build_workers(self) -> None:
        for bus in self.config.raw["buses"]:
            worker: BusWorker
            if bus["type"] in MBUS_TYPES:
                worker = MBusWorker(
                    bus,
                    self.config.mbus_profiles,
                    MBusLine.from_bus(bus),
                    on_reading=self._on_reading,
                    on_availability=self._on_availability,
                )
            else:
                worker = BusWorker(
                    bus,
                    self.config.profiles,
                    self._transport(bus),
                    self._on_reading,
                    self._on_availability,
                )
            self.workers[bus["name"]] = worker
            for device in bus["devices"]:
                self.device_bus[device["name"]] = worker
                self.device_cfg[device["name"]] = device
                self._availability[device["name"]] = True

    def _build_uplink(self, loop: asyncio.AbstractEventLoop) -> Uplink:
        mqtt = self.config.raw["mqtt"]
        will = (self.topics.status, "offline")

        def link(name: str, broker: dict[str, Any]) -> BrokerLink:
            return BrokerLink(
                name,
                broker,
                f"heatbalance-{self.config.gateway_id}-{name}",
                will,
                loop,
                self._on_connect,
                self._on_message,
                self._on_disconnect,
            )

        backup = link("backup", mqtt["backup"]) if "backup" in mqtt else None
        return Uplink(link("main", mqtt["main"]), backup, mqtt["failover_after"])

    # ---- callbacks from workers ---------------------------------------------------------
    def _on_reading(self, reading: Reading) -> None:
        self._pending.append((reading.ts, reading.device, reading.values))

    def _on_availability(self, device: str, available: bool) -> None:
        self._availability[device] = available
        if self.uplink and (link := self.uplink.active()):
            link.publish(
                self.topics.device_availability(device),
                "online" if available else "offline",
                retain=True,
            )

    # ---- callbacks from MQTT (on the asyncio loop) -------------------------------------
    def _on_connect(self, link: BrokerLink) -> None:
        link.publish(self.topics.info, json.dumps(self.info()), retain=True)
        # "online" only once the broker confirmed the subscriptions: a command sent on
        # seeing "online" earlier was lost (clean session, commands are never retained)
        link.subscribe(
            [
                self.topics.command,
                self.topics.ack,
                self.topics.set_wildcard,
                self.birth[0],
            ],
            lambda: link.publish(self.topics.status, "online", retain=True),
        )
        self._publish_discovery(link)
        if self.forwarder:
            self.forwarder.go_back(f"{link.name} connected")

    def _consumer_online(self, link: BrokerLink, retained: bool) -> None:
        """Home Assistant announced itself (its birth message): publish discovery, status,
        info, statistics and every device's state again, and resend what it has not
        acknowledged at once. Batches sent while it was away reached nobody (it subscribes
        with a clean session); without this they came again only after the ack timeout,
        up to 8 × ``ack_timeout`` once the backoff had grown during the outage (issue 10).
        A retained birth message arrives with every connect, which resends anyway, maybe
        before the SUBACK: then no "online" yet (it means subscribed)."""
        self._publish_discovery(link)
        if retained:
            return
        link.publish(self.topics.status, "online", retain=True)
        link.publish(self.topics.info, json.dumps(self.info()), retain=True)
        link.publish(self.topics.stats, json.dumps(self.statistics()), retain=True)
        for device, state in self._state.items():
            link.publish(self.topics.device_state(device), json.dumps(state), retain=True)
        if self.forwarder:
            self.forwarder.consumer_online()

    def _on_disconnect(self, _link: BrokerLink) -> None:
        if self.forwarder:
            self.forwarder.wake.set()

    def _on_message(self, link: BrokerLink, topic: str, payload: bytes, retain: bool) -> None:
        if self._closed:
            return  # a message the MQTT thread handed over while the gateway shut down
        if retain and topic != self.birth[0]:
            # a retained command would run again on every reconnect (issue 11)
            _LOGGER.warning("ignored retained message on %s (commands are never retained)", topic)
            return
        try:
            if topic == self.topics.ack:
                if self.forwarder:
                    self.forwarder.on_ack(payload)
            elif topic == self.birth[0]:
                if payload.strip().lower() == self.birth[1].strip().lower():
                    self._consumer_online(link, retain)
            elif topic == self.topics.command:
                self._command(parse_request(payload))
            elif topic.startswith(self.topics.root + "/dev/") and topic.endswith("/set"):
                tail = topic[len(self.topics.root) + 1 :].split("/")
                if len(tail) == 4:
                    self._command(parse_set(tail, payload))
        except CommandError as err:
            _LOGGER.warning("refused command on %s: %s", topic, err)
            self._publish_result(
                {"request_id": err.request_id, "status": "invalid", "error": str(err)}
            )
        except Exception:  # one bad message must never stop the gateway
            _LOGGER.exception("error handling message on %s", topic)

    # ---- commands ------------------------------------------------------------------------
    def _command(self, parsed: ParsedCommand) -> None:
        rid = parsed.request_id
        if rid is not None:
            seen, stored = self.outbox.command_seen(rid)
            if seen:
                if rid in self._inflight:
                    return  # the result of the first copy will be published
                result: dict[str, Any] = (
                    dict(stored) if stored else {"request_id": rid, "status": "interrupted"}
                )
                result["duplicate"] = True
                self._publish_result(result)
                return
        target: BusWorker | LoraWanLink
        worker = self.device_bus.get(parsed.device)
        if worker is not None:
            try:
                value = resolve_value(parsed, worker.devices[parsed.device].profile)
            except KeyError as err:
                raise CommandError(f"unknown point {parsed.point!r}", rid) from err
            target = worker
        elif self.lora is not None and self.lora.owns(parsed.device):
            if isinstance(parsed.value, str):
                raise CommandError("a LoRaWAN setpoint takes a number", rid)
            value, target = float(parsed.value), self.lora
        else:
            raise CommandError(f"unknown device {parsed.device!r}", rid)
        if rid is not None:
            self.outbox.command_start(rid)
            self._inflight.add(rid)
        future = target.submit(Command(parsed.device, parsed.point, value, rid, parsed.expect))
        future.add_done_callback(lambda f: self._command_done(rid, f))
        if target is self.lora and rid is not None and not future.done():
            # A class A device takes its downlink at its next uplink, often many minutes
            # away: say it is queued so the integration waits instead of reporting no answer.
            queued = {"request_id": rid, "device": parsed.device, "point": parsed.point}
            self._publish_result({**queued, "value": value, "status": QUEUED})

    def _command_done(self, rid: str | None, future: asyncio.Future[dict[str, Any]]) -> None:
        result = future.result()
        if rid is not None:
            self.outbox.command_done(rid, result)
            self._inflight.discard(rid)
            self._publish_result(result)
        elif result.get("status") != "confirmed":
            # an HA set topic carries no request id; its refusal is still reported (issue 11)
            _LOGGER.warning("set %s.%s: %s", result.get("device"), result.get("point"), result)
            self._publish_result(result)

    def _publish_result(self, result: dict[str, Any]) -> None:
        if self.uplink and (link := self.uplink.active()):
            link.publish(self.topics.command_result, result_payload(result))

    # ---- publishing ----------------------------------------------------------------------
    def _publish_discovery(self, link: BrokerLink) -> None:
        for worker in self.workers.values():
            for device, state in worker.devices.items():
                title = self.device_cfg[device].get("title")
                for topic, config in device_configs(self.topics, device, state.profile, title):
                    link.publish(topic, json.dumps(config), retain=True)
                link.publish(
                    self.topics.device_availability(device),
                    "online" if self._availability[device] else "offline",
                    retain=True,
                )
        for topic, config in gateway_configs(self.topics, list(self.workers)):
            link.publish(topic, json.dumps(config), retain=True)
        for device in self._state:
            if device not in self.device_bus:
                self._publish_room_sensor(link, device)

    def _publish_room_sensor(self, link: BrokerLink, device: str) -> None:
        """Discovery of a Zigbee room sensor, first seen when it reports."""
        for topic, config in room_sensor_configs(self.topics, device):
            link.publish(topic, json.dumps(config), retain=True)

    def _flush(self) -> None:
        """Commit this cycle's readings, then publish their live state."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            self.outbox.append(batch)
        except Exception:  # the outbox falls back to memory; this is a bug, still go on
            _LOGGER.exception("outbox append failed; %d readings only published live", len(batch))
        if self.forwarder:
            self.forwarder.wake.set()
        if self.uplink and (link := self.uplink.active()):
            latest: dict[str, tuple[float, dict[str, float | None]]] = {}
            for ts, device, values in batch:
                latest[device] = (ts, values)
            for device, (ts, values) in latest.items():
                if device not in self._state and device not in self.device_bus:
                    self._publish_room_sensor(link, device)
                state = self._state.setdefault(device, {})
                state.update(values)
                state["ts"] = ts
                link.publish(self.topics.device_state(device), json.dumps(state), retain=True)

    def info(self) -> dict[str, Any]:
        """The birth message (``…/info``, retained): the link protocol, this add-on's
        version, the unit of every energy counter, and each polled device's point keys —
        a heat meter without an ``energy`` point delivers no heat (issue 10)."""
        return {
            "protocol": PROTOCOL,
            "version": __version__,
            "energy_unit": "kWh",
            "devices": {
                name: sorted(point.key for point in state.profile.points)
                for worker in self.workers.values()
                for name, state in worker.devices.items()
            },
        }

    def statistics(self) -> dict[str, Any]:
        """Statistics JSON (§6.0.6, §5.3.7-1)."""
        fwd = self.forwarder
        return {
            "ts": time.time(),
            "link": None if not self.uplink or not (a := self.uplink.active()) else a.name,
            "link_switches": 0 if not self.uplink else self.uplink.switches,
            "buses": {name: w.stats.snapshot() for name, w in self.workers.items()},
            "devices": {
                name: {
                    **s.stats.snapshot(),
                    "available": s.breaker.available,
                    "invalid": dict(s.invalid),
                    "alarm": s.stats.alarm or not s.breaker.available or bool(s.invalid),
                }
                for w in self.workers.values()
                for name, s in w.devices.items()
            },
            "restarts": dict(self.restarts),
            "outbox": {
                **self.outbox.backlog(),
                # clears once a report period passes without drops and the storage is back
                "alarm": bool(
                    self._drops
                    or self.outbox.drops_since_report
                    or self.outbox.storage_error
                    or self.outbox.recreated
                ),
                "dropped_recently": self._drops + self.outbox.drops_since_report,
                "resends": 0 if fwd is None else fwd.go_backs,
                "sent_readings": 0 if fwd is None else fwd.sent_readings,
                "rollbacks": 0 if fwd is None else fwd.rollbacks,
            },
        }

    # ---- main loop -----------------------------------------------------------------------
    def stop(self) -> None:
        """Request a clean shutdown."""
        self._stop.set()

    async def run(self) -> None:
        """Start links and workers; flush, forward and report until stopped."""
        loop = asyncio.get_running_loop()
        self._build_workers()
        self.uplink = self._build_uplink(loop)
        self.forwarder = Forwarder(self.outbox, self.topics, self.uplink, self.config.raw["outbox"])
        for link in self.uplink.links:
            link.start()
        tasks = [
            asyncio.create_task(self._supervised(f"bus {n}", w.run), name=f"bus-{n}")
            for n, w in self.workers.items()
        ]
        tasks.append(
            asyncio.create_task(self._supervised("forwarder", self.forwarder.run), name="forwarder")
        )
        if "lorawan" in self.config.raw:

            def from_paho(reading: Reading) -> None:  # paho's thread → the event loop
                loop.call_soon_threadsafe(self._on_reading, reading)

            self.lora = LoraWanLink(self.config.raw["lorawan"], from_paho)
            self.lora.start()
        if "zigbee" in self.config.raw:
            database = str(self.config.data_dir / "zigbee.db")
            zb = run_zigbee(self.config.raw["zigbee"], database, self._on_reading, self._stop)
            tasks.append(asyncio.create_task(zb, name="zigbee"))
        stats_every = float(self.config.raw["stats_interval"])
        next_stats = time.monotonic() + min(stats_every, 2.0)
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=FLUSH_S)
                self._flush()
                if time.monotonic() >= next_stats:
                    next_stats = time.monotonic() + stats_every
                    self._publish_stats()
        finally:
            if self.lora is not None:
                await asyncio.to_thread(self.lora.stop)
            await self._shutdown(tasks)

    async def _supervised(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run a worker until shutdown; a worker that dies is logged with its reason and
        restarted, so one fault never silently ends polling of a line (issue 11)."""
        while True:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("%s died; restarting in %.0f s", name, RESTART_DELAY_S)
            else:
                if self._stop.is_set():
                    return
                _LOGGER.error("%s ended unexpectedly; restarting in %.0f s", name, RESTART_DELAY_S)
            self.restarts[name] = self.restarts.get(name, 0) + 1
            await asyncio.sleep(RESTART_DELAY_S)
            if self._stop.is_set():
                return

    def _publish_stats(self) -> None:
        if self.outbox.storage_error and self.forwarder and self.forwarder.idle():
            self.outbox.retry_file()
        self._drops = self.outbox.report_drops()
        if self.uplink and (link := self.uplink.active()):
            link.publish(self.topics.stats, json.dumps(self.statistics()), retain=True)
        self.outbox.recreated = False  # reported once (with a warning in the log)
        self.outbox.prune_commands()

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        self._stop.set()  # supervised workers must not be restarted now
        for worker in self.workers.values():
            worker.stop()
        if self.forwarder:
            self.forwarder.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._flush()
        if self.uplink:
            for link in self.uplink.links:
                await asyncio.to_thread(link.stop, (self.topics.status, "offline"))
        self._closed = True
        self.outbox.close()
