"""A "real" plant behind the gateway, for the product benchmark (issue 10 item 7).

The whole chain as in the field: the virtual plant (``scripts/virtual_plant.py``: the engine's
Simulator served as Modbus heat meters and electric valves) in its own process
(``devtools/plant_proc.py``: it answers the gateway's polls whatever the HA test process is
doing, as a plant on site does) → the gateway add-on as its own process → a real mosquitto →
Home Assistant's MQTT integration → the integration's gateway source; and the valve commands
back the same way. Plant time does not run by itself: after each control cycle
:meth:`GatewayField.async_after_cycle` waits for the gateway's answers to the cycle's commands,
advances the plant one cycle and waits until the gateway has read every
device again, so HA's next cycle sees the plant one cycle on, as on site.

Runs inside Home Assistant's test harness (``hass``), with loopback sockets allowed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.settings import default_gateway_devices
from devtools.broker import Mosquitto
from devtools.gateway_proc import GatewayProcess, plain_broker, until
from devtools.plant_proc import PlantProcess, RemoteSim
from scripts.virtual_plant import SUBSTATION_METER

POLL_S = 0.2  # the gateway's poll interval per device (a small plant's) …
# … and the readings per second the whole field may offer: each device is polled every
# max(POLL_S, devices / READINGS_PER_S) s. Polled every 0.2 s, gen150loop's 300 devices
# offered up to 1,500 readings a second (400-560 measured; a real plant polled every 60 s: 5)
# and as many retained device states; a loaded test process ingested fewer, the gateway's
# go-back-N resent its 5,000-reading window after each 2 s without an ack, the duplicates
# queued behind the backlog, and the ack stood still (at seq 5,000 for 4 min, 252 resends in
# 9 min): bench_product failed or timed out. With the plant served from the HA process
# (before cc96247) its answers waited for HA's loop, which held the rate down. The harness
# waits for fresh readings after each cycle, so steps to band do not depend on the pace; the
# gateway rows' cycle times no longer include ingesting the flood.
READINGS_PER_S = 100.0
GUARD_S = 120.0  # turns a hang into an error, not a timing figure


class GatewayField:
    """Virtual plant, gateway process and broker, wired to one HA test instance."""

    def __init__(
        self, hass: Any, network: Network, folder: Path, inlets: list[str], **plant: Any
    ) -> None:
        """``inlets``: the inlets HA manages (their devices are polled; a households
        network's households keep their valves, as in the entities field); ``plant``: the
        virtual plant's instruments (``noise``, ``substation_meter``, ``seed``). The
        gateway's configuration is complete once :meth:`async_start` knows the plant's and
        the broker's ports; before, its buses name the devices polled (a caller may change
        their profiles)."""
        self.hass = hass
        # its own clock stands still (advanced per cycle by async_after_cycle); its own copy
        # of the network (pickled to the process): the plant's valves are not the model's
        self.virtual = PlantProcess(
            network, folder / "plant.log", speed=1e-9, tick_s=3600.0, **plant
        )
        self.broker = Mosquitto(folder / "broker")
        self.gateway = GatewayProcess(
            folder / "gw",
            {
                "gateway_id": "gw1",
                "data_dir": str(folder / "gw" / "data"),
                "mqtt": {"main": plain_broker(0)},  # the broker's port once it runs
                "outbox": {"ack_timeout": 2.0},  # resend what HA's debounced subscribe missed
                "buses": _paced(_buses(_planned_buses(network, plant), inlets)),
            },
        )
        self._mqtt: Any = None
        self._held_before = 0  # the source's held commands before an outage

    @property
    def sim(self) -> RemoteSim:
        """The plant itself (in its process)."""
        return self.virtual.sim

    async def async_start(self) -> None:
        """Broker, HA's MQTT client on it, the plant's Modbus servers (no gateway yet)."""
        from homeassistant.components import mqtt
        from pytest_homeassistant_custom_component.common import MockConfigEntry

        self.broker.start()
        await self.hass.async_add_executor_job(self.virtual.start)
        self._served()
        self._mqtt = MockConfigEntry(
            domain="mqtt", data={"broker": "127.0.0.1", "port": self.broker.port}
        )
        self._mqtt.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self._mqtt.entry_id)
        await mqtt.async_wait_for_mqtt_client(self.hass)

    def _served(self) -> None:
        """The gateway's configuration on the ports the broker and the plant are served on
        (bound by them: none picked free first and bound later, which a suite beside could
        take, ``Errno 98``)."""
        config = self.gateway.config
        config["mqtt"]["main"]["port"] = self.broker.port
        served = {bus["name"]: bus["port"] for bus in self.virtual.gateway_buses()}
        for bus in config["buses"]:
            bus["port"] = served[bus["name"]]

    def start_polling(self) -> None:
        """The gateway starts polling: after the mapping, so the reload's first cycle found
        no readings and moved nothing (step 0 judges the untouched plant, as the CLI's)."""
        self.gateway.start()

    async def async_stop(self) -> None:
        """Everything down again (the gateway first: it must not poll a stopped plant)."""
        self.gateway.stop()
        await self.hass.async_add_executor_job(self.virtual.stop)
        if self._mqtt is not None:
            await self.hass.config_entries.async_unload(self._mqtt.entry_id)
        self.broker.stop()

    async def async_outage(self, coordinator: Any) -> None:
        """The gateway stopped cleanly, and the source knows it offline (its retained
        status): the next cycle's commands are held (bench_product ``--gateway-outage``)."""
        source = coordinator.plant.gateway
        self._held_before = source.held
        assert self.gateway.stop() == 0
        await until(lambda: source.status.get("gw1") == "offline", "gateway offline", GUARD_S)

    async def async_back(self, coordinator: Any, cycle: int) -> dict[str, Any]:
        """The gateway started again after the cycle: its held commands go on ``online``.
        Returns the source's held-command counters once every command is answered, and the
        seconds from the restart to the last answer."""
        source = coordinator.plant.gateway
        held = self._held_before
        started = time.perf_counter()
        self.gateway.start()
        await self._async_answered(coordinator)
        return {
            "cycle": cycle,
            "held": source.held - held,
            "sent_on_online": source.held_sent,
            "confirmed": source.held_confirmed,
            "never_sent": source.held_unsent,
            "answered_after_restart_s": round(time.perf_counter() - started, 1),
        }

    def resends(self) -> int:
        """How often the gateway resent unacknowledged readings (its ack timeout ran out)."""
        log = self.gateway.log
        return log.read_text("utf-8", "replace").count("resending from") if log.exists() else 0

    def close(self) -> None:
        """Every process of the chain stopped, whatever state the run ended in (a test's
        finalizer: a failed run left its broker running, the plant and gateway too)."""
        self.gateway.kill()
        self.virtual.stop()
        self.broker.stop()

    async def async_map(self, entry: Any, owner: str = "") -> None:
        """Every inlet subentry to its meter and valve on the gateway (one reload for all);
        ``owner``: the gateway id configured on each inlet (empty: the first to report)."""
        devices = {d.name for d in self.virtual.devices}
        for sub in list(entry.subentries.values()):
            meter, valve = default_gateway_devices(sub.data["inlet_id"])
            mapping = {
                "source": "gateway",
                "gateway_meter": meter,
                "gateway_valve": valve if valve in devices else "",
                "gateway_id": owner,
            }
            self.hass.config_entries.async_update_subentry(
                entry, sub, data=dict(sub.data) | mapping
            )
        await self.hass.async_block_till_done()

    async def async_fresh(self, coordinator: Any, since: float) -> None:
        """Until the gateway source holds a reading of every mapped device taken after
        ``since`` (wall clock): the plant's state after its last advance."""
        source = coordinator.plant.gateway
        assert source is not None, "no gateway source attached"
        wanted = [name for pair in source.inlets.values() for name in pair if name]
        if self.virtual.substation_meter:
            wanted.append(SUBSTATION_METER)

        def fresh() -> bool:
            return all(
                (live := source.live.get(name)) is not None and live.ts >= since for name in wanted
            )

        await until(fresh, "fresh readings of every gateway device", GUARD_S)

    async def _async_answered(self, coordinator: Any) -> None:
        """Until the gateway answered every command sent so far."""
        source = coordinator.plant.gateway
        sent = [request for request, _at in source.last_command.values()]
        await until(lambda: all(r in source.results for r in sent), "command answers", GUARD_S)

    async def async_after_cycle(self, coordinator: Any, dt_s: float) -> None:
        """The cycle's commands answered by the gateway (confirmed or not), the plant one
        cycle on, and every device read again."""
        await self._async_answered(coordinator)
        self.virtual.advance(dt_s)
        since = time.time()
        await asyncio.sleep(0)
        await self.async_fresh(coordinator, since)


def _planned_buses(network: Network, plant: dict[str, Any]) -> list[dict[str, Any]]:
    """The gateway's lines for the plant's devices (ports filled in once served)."""
    from custom_components.heatbalance.engine.simulator import Simulator
    from scripts.virtual_plant import VirtualPlant

    sim = Simulator(network, outdoor_c=network.design.outdoor_c)
    layout = VirtualPlant(sim, port=0, substation_meter=bool(plant.get("substation_meter")))
    return layout.gateway_buses(poll_interval=POLL_S)


def _buses(buses: list[dict[str, Any]], inlets: list[str]) -> list[dict[str, Any]]:
    """The gateway's lines with only the managed inlets' devices (empty lines left out)."""
    names = {name for iid in inlets for name in default_gateway_devices(iid)} | {SUBSTATION_METER}
    kept = [b | {"devices": [d for d in b["devices"] if d["name"] in names]} for b in buses]
    return [b for b in kept if b["devices"]]


def _paced(buses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each device's poll interval so the field offers at most READINGS_PER_S readings."""
    count = sum(len(b["devices"]) for b in buses)
    poll = max(POLL_S, count / READINGS_PER_S)
    return [b | {"devices": [d | {"poll_interval": poll} for d in b["devices"]]} for b in buses]
