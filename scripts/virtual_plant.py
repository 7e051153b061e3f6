"""Virtual plant: the engine's :class:`Simulator` served as Modbus field devices.

Every inlet of a network gets a heat meter (profile ``heat_meter``: flow, power, energy,
supply/return temperature, §4.1.2–4.1.5; the energy counter is the simulator's heat
integrated over time, so it agrees with the flow and ΔT it shows) and every remotely
actuated inlet (§4.3.1: electric valve, IoT valve, electric ejector) a valve (profile
``electric_valve``: position setpoint with min/max, position feedback, temperatures, fault
word, §4.3.5/§4.3.8). A write of the setpoint moves the simulated valve
(``Simulator.set_opening``); the registers are refreshed from ``Simulator.state()`` on every
read, and the plant advances in accelerated time, so the gateway, the integration and a
controller can be exercised end to end without hardware.
Imperfect instruments for the meter check (engine/meters.py): ``flow_bias`` makes an inlet's
flow meter read high or low, ``noise`` puts relative Gaussian noise on every meter's flow and
temperatures (the integrating energy counter stays exact: its error would be a bias),
``missing`` loses each inlet's meter readings in a cycle with that probability and ``lost``
names inlets whose meter reads invalid values now (error sentinels outside the profile's
valid range for flow and temperatures, which the gateway publishes as ``null``: a lost
reading), and ``substation_meter`` adds the substation's flow meter (device
``substation-meter``). The noise and the losses are the engine's instruments
(``engine/instruments.py``): one draw per plant cycle (per :meth:`VirtualPlant.advance`), in
the engine's order from ``seed``, so the gateway's readings of a seed are the engine's and the
integration's simulated plant's (issue 10: "steps to band in HA equal the CLI's ±1"). Before,
every register read drew its own noise, in the order the gateway happened to poll.

Served by pymodbus 3.16 ``SimDevice``/``SimData`` (not the deprecated datastore contexts); one
Modbus TCP server per line of at most 246 devices (device ids 1…246), on consecutive ports from
``port``, or with ``port=0`` each on a port the system gives when the server binds it
(:attr:`VirtualPlant.ports` after :meth:`VirtualPlant.start`): a port picked free first and bound
later could be taken in between by a suite running beside (``Errno 98``, bench_product).

Run: ``python scripts/virtual_plant.py --network estate12 --port 5020``. A development tool
(``scripts/develop --virtual-plant``, tests, benchmarks), not part of the add-on image: it needs
the engine (``custom_components/heatbalance/engine``) and the add-on's register maps, both
imported from the repository checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

try:
    import heatbalance_gateway  # noqa: F401
except ImportError:  # run standalone: the add-on package of this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "addon"))
from heatbalance_gateway import codec
from heatbalance_gateway.register_map import Profile, load_profile

if TYPE_CHECKING:
    from custom_components.heatbalance.engine.instruments import Drawn
    from custom_components.heatbalance.engine.simulator import PlantState, Simulator

_LOGGER = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
ACTUATED = frozenset({"electric_valve", "iot_valve", "electric_ejector"})
DEVICES_PER_LINE = 246
FAULT_CODES = {None: 0, "stuck": 1, "blockage": 2}
SUBSTATION_METER = "substation-meter"
_READ_INPUT = 4
_WRITE_HOLDING = (6, 16)


def _engine() -> Any:
    """The engine package; the checkout's root is put on the path when run standalone."""
    try:
        from custom_components.heatbalance import engine
    except ImportError:
        sys.path.insert(0, str(REPO))
        from custom_components.heatbalance import engine
    return engine


def load_simulator(network: str, outdoor_c: float = -5.0) -> Simulator:
    """A Simulator of a built-in network (``estate12``) or of a network file."""
    _engine()
    from custom_components.heatbalance.engine.loader import load_network
    from custom_components.heatbalance.engine.networks import builtin_path
    from custom_components.heatbalance.engine.simulator import Simulator

    path = builtin_path(network) or Path(network)
    if not path.is_file():
        raise ValueError(f"no built-in network or file named {network!r}")
    return Simulator(load_network(path), outdoor_c=outdoor_c)


def slug(text: str) -> str:
    """A device name the gateway config accepts (``^[a-z0-9][a-z0-9_-]{0,47}$``)."""
    value = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return (value or "x")[:40]


@dataclass
class PlantDevice:
    """One simulated field device bound to one inlet."""

    name: str
    inlet: str
    kind: str  # "valve", "meter", or "substation" (the substation's meter; inlet: "")
    line: int
    device_id: int
    profile: Profile
    writes: list[float] = field(default_factory=list)


# a meter's error sentinels: outside the heat_meter profile's valid ranges (flow ±10,000 m³/h,
# temperatures −40…200 °C), yet encodable in its registers (float32, int16 in 0.01 °C)
LOST_READING = {"flow": -99_999.0, "supply_temperature": -300.0, "return_temperature": -300.0}


class VirtualPlant:
    """Simulator + Modbus devices; ``speed`` simulated seconds pass per real second."""

    def __init__(
        self,
        sim: Simulator,
        *,
        speed: float = 60.0,
        tick_s: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 5020,
        noise: float = 0.0,
        missing: float = 0.0,
        substation_meter: bool = False,
        seed: int = 0,
    ) -> None:
        if not speed > 0 or not tick_s > 0:
            raise ValueError("speed and tick_s must be above zero")
        if not 0.0 <= missing <= 1.0 or not noise >= 0.0:
            raise ValueError("noise must be at least 0 and missing within 0…1")
        self.sim = sim
        self.noise = noise
        self.missing = missing
        self.flow_bias: dict[str, float] = {}  # inlet → factor its flow meter reads
        self.lost: set[str] = set()  # inlets whose meter reads invalid values now
        self.substation_meter = substation_meter
        self.seed = seed
        self.rewind()
        self.speed = speed
        self.tick_s = tick_s
        self.host = host
        self.port = port
        self.devices = self._plan()
        self.ports: list[int] = []  # each line's port, once served
        self.moves: list[tuple[str, float, float]] = []  # (inlet, stood, commanded), 0…1
        self._state: PlantState | None = None
        self._servers: list[ModbusTcpServer] = []
        self._ticker: asyncio.Task[None] | None = None

    # --- layout ---------------------------------------------------------------------------
    def _plan(self) -> list[PlantDevice]:
        """Meter for every inlet, valve for every actuated one; lines of ≤246 devices."""
        valve, meter = load_profile("electric_valve"), load_profile("heat_meter")
        planned: list[tuple[str, str, Profile]] = []
        for iid in self.sim.ids:
            if self.sim.network.inlets[iid].device.type in ACTUATED:
                planned.append((iid, "valve", valve))
            planned.append((iid, "meter", meter))
        if self.substation_meter:  # last: the inlets' devices keep their ids
            planned.append(("", "substation", meter))
        return [
            PlantDevice(
                f"{slug(iid)}-{kind}" if iid else SUBSTATION_METER,
                iid,
                kind,
                n // DEVICES_PER_LINE,
                n % DEVICES_PER_LINE + 1,
                p,
            )
            for n, (iid, kind, p) in enumerate(planned)
        ]

    @property
    def lines(self) -> int:
        """Number of Modbus TCP servers (:meth:`line_port` gives each one's port)."""
        return max((d.line for d in self.devices), default=0) + 1

    def device(self, name: str) -> PlantDevice:
        """A device by name."""
        return next(d for d in self.devices if d.name == name)

    # --- values ---------------------------------------------------------------------------
    def state(self) -> PlantState:
        """The plant state the registers show (recomputed after a move or a tick)."""
        if self._state is None:
            self._state = self.sim.state()
            self._drawn = None
        return self._state

    def rewind(self) -> None:
        """The instruments' draws start again at the seed's first: the current cycle reads
        what the engine's first measurement of this seed reads."""
        self._rng = np.random.default_rng(self.seed)
        self._cycle_draws = self._rng.bit_generator.state  # where this cycle's draws begin
        self._drawn: Drawn | None = None

    def drawn(self) -> Drawn | None:
        """This cycle's instrument readings of the current state (None: exact, nothing
        lost). A valve moved within the cycle changes the state, not the cycle's draws: they
        are drawn again from where the cycle's began, so each cycle takes the engine's
        numbers however often the state is recomputed or the registers are read."""
        if self.noise <= 0.0 and self.missing <= 0.0:
            return None
        state = self.state()
        if self._drawn is None:
            from custom_components.heatbalance.engine.instruments import draw

            self._rng.bit_generator.state = self._cycle_draws
            self._drawn = draw(state, self.noise, self.missing, self._rng)
        return self._drawn

    def values(self, device: PlantDevice) -> dict[str, float]:
        """Engineering values of a device's points from the current plant state (a meter's
        as its instruments read them: biased, noisy)."""
        state = self.state()
        drawn = self.drawn()
        if device.kind == "substation":
            pump = state.pump
            read = drawn.network if drawn is not None else {}
            metered = {
                "flow": _or(read.get("pump_flow_m3h"), pump.flow_m3h),
                "supply_temperature": _or(read.get("supply_c"), state.supply_c),
                "return_temperature": _or(read.get("return_c"), state.return_c),
            }
            return metered | {"power": state.heat_w / 1000.0, "energy": state.heat_kwh}
        inlet = state.inlets[device.inlet]
        if device.kind == "meter":
            read = drawn.inlets[device.inlet] if drawn is not None else {}
            flow = _or(read.get("flow_m3h"), inlet.flow_m3h)
            metered = {
                "flow": flow * self.flow_bias.get(device.inlet, 1.0),  # the engine's order
                "supply_temperature": _or(read.get("supply_c"), inlet.supply_c),
                "return_temperature": _or(read.get("return_c"), inlet.return_c),
            }
            if device.inlet in self.lost or (drawn is not None and device.inlet in drawn.lost):
                metered = LOST_READING
            return metered | {
                "power": inlet.heat_w / 1000.0,
                "energy": inlet.heat_kwh,  # kWh: the profile's counter, published in kWh
            }
        return {
            "position_feedback": inlet.opening * 100.0,
            "supply_temperature": inlet.supply_c,
            "return_temperature": inlet.return_c,
            "fault_code": float(FAULT_CODES.get(inlet.fault, 9)),
        }

    def advance(self, dt_s: float) -> None:
        """Advance the simulated plant ``dt_s`` seconds: a new cycle, whose draws follow the
        last cycle's (drawn first if nobody read it: the engine draws every cycle)."""
        if self.drawn() is not None:
            self._cycle_draws = self._rng.bit_generator.state
        self.sim.advance(dt_s)
        self._state = None

    def turn(self, inlet: str, opening: float) -> None:
        """A valve turned on site (by hand, 0…1): its registers show it from the next read.
        Setting ``sim`` directly left the registers on the cached state until the next move
        or tick — a valve read at 100 % while it stood at 30 % (test_gateway_start)."""
        self.sim.set_opening(inlet, opening)
        self._state = None

    def opening(self, inlet: str) -> float:
        """Where the inlet's valve stands (0…1)."""
        return float(self.sim.openings[self.sim.ids.index(inlet)])

    def inject_fault(self, inlet: str, kind: str, **kwargs: Any) -> None:
        """Break an inlet's valve (``Simulator.inject_fault``); its registers show it from the
        next read."""
        self.sim.inject_fault(inlet, kind, **kwargs)
        self._state = None

    def move(self, device: PlantDevice, percent: float) -> float:
        """Command the valve; returns the opening (%) the plant accepted (device limits).
        Each setpoint is kept in :attr:`moves` beside where the valve stood."""
        self.moves.append((device.inlet, self.opening(device.inlet), percent / 100.0))
        self.sim.set_opening(device.inlet, percent / 100.0)
        self._state = None
        held = self.opening(device.inlet) * 100.0
        device.writes.append(percent)
        return held

    # --- Modbus ---------------------------------------------------------------------------
    def _registers(self, device: PlantDevice, function: str) -> list[int]:
        points = [p for p in device.profile.points if p.function == function]
        regs = [0] * max((p.address + p.count for p in points), default=1)
        values = self.values(device)
        if function == "holding":
            values = {"position_setpoint": values.get("position_feedback", 0.0)}
        for point in points:
            raw = codec.to_raw(values.get(point.key, 0.0), point.scale, point.offset)
            regs[point.address : point.address + point.count] = codec.encode(
                raw, point.type, point.word_order
            )
        return regs

    def _action(self, device: PlantDevice) -> Any:
        """pymodbus action: refresh input registers on read, move the valve on write."""

        async def action(
            fc: int,
            start: int,
            address: int,
            count: int,
            regs: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> None:
            if fc == _READ_INPUT:
                regs[:] = self._registers(device, "input")
            elif fc in _WRITE_HOLDING and set_values is not None and device.kind == "valve":
                self._write_setpoint(device, address - start, set_values)

        return action

    def _write_setpoint(
        self, device: PlantDevice, offset: int, set_values: list[int] | list[bool]
    ) -> None:
        """A setpoint write moves the simulated valve; the register holds what it accepted."""
        point = device.profile.point("position_setpoint")
        if offset != point.address:
            return
        percent = point.decode([int(v) for v in set_values[: point.count]])
        held = self.move(device, percent)
        encoded = codec.encode(codec.to_raw(held, point.scale, point.offset), point.type)
        set_values[: point.count] = encoded  # type: ignore[assignment]

    def sim_device(self, device: PlantDevice) -> SimDevice:
        """The pymodbus SimDevice of one plant device."""
        blocks = (
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=self._registers(device, "holding"), datatype=DataType.REGISTERS)],
            [SimData(0, values=self._registers(device, "input"), datatype=DataType.REGISTERS)],
        )
        return SimDevice(device.device_id, simdata=blocks, action=self._action(device))

    async def start(self) -> None:
        """Serve every line and start the clock."""
        for line in range(self.lines):
            devices = [self.sim_device(d) for d in self.devices if d.line == line]
            port = self.port + line if self.port else 0
            server = ModbusTcpServer(devices, address=(self.host, port))
            await server.serve_forever(background=True)
            self._servers.append(server)
            self.ports.append(int(server.transport.sockets[0].getsockname()[1]))
        self._ticker = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self.advance(self.tick_s * self.speed)

    async def stop(self) -> None:
        """Stop the clock and the servers."""
        if self._ticker is not None:
            self._ticker.cancel()
        for server in self._servers:
            await server.shutdown()  # type: ignore[no-untyped-call]
        self._servers.clear()
        self.ports.clear()

    async def __aenter__(self) -> VirtualPlant:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- gateway configuration ------------------------------------------------------------
    def line_port(self, line: int) -> int:
        """The port a line is served on (0: not yet known, ``port=0`` before :meth:`start`)."""
        if line < len(self.ports):
            return self.ports[line]
        return self.port + line if self.port else 0

    def gateway_buses(
        self, poll_interval: float = 5.0, timeout: float = 1.0
    ) -> list[dict[str, Any]]:
        """The ``buses`` section of a gateway config that polls this plant (with
        ``port=0``: once started)."""
        return [
            {
                "name": f"plant{line}",
                "type": "tcp",
                "host": self.host,
                "port": self.line_port(line),
                "timeout": timeout,
                "devices": [
                    {
                        "name": d.name,
                        "device_id": d.device_id,
                        "profile": d.profile.name,
                        "poll_interval": poll_interval,
                        "title": f"{d.inlet} {d.kind}" if d.inlet else "Substation meter",
                    }
                    for d in self.devices
                    if d.line == line
                ],
            }
            for line in range(self.lines)
        ]


def _or(value: float | None, exact: float) -> float:
    """A drawn reading, or the plant's value where the instruments drew none."""
    return exact if value is None else value


def gateway_config(
    plant: VirtualPlant, broker: dict[str, Any], gateway_id: str = "gw1", **extra: Any
) -> dict[str, Any]:
    """A complete gateway configuration for ``plant`` and one broker."""
    return {
        "gateway_id": gateway_id,
        "mqtt": {"main": broker},
        "buses": plant.gateway_buses(),
        **extra,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: serve a network, optionally write a matching gateway config."""
    parser = argparse.ArgumentParser(prog="virtual_plant.py", description=__doc__)
    parser.add_argument("--network", default="estate12", help="built-in name or network file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5020)
    parser.add_argument("--speed", type=float, default=60.0, help="simulated s per real s")
    parser.add_argument("--outdoor", type=float, default=-5.0, help="outdoor temperature °C")
    parser.add_argument("--write-config", help="write a gateway config polling this plant")
    parser.add_argument("--broker-host", default="127.0.0.1")
    parser.add_argument("--broker-port", type=int, default=1883)
    parser.add_argument("--gateway-id", default="gw1")
    parser.add_argument("--data-dir", default="gateway-data", help="outbox directory (config)")
    args = parser.parse_args(argv)
    try:
        sim = load_simulator(args.network, args.outdoor)
        plant = VirtualPlant(sim, speed=args.speed, host=args.host, port=args.port)
    except (ValueError, OSError) as err:
        print(f"virtual plant: {err}", file=sys.stderr)
        return 2
    if args.write_config:
        broker = {
            "host": args.broker_host,
            "port": args.broker_port,
            "username": args.gateway_id,
            "password": f"{args.gateway_id}-plant-pw",
            "insecure_plaintext": True,
        }
        config = gateway_config(
            plant, broker, args.gateway_id, data_dir=str(Path(args.data_dir).resolve())
        )
        text = yaml.safe_dump(config, sort_keys=False)
        Path(args.write_config).write_text(text, encoding="utf-8")
    logging.basicConfig(level=logging.INFO)
    _LOGGER.info(
        "serving %d devices of %s on %s:%d…%d",
        len(plant.devices),
        args.network,
        args.host,
        args.port,
        args.port + plant.lines - 1,
    )
    asyncio.run(_serve(plant))
    return 0


async def _serve(plant: VirtualPlant) -> None:  # pragma: no cover - runs until killed
    async with plant:
        await asyncio.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
