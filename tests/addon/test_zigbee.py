"""Zigbee room sensors with a fake zigpy ControllerApplication (no radio), as FACTS.md describes.

The fake radio answers like a sensor would: ZDO Bind_rsp and Configure_Reporting_Response with
success; reports are injected with ``app.packet_received`` as real Report_Attributes frames.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zigpy.application
import zigpy.config as conf
import zigpy.endpoint
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from heatbalance_gateway.bus_worker import Reading
from heatbalance_gateway.zigbee import (
    POWER_CLUSTER,
    TEMPERATURE_CLUSTER,
    RoomSensorBridge,
    bridge_application,
    device_name,
    radio_application,
)
from zigpy.zcl import foundation

NWK = 0x1234
IEEE = "00:11:22:33:44:55:66:77"


class FakeApp(zigpy.application.ControllerApplication):
    """No radio: records sent packets and answers binds and reporting configuration."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.sent: list[t.ZigbeePacket] = []

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def start_network(self) -> None:
        pass

    async def force_remove(self, dev: Any) -> None:
        pass

    async def add_endpoint(self, descriptor: Any) -> None:
        pass

    async def permit_ncp(self, time_s: int = 60) -> None:
        pass

    async def permit_with_link_key(self, node: Any, link_key: Any, time_s: int = 60) -> None:
        pass

    async def write_network_info(self, *, network_info: Any, node_info: Any) -> None:
        pass

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        pass

    async def reset_network_info(self) -> None:
        pass

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        self.sent.append(packet)
        data = packet.data.serialize()
        if packet.dst_ep == 0 and packet.cluster_id == zdo_t.ZDOCmd.Bind_req:
            reply = (0, zdo_t.ZDOCmd.Bind_rsp, bytes([data[0], 0x00]))
        elif data[2] == foundation.GeneralCommand.Configure_Reporting:
            hdr = foundation.ZCLHeader.general(
                tsn=data[1],
                command_id=foundation.GeneralCommand.Configure_Reporting_rsp,
                direction=foundation.Direction.Server_to_Client,
            )
            reply = (1, packet.cluster_id, hdr.serialize() + b"\x00")
        else:
            return
        asyncio.get_running_loop().call_soon(self.inject, *reply)

    def inject(self, endpoint: int, cluster: int, data: bytes, profile: int | None = None) -> None:
        """Deliver a frame from the sensor as the radio would."""
        self.packet_received(
            t.ZigbeePacket(
                src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=NWK),
                src_ep=endpoint,
                dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=0x0000),
                dst_ep=endpoint,
                tsn=data[0] if endpoint == 0 else data[1],
                profile_id=profile if profile is not None else (0 if endpoint == 0 else 260),
                cluster_id=cluster,
                data=t.SerializableBytes(data),
                lqi=200,
                rssi=-50,
            )
        )

    def report(
        self, cluster: int, attribute: int, type_id: foundation.DataTypeId, value: Any, tsn: int
    ) -> None:
        hdr = foundation.ZCLHeader.general(
            tsn=tsn,
            command_id=foundation.GeneralCommand.Report_Attributes,
            direction=foundation.Direction.Server_to_Client,
        )
        schema = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Report_Attributes].schema
        body = schema(
            attribute_reports=[
                foundation.Attribute(attribute, foundation.TypeValue(type_id, value))
            ]
        )
        self.inject(1, cluster, hdr.serialize() + body.serialize())


def make_app() -> tuple[FakeApp, Any]:
    app = FakeApp(
        {conf.CONF_DEVICE: {conf.CONF_DEVICE_PATH: "/dev/null"}, conf.CONF_DATABASE: None}
    )
    device = app.add_device(t.EUI64.convert(IEEE), NWK)
    device.node_desc = zdo_t.NodeDescriptor(
        logical_type=zdo_t.LogicalType.EndDevice,
        mac_capability_flags=0x80,
        manufacturer_code=0x1234,
        maximum_buffer_size=82,
        maximum_incoming_transfer_size=82,
        server_mask=0,
        maximum_outgoing_transfer_size=82,
        descriptor_capability_field=0,
    )
    endpoint = device.add_endpoint(1)
    endpoint.profile_id = 260
    endpoint.status = zigpy.endpoint.Status.ZDO_INIT
    endpoint.add_input_cluster(TEMPERATURE_CLUSTER)
    endpoint.add_input_cluster(POWER_CLUSTER)
    return app, device


async def test_reports_become_readings_with_range_and_battery_flags() -> None:
    app, device = make_app()
    readings: list[Reading] = []
    bridge = RoomSensorBridge(readings.append, report_interval=900)
    assert bridge.attach(device)
    app.report(TEMPERATURE_CLUSTER, 0x0000, foundation.DataTypeId.int16, t.int16s(2150), tsn=1)
    app.report(TEMPERATURE_CLUSTER, 0x0000, foundation.DataTypeId.int16, t.int16s(3800), tsn=2)
    app.report(POWER_CLUSTER, 0x0021, foundation.DataTypeId.uint8, t.uint8_t(170), tsn=3)
    app.report(POWER_CLUSTER, 0x0021, foundation.DataTypeId.uint8, t.uint8_t(30), tsn=4)
    app.report(
        TEMPERATURE_CLUSTER, 0x0000, foundation.DataTypeId.int16, t.int16s(-0x8000), tsn=5
    )  # invalid
    await asyncio.sleep(0)
    bridge.detach_all()
    app.report(TEMPERATURE_CLUSTER, 0x0000, foundation.DataTypeId.int16, t.int16s(2000), tsn=6)
    name = device_name(device.ieee)
    assert name == "zb-0011223344556677"
    assert [(r.device, r.values) for r in readings] == [
        (name, {"temperature": 21.5, "out_of_range": 0.0}),
        (name, {"temperature": 38.0, "out_of_range": 1.0}),  # §4.3.11 range 10–35 °C
        (name, {"battery": 85.0, "battery_low": 0.0}),
        (name, {"battery": 15.0, "battery_low": 1.0}),  # §4.3.11 low-battery warning
    ]


async def test_reporting_is_configured_within_30_minutes() -> None:
    app, device = make_app()
    bridge = RoomSensorBridge(lambda _r: None, report_interval=1800)
    result = await bridge.configure(device, wait_s=5)
    assert result == {"measured_value": True, "battery_percentage_remaining": True}
    configs = {}
    for packet in app.sent:
        data = packet.data.serialize()
        if packet.dst_ep == 1 and data[2] == foundation.GeneralCommand.Configure_Reporting:
            _hdr, rest = foundation.ZCLHeader.deserialize(data)
            schema = foundation.GENERAL_COMMANDS[
                foundation.GeneralCommand.Configure_Reporting
            ].schema
            command, _ = schema.deserialize(rest)
            record = command.config_records[0]
            configs[(packet.cluster_id, record.attrid)] = (record.min_interval, record.max_interval)
    assert configs[(TEMPERATURE_CLUSTER, 0x0000)] == (60, 1800)  # ≤ 30 min (§4.3.4)
    assert configs[(POWER_CLUSTER, 0x0021)][1] == 21600
    assert sum(1 for p in app.sent if p.cluster_id == zdo_t.ZDOCmd.Bind_req) == 2


def test_interval_above_30_minutes_and_unknown_radios_are_refused() -> None:
    with pytest.raises(ValueError, match="1800"):
        RoomSensorBridge(lambda _r: None, report_interval=3600)
    with pytest.raises(ValueError, match="unknown radio_type"):
        radio_application("carrier-pigeon")


async def test_bridge_application_attaches_known_and_configures_joined_sensors() -> None:
    app, known = make_app()
    readings: list[Reading] = []
    stop = asyncio.Event()
    task = asyncio.create_task(
        bridge_application(app, RoomSensorBridge(readings.append, 600), stop)
    )
    await asyncio.sleep(0)
    app.report(TEMPERATURE_CLUSTER, 0x0000, foundation.DataTypeId.int16, t.int16s(1975), tsn=9)
    # A sensor finishes its interview after start: zigpy announces it to app listeners.
    app.listener_event("device_initialized", known)
    for _ in range(200):
        if sum(1 for p in app.sent if p.dst_ep == 1) >= 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert [r.values for r in readings] == [{"temperature": 19.75, "out_of_range": 0.0}]
    configured = {p.cluster_id for p in app.sent if p.dst_ep == 1}
    assert configured == {TEMPERATURE_CLUSTER, POWER_CLUSTER}
