"""Optional Zigbee room-temperature sensors on the gateway's own radio (zigpy 2.4).

For sites whose room sensors sit on a separate Zigbee network (one radio belongs to one stack,
so this is a second stick, not ZHA's). Temperature (cluster 0x0402, 0.01 °C) and battery
(0x0001, 0.5 %) reports become readings in the same outbox as Modbus data, under the device name
``zb-<ieee>``. Reporting is configured at most every ``report_interval`` s (≤ 30 min, §4.3.4;
§4.3.11 sensors sample ≤ 60 min on battery). §4.3.11 also asks for a low-battery warning while
the sensor still works and a 10–35 °C range: both are reported as flags with the reading.

Events use ``cluster.on_event("attribute_report", ...)`` (zigpy 2.4; the old listener style
does not fire, FACTS.md).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

from .bus_worker import Reading

_LOGGER = logging.getLogger(__name__)
TEMPERATURE_CLUSTER = 0x0402
POWER_CLUSTER = 0x0001
MEASURED_VALUE = 0x0000
BATTERY_PERCENT = 0x0021
ROOM_RANGE_C = (10.0, 35.0)  # §4.3.11
RADIO_MODULES = {
    "znp": "zigpy_znp.zigbee.application",
    "ezsp": "bellows.zigbee.application",
    "deconz": "zigpy_deconz.zigbee.application",
    "zigate": "zigpy_zigate.zigbee.application",
    "xbee": "zigpy_xbee.zigbee.application",
}


def device_name(ieee: object) -> str:
    """Stable gateway device name for a Zigbee node."""
    return "zb-" + str(ieee).replace(":", "").lower()


class RoomSensorBridge:
    """Turns zigpy attribute reports into gateway readings and configures reporting."""

    def __init__(
        self,
        on_reading: Callable[[Reading], None],
        report_interval: int = 900,
        low_battery_pct: float = 20.0,
    ) -> None:
        if not 10 <= report_interval <= 1800:
            raise ValueError("report_interval must be 10..1800 s (§4.3.4)")
        self.on_reading = on_reading
        self.report_interval = report_interval
        self.low_battery_pct = low_battery_pct
        self._unsubscribe: dict[str, list[Callable[[], None]]] = {}

    def attach(self, device: Any) -> bool:
        """Listen to a device's temperature and battery clusters; False if it has neither."""
        name = device_name(device.ieee)
        if name in self._unsubscribe:
            return True
        handles = []
        for endpoint in device.non_zdo_endpoints:
            clusters = endpoint.in_clusters
            if TEMPERATURE_CLUSTER in clusters:
                handles.append(
                    clusters[TEMPERATURE_CLUSTER].on_event(
                        "attribute_report", self._temperature(name)
                    )
                )
            if POWER_CLUSTER in clusters:
                handles.append(
                    clusters[POWER_CLUSTER].on_event("attribute_report", self._battery(name))
                )
        if handles:
            self._unsubscribe[name] = handles
        return bool(handles)

    def detach_all(self) -> None:
        """Stop listening (shutdown)."""
        for handles in self._unsubscribe.values():
            for unsubscribe in handles:
                unsubscribe()
        self._unsubscribe.clear()

    def _temperature(self, name: str) -> Callable[[Any], None]:
        def handle(event: Any) -> None:
            if (
                event.attribute_id != MEASURED_VALUE
                or event.value is None
                or event.value == -0x8000
            ):
                return  # 0x8000 = invalid measurement
            celsius = round(float(event.value) / 100.0, 2)
            low, high = ROOM_RANGE_C
            self.on_reading(
                Reading(
                    name,
                    time.time(),
                    {"temperature": celsius, "out_of_range": float(not low <= celsius <= high)},
                )
            )

        return handle

    def _battery(self, name: str) -> Callable[[Any], None]:
        def handle(event: Any) -> None:
            if event.attribute_id != BATTERY_PERCENT or event.value is None or event.value == 0xFF:
                return
            percent = float(event.value) / 2.0
            self.on_reading(
                Reading(
                    name,
                    time.time(),
                    {"battery": percent, "battery_low": float(percent < self.low_battery_pct)},
                )
            )

        return handle

    async def configure(self, device: Any, wait_s: float = 10.0) -> dict[str, bool]:
        """Bind and configure reporting (temperature ≤ report_interval, battery ≤ 6 h)."""
        done: dict[str, bool] = {}
        for endpoint in device.non_zdo_endpoints:
            for cluster_id, attribute, change, max_interval in (
                (TEMPERATURE_CLUSTER, "measured_value", 10, self.report_interval),  # 0.1 °C
                (
                    POWER_CLUSTER,
                    "battery_percentage_remaining",
                    2,
                    max(self.report_interval, 21600),
                ),
            ):
                cluster = endpoint.in_clusters.get(cluster_id)
                if cluster is None:
                    continue
                try:
                    await asyncio.wait_for(cluster.bind(), wait_s)
                    await asyncio.wait_for(
                        cluster.configure_reporting(attribute, 60, max_interval, change), wait_s
                    )
                    done[attribute] = True
                except (
                    TimeoutError,
                    Exception,
                ) as err:  # a sleepy sensor may miss it; retried on rejoin
                    _LOGGER.warning(
                        "%s: reporting of %s not configured: %s",
                        device_name(device.ieee),
                        attribute,
                        err,
                    )
                    done[attribute] = False
        return done


def radio_application(radio_type: str) -> Any:
    """The zigpy ControllerApplication class of a radio library (installed per site)."""
    module_name = RADIO_MODULES.get(radio_type)
    if module_name is None:
        raise ValueError(f"unknown radio_type {radio_type!r} (known: {sorted(RADIO_MODULES)})")
    try:
        return importlib.import_module(module_name).ControllerApplication
    except ImportError as err:
        raise ValueError(f"radio library for {radio_type!r} is not installed: {err}") from err


async def run_zigbee(
    zigbee: dict[str, Any],
    database: str,
    on_reading: Callable[[Reading], None],
    stop: asyncio.Event,
) -> None:
    """Start the radio (needs the site's radio library), then bridge until ``stop`` is set."""
    app_class = radio_application(zigbee["radio_type"])
    app = await app_class.new(
        {
            "device": {"path": zigbee["device"], "baudrate": zigbee["baudrate"]},
            "database_path": database,
        },
        auto_form=True,
        start_radio=True,
    )
    await bridge_application(app, RoomSensorBridge(on_reading, zigbee["report_interval"]), stop)


async def bridge_application(app: Any, bridge: RoomSensorBridge, stop: asyncio.Event) -> None:
    """Attach known sensors, configure newly interviewed ones, shut the radio down on stop."""
    tasks: set[asyncio.Task[Any]] = set()

    class _Joins:
        """zigpy application listener: configure sensors once their interview is done."""

        def device_initialized(self, device: Any) -> None:
            if bridge.attach(device):
                task = asyncio.create_task(bridge.configure(device))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    app.add_listener(_Joins())
    for device in list(app.devices.values()):
        bridge.attach(device)
    try:
        await stop.wait()
    finally:
        bridge.detach_all()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.shutdown()
