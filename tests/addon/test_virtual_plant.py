"""The virtual plant (issue 5 item 8): the engine's Simulator as Modbus devices.

Checked against the real Simulator (ground truth) through a real pymodbus client, then end to
end: the real gateway process polls the plant over Modbus TCP and publishes to a real mosquitto;
a valve command over MQTT reaches the simulator (the inlet's flow changes) and is confirmed by
read-back (§4.3.5 remote valve control, §4.3.8 parameters settable and readable).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from heatbalance_gateway.config import parse_config
from heatbalance_gateway.register_map import load_profile
from pymodbus.client import AsyncModbusTcpClient

from devtools.gateway_proc import GatewayProcess, plain_broker, until
from scripts import virtual_plant as vp

METER = load_profile("heat_meter")
VALVE = load_profile("electric_valve")


def _plant(**kw: Any) -> vp.VirtualPlant:
    """estate12's plant; its lines on ports the system gives when they are bound."""
    return vp.VirtualPlant(vp.load_simulator("estate12"), port=0, **kw)


async def _read(client: AsyncModbusTcpClient, device_id: int, profile: Any) -> dict[str, float]:
    points = [p for p in profile.points if p.function == "input"]
    end = max(p.address + p.count for p in points)
    regs = await client.read_input_registers(0, count=end, device_id=device_id)
    assert not regs.isError()
    return {p.key: p.decode(regs.registers[p.address : p.address + p.count]) for p in points}


def test_layout_meter_per_inlet_valve_per_actuated_inlet() -> None:
    plant = _plant()
    assert len(plant.devices) == 24  # estate12: 12 electric valves, 12 meters
    assert plant.lines == 1
    assert {d.device_id for d in plant.devices} == set(range(1, 25))
    valve = plant.device("b001-valve")
    assert (valve.inlet, valve.kind, valve.profile.name) == ("B001", "valve", "electric_valve")
    buses = plant.gateway_buses(poll_interval=2.0)
    config = parse_config(vp.gateway_config(plant, plain_broker(1883), data_dir="/tmp/x"))
    assert config.gateway_id == "gw1"
    assert buses[0]["port"] == 0  # known once served (test_lines_are_served_on_the_ports_bound)
    assert [d["name"] for d in buses[0]["devices"]][:2] == ["b001-valve", "b001-meter"]


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no built-in network"):
        vp.load_simulator("no-such-net")
    with pytest.raises(ValueError, match="above zero"):
        vp.VirtualPlant(vp.load_simulator("estate12"), speed=0)
    assert vp.slug("Bldg 7/A") == "bldg-7-a"
    assert vp.main(["--network", "no-such-net"]) == 2


def test_main_writes_a_valid_gateway_config(tmp_path, monkeypatch) -> None:
    async def no_serve(_plant: vp.VirtualPlant) -> None:
        return None

    monkeypatch.setattr(vp, "_serve", no_serve)  # serving forever is tested below
    path = tmp_path / "gw.yaml"
    data = tmp_path / "outbox"
    argv = ["--network", "estate12", "--write-config", str(path), "--data-dir", str(data)]
    assert vp.main(argv) == 0
    config = parse_config(yaml.safe_load(path.read_text()))
    assert config.data_dir == data
    assert len(config.raw["buses"][0]["devices"]) == 24


def test_meters_read_the_engines_instrument_draws_cycle_by_cycle() -> None:
    """The meters' noise and lost readings are ``engine/instruments.py``'s draws in the
    engine's order from the seed, one draw per plant cycle (issue 10: the gateway column of
    bench_product compares with the engine seed by seed): reads within a cycle agree, a
    valve moved within a cycle changes the values, not the cycle's draws, and a cycle nobody
    read still takes its draw. Before, every register read drew its own noise."""
    import numpy as np

    from custom_components.heatbalance.engine.instruments import draw

    plant = _plant(noise=0.02, missing=0.2, seed=7, substation_meter=True)
    plant.flow_bias["B003"] = 1.1
    twin, rng = vp.load_simulator("estate12"), np.random.default_rng(7)
    meters = [d for d in plant.devices if d.kind in ("meter", "substation")]
    lost = 0
    for cycle in range(5):
        if cycle == 2:  # a command within the cycle, after the gateway read it once
            [plant.values(m) for m in meters]
            plant.move(plant.device("b005-valve"), 40.0)
            twin.set_opening("B005", 0.40)
        expected = draw(twin.state(), 0.02, 0.2, rng)
        if cycle != 3:  # nobody reads cycle 3: its draw is taken all the same
            for _twice in range(2):
                for m in meters:
                    got = plant.values(m)
                    want = expected.network if m.kind == "substation" else expected.inlets[m.inlet]
                    flow = want["pump_flow_m3h" if m.kind == "substation" else "flow_m3h"]
                    if m.inlet in expected.lost:
                        assert got["flow"] == vp.LOST_READING["flow"]
                        lost += 1
                        continue
                    assert got["flow"] == flow * (1.1 if m.inlet == "B003" else 1.0)
                    assert got["supply_temperature"] == want["supply_c"]
                    assert got["return_temperature"] == want["return_c"]
        plant.advance(600.0)
        twin.advance(600.0)
    assert lost > 0


async def test_registers_follow_the_simulator_and_a_write_moves_the_valve() -> None:
    plant = _plant(speed=3600.0, tick_s=0.05)
    valve, meter = plant.device("b001-valve"), plant.device("b001-meter")
    async with plant:
        client = AsyncModbusTcpClient("127.0.0.1", port=plant.line_port(0), timeout=2)
        await client.connect()
        try:
            before = await _read(client, meter.device_id, METER)
            truth = plant.sim.state().inlets["B001"]
            assert before["flow"] == pytest.approx(truth.flow_m3h, rel=1e-6)
            assert before["supply_temperature"] == pytest.approx(truth.supply_c, abs=0.01)
            fb = await _read(client, valve.device_id, VALVE)
            assert fb["position_feedback"] == pytest.approx(100.0)

            written = await client.write_register(0, 300, device_id=valve.device_id)  # 30.0 %
            assert not written.isError()
            assert plant.sim.openings[plant.sim.ids.index("B001")] == pytest.approx(0.30)
            held = await client.read_holding_registers(0, count=1, device_id=valve.device_id)
            assert held.registers == [300]
            after = await _read(client, meter.device_id, METER)
            assert after["flow"] < 0.9 * before["flow"]
            assert (await _read(client, valve.device_id, VALVE))["position_feedback"] == (
                pytest.approx(30.0)
            )
            # Accelerated time: the heat meter counts up.
            start = after["energy"]
            for _ in range(200):  # guard against a hang only
                if (await _read(client, meter.device_id, METER))["energy"] > start:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("heat meter did not count up")
            # A write elsewhere in the holding table does not move the valve.
            await client.write_register(1, 5, device_id=valve.device_id)
            assert plant.device("b001-valve").writes == [30.0]
        finally:
            client.close()


async def test_energy_counter_agrees_with_flow_and_dt_a_biased_flow_meter_does_not() -> None:
    """The heat meter's energy counter (kWh, §4.1.2) is the plant's heat integrated over time:
    over half an hour it implies the flow the meter shows (Q = ṁ·c_p·ΔT) — except at an
    inlet whose flow meter reads 20 % high. The substation meter shows the pump's flow."""
    from custom_components.heatbalance.engine.model import WATER_CP, WATER_DENSITY

    plant = _plant(substation_meter=True)
    plant.flow_bias["B007"] = 1.2
    meters = [plant.device(f"b{n:03d}-meter") for n in range(1, 13)]
    async with plant:
        client = AsyncModbusTcpClient("127.0.0.1", port=plant.line_port(0), timeout=2)
        await client.connect()
        try:
            before = {m.inlet: await _read(client, m.device_id, METER) for m in meters}
            plant.advance(1800.0)
            after = {m.inlet: await _read(client, m.device_id, METER) for m in meters}
            station = plant.device(vp.SUBSTATION_METER)
            substation = await _read(client, station.device_id, METER)
        finally:
            client.close()
    ratios = {}
    for iid, now in after.items():
        power_w = (now["energy"] - before[iid]["energy"]) * 1000.0 * 3600.0 / 1800.0
        dt_k = now["supply_temperature"] - now["return_temperature"]
        implied = power_w / (WATER_DENSITY * WATER_CP * dt_k) * 3600.0
        ratios[iid] = now["flow"] / implied
    assert ratios.pop("B007") == pytest.approx(1.2, rel=0.02)
    assert ratios == pytest.approx(dict.fromkeys(ratios, 1.0), rel=0.02)  # 1 kWh resolution
    state = plant.sim.state()
    assert (station.device_id, station.kind) == (25, "substation")
    assert substation["flow"] == pytest.approx(state.pump.flow_m3h, rel=1e-6)
    assert substation["energy"] == pytest.approx(state.heat_kwh, abs=1.0)
    assert [m.device_id for m in meters] == list(range(2, 25, 2))  # unchanged by it


async def test_stuck_valve_feedback_does_not_follow(tmp_path) -> None:
    plant = _plant()
    plant.sim.inject_fault("B002", "stuck")
    valve = plant.device("b002-valve")
    async with plant:
        client = AsyncModbusTcpClient("127.0.0.1", port=plant.line_port(0), timeout=2)
        await client.connect()
        try:
            await client.write_register(0, 200, device_id=valve.device_id)
            state = await _read(client, valve.device_id, VALVE)
            assert state["position_feedback"] == pytest.approx(100.0)
            assert state["fault_code"] == 1
        finally:
            client.close()


class Watcher:
    """Records every message under heatbalance/# (HA's role)."""

    def __init__(self, port: int) -> None:
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe("heatbalance/#", 1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages[message.topic].append(bytes(message.payload))

    def json(self, topic: str) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(p) for p in self.messages.get(topic, [])]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.slow
async def test_gateway_polls_plant_and_valve_command_reaches_simulator(broker, tmp_path) -> None:
    plant = _plant(speed=60.0)
    watcher = Watcher(broker.port)
    root = "heatbalance/gw/gw1"
    meter_state = f"{root}/dev/b003-meter/state"
    async with plant:
        buses = plant.gateway_buses(poll_interval=0.3, timeout=1.0)
        config = {
            "gateway_id": "gw1",
            "data_dir": str(tmp_path / "gw" / "data"),
            "mqtt": {"main": plain_broker(broker.port)},
            "buses": buses,
        }
        gateway = GatewayProcess(tmp_path / "gw", config)
        gateway.start()
        try:
            await until(lambda: watcher.json(meter_state), "meter state over MQTT")
            truth = plant.sim.state().inlets["B003"]
            first = watcher.json(meter_state)[-1]
            assert first["flow"] == pytest.approx(truth.flow_m3h, rel=1e-3)
            command = {
                "request_id": "vp-1",
                "device": "b003-valve",
                "point": "position_setpoint",
                "value": 15.0,
            }
            await asyncio.to_thread(
                lambda: watcher.client.publish(
                    f"{root}/cmd", json.dumps(command), qos=1
                ).wait_for_publish(5)
            )
            await until(lambda: watcher.json(f"{root}/cmd/result"), "command result")
            result = watcher.json(f"{root}/cmd/result")[0]
            assert result["status"] == "confirmed"
            assert result["readback"] == pytest.approx(15.0)
            assert plant.sim.openings[plant.sim.ids.index("B003")] == pytest.approx(0.15)
            throttled = plant.sim.state().inlets["B003"].flow_m3h
            assert throttled < 0.5 * truth.flow_m3h
            # The gateway publishes the new flow read from the plant.
            await until(
                lambda: watcher.json(meter_state)[-1]["flow"] == pytest.approx(throttled, rel=1e-3),
                "throttled flow published",
            )
            # the valve is polled on its own schedule: its new position follows the meter's
            await until(
                lambda: watcher.json(f"{root}/dev/b003-valve/state")[-1]["position_feedback"]
                == pytest.approx(15.0),
                "valve position published",
            )
            # The data stream (outbox batches) carries plant readings too.
            await until(lambda: watcher.json(f"{root}/data"), "data batches")
            assert gateway.stop() == 0
        finally:
            gateway.kill()
            watcher.close()


async def test_large_plant_is_split_over_lines_each_on_its_own_port(monkeypatch) -> None:
    """A Modbus line holds at most 247 ids: the plant serves more devices on more ports —
    consecutive from a given port (the command line's ``--port``), or each where the system
    bound it."""
    monkeypatch.setattr(vp, "DEVICES_PER_LINE", 10)
    fixed = vp.VirtualPlant(vp.load_simulator("estate12"), port=5020)
    assert [b["port"] for b in fixed.gateway_buses()] == [5020, 5021, 5022]
    plant = _plant()
    assert plant.lines == 3
    last = plant.devices[-1]
    assert (last.name, last.line, last.device_id) == ("b012-meter", 2, 4)
    async with plant:
        buses = plant.gateway_buses()
        assert [b["port"] for b in buses] == plant.ports
        assert len(set(plant.ports)) == 3
        assert 0 not in plant.ports
        assert [len(b["devices"]) for b in buses] == [10, 10, 4]
        client = AsyncModbusTcpClient("127.0.0.1", port=plant.line_port(2), timeout=2)
        await client.connect()
        try:
            values = await _read(client, last.device_id, METER)
        finally:
            client.close()
    assert values["flow"] == pytest.approx(plant.sim.state().inlets["B012"].flow_m3h, rel=1e-6)


async def test_lines_are_served_on_the_ports_bound() -> None:
    """``port=0``: each line is bound where the system gives a free port, and the gateway's
    buses name it. Before, the harness picked a free port and the plant bound it later: a
    suite running beside could take it in between (``Errno 98`` in bench_product)."""
    plant = _plant()
    async with plant:
        port = plant.gateway_buses()[0]["port"]
        assert port == plant.ports[0] == plant.line_port(0) != 0
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2)
        await client.connect()
        try:
            values = await _read(client, plant.device("b003-meter").device_id, METER)
        finally:
            client.close()
    assert plant.ports == []  # stopped
    assert values["flow"] == pytest.approx(plant.sim.state().inlets["B003"].flow_m3h, rel=1e-6)
