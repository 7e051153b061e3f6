"""The virtual plant in its own process, for the gateway harness (``devtools/gateway_field.py``).

Served from the Home Assistant test process, the plant's Modbus servers answered the gateway's
polls only when that process's event loop was free: beside CPU burners one healthy gateway
start in four (``test_gateway_healthy_alarms``) had answers after the gateway's 1 s timeout
and raised ``success_rate`` alarms (§6.0.6) that no real plant would cause. Here the plant runs
``scripts/virtual_plant.py``'s :class:`VirtualPlant` in a child process with its own event
loop; its lines are bound on ports the system gives (``port=0``: no port picked free first and
bound later, which a suite beside could take). The harness drives it through a pipe: plant time,
hand-turned valves, device faults, instrument errors, and reads of its state.

Run by :class:`PlantProcess` (``python -m devtools.plant_proc FD LOG``), not by hand.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from custom_components.heatbalance.engine.model import Network
    from custom_components.heatbalance.engine.simulator import PlantState
    from scripts.virtual_plant import PlantDevice, VirtualPlant

ROOT = Path(__file__).resolve().parents[1]
START_GUARD_S = 120.0  # turns a plant that never starts into an error, not a timing figure


class PlantProcess:
    """A :class:`VirtualPlant` of ``network`` served by a child process; ``plant``: its
    keyword options (``noise``, ``missing``, ``substation_meter``, ``seed``, ``speed``,
    ``tick_s``)."""

    def __init__(self, network: Network, log: Path, **plant: Any) -> None:
        self.network = network
        self.log = log
        self.options = plant
        self.process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self.ids: list[str] = []
        self.devices: list[PlantDevice] = []
        self.ports: list[int] = []
        self.host = "127.0.0.1"
        self.substation_meter = bool(plant.get("substation_meter"))
        self.sim = RemoteSim(self)

    def start(self) -> None:
        """Start the child and wait until every line is served (blocking: a second or two)."""
        ours, theirs = socket.socketpair()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devtools.plant_proc", str(theirs.fileno())],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
            )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send((self.network, self.options))
        if not self._conn.poll(START_GUARD_S):
            raise RuntimeError(f"virtual plant process did not start: {self._log_tail()}")
        self.ids, self.devices, self.ports = self._answer()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run one of the plant's operations (:data:`OPERATIONS`) in the child; its result."""
        if self._conn is None:
            raise RuntimeError("virtual plant process not started")
        self._conn.send((name, args, kwargs))
        return self._answer()

    def _answer(self) -> Any:
        assert self._conn is not None
        try:
            status, value = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"virtual plant process ended: {self._log_tail()}") from None
        if status != "ok":
            raise RuntimeError(f"virtual plant: {value}")
        return value

    def _log_tail(self) -> str:
        return self.log.read_text("utf-8", "replace")[-2000:] if self.log.exists() else ""

    def stop(self) -> None:
        """Close the pipe (the child stops its servers and exits), then make sure it did."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # --- the plant's operations, as VirtualPlant offers them -----------------------------------
    def advance(self, dt_s: float) -> None:
        """Plant time ``dt_s`` on."""
        self.call("advance", dt_s)

    def turn(self, inlet: str, opening: float) -> None:
        """A valve turned on site (0…1)."""
        self.call("turn", inlet, opening)

    def rewind(self) -> None:
        """The instruments' draws start again at the seed's first (a benchmark's fresh start
        reads what the engine's first measurement of that seed reads)."""
        self.call("rewind")

    def set_flow_bias(self, inlet: str, factor: float) -> None:
        """The inlet's flow meter reads ``factor`` of the truth from now on."""
        self.call("set_flow_bias", inlet, factor)

    def set_lost(self, inlets: set[str]) -> None:
        """The inlets whose meter reads invalid values now."""
        self.call("set_lost", sorted(inlets))

    @property
    def moves(self) -> list[tuple[str, float, float]]:
        """Every setpoint the plant's valves received: (inlet, stood, commanded), 0…1."""
        return list(self.call("moves"))

    def gateway_buses(
        self, poll_interval: float = 5.0, timeout: float = 1.0
    ) -> list[dict[str, Any]]:
        """The ``buses`` of a gateway config polling the plant (on its served ports)."""
        return list(self.call("gateway_buses", poll_interval, timeout))


class RemoteSim:
    """The child's simulator as the harness reads and breaks it (the parts the tests use)."""

    def __init__(self, plant: PlantProcess) -> None:
        self._plant = plant
        self.network = plant.network

    @property
    def ids(self) -> list[str]:
        """The inlets in the simulator's order."""
        return self._plant.ids

    def state(self) -> PlantState:
        """The plant's true state now."""
        state: PlantState = self._plant.call("state")
        return state

    @property
    def openings(self) -> np.ndarray:
        """Every valve's true position (0…1), in :attr:`ids` order."""
        import numpy as np

        return np.asarray(self._plant.call("openings"))

    @property
    def pump_speed(self) -> float:
        """The pump's true speed."""
        return float(self._plant.call("pump_speed"))

    def set_opening(self, inlet: str, opening: float) -> None:
        """Put a valve somewhere (as turned by hand)."""
        self._plant.turn(inlet, opening)

    def inject_fault(self, inlet: str, kind: str, **kwargs: Any) -> None:
        """Break an inlet's valve (``Simulator.inject_fault``)."""
        self._plant.call("inject_fault", inlet, kind, **kwargs)


# --- the child ---------------------------------------------------------------------------------
def _set_flow_bias(plant: VirtualPlant, inlet: str, factor: float) -> None:
    plant.flow_bias[inlet] = factor


def _set_lost(plant: VirtualPlant, inlets: list[str]) -> None:
    plant.lost = set(inlets)


OPERATIONS: dict[str, Any] = {
    "advance": lambda p, dt_s: p.advance(dt_s),
    "turn": lambda p, inlet, opening: p.turn(inlet, opening),
    "rewind": lambda p: p.rewind(),
    "inject_fault": lambda p, inlet, kind, **kw: p.inject_fault(inlet, kind, **kw),
    "set_flow_bias": _set_flow_bias,
    "set_lost": _set_lost,
    "state": lambda p: p.sim.state(),
    "openings": lambda p: [float(x) for x in p.sim.openings],
    "pump_speed": lambda p: float(p.sim.pump_speed),
    "moves": lambda p: list(p.moves),
    "gateway_buses": lambda p, poll, timeout: p.gateway_buses(poll, timeout),
}


async def _serve(conn: Connection) -> None:
    """Serve the plant; answer the harness's operations between Modbus requests (one loop:
    a register read never sees a half-done operation); stop when the pipe closes."""
    from custom_components.heatbalance.engine.simulator import Simulator
    from scripts.virtual_plant import VirtualPlant

    network, options = conn.recv()
    sim = Simulator(network, outdoor_c=network.design.outdoor_c)
    plant = VirtualPlant(sim, port=0, **options)
    await plant.start()
    conn.send(("ok", (list(sim.ids), plant.devices, list(plant.ports))))
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()

    def on_message() -> None:
        try:
            name, args, kwargs = conn.recv()
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            closed.set()
            return
        try:
            answer: tuple[str, Any] = ("ok", OPERATIONS[name](plant, *args, **kwargs))
        except Exception as err:  # reported to the harness, which raises it
            answer = ("error", f"{name}: {err!r}")
        conn.send(answer)

    loop.add_reader(conn.fileno(), on_message)
    try:
        await closed.wait()
    finally:
        await plant.stop()


def main(argv: list[str]) -> int:
    """Child entry: ``FD`` is this end of the harness's socket pair."""
    logging.basicConfig(level=logging.WARNING)
    conn = Connection(int(argv[0]))
    asyncio.run(_serve(conn))
    return 0


if __name__ == "__main__":  # pragma: no cover - the child process
    sys.exit(main(sys.argv[1:]))
