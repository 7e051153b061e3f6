"""Product benchmark: balancing measured through Home Assistant, next to the CLI's.

Runs the integration inside Home Assistant's own test harness (pytest-homeassistant-custom-
component: config flow → entry → ``coordinator.async_refresh()``), one network and source
kind and algorithm a run, and prints per run

* steps to band in HA (the first cycle from which every later cycle's verdict is in band,
  counted like ``heatbalance balance``'s steps: cycle k judges the plant after k commands)
  and the CLI's (``run_balance``) for the same network, level, algorithm and outdoor
  temperature (the design outdoor temperature: the demo plant's weather is held there);
  the entry's first refresh at setup is step 0 (the untouched plant, first commands);
* the coordinator's cycle time (median and max of ``async_refresh`` wall time, acquisition
  and engine together; and the median CPU time the process spent meanwhile, all threads —
  on a shared machine wall time includes waiting for a core, CPU time does not), the CPU
  time of the event loop's thread per cycle (what ran *on* the loop, not in the executor),
  the loop's longest stall during the cycles (a 5 ms heartbeat: on a loaded machine it also
  counts waiting for a core) and its longest single callback in the loop thread's CPU time
  (what blocked it, load aside), the entry's entities (enabled / registered), the entry's
  start time (config flow → entry set up, first cycle included),
  its reload time after the cycles (unload with the Store written, setup from the Store:
  what a restart of Home Assistant costs this entry; with ``--verbose`` the setup alone and
  both starts' CPU time) and the process's resident-memory
  growth from before the entry to after the cycles.

Source kinds: ``simulated`` (the entry's own simulated plant); ``entities``: every building
inlet mapped to Home Assistant entities — sensors for flow, supply, return, room and an
``input_number`` valve — which a separate simulated plant (the "field") drives: the field's
valves follow the input numbers, its readings are written to the sensors every cycle. The
field's households (no subentry, no entity) keep their valves; its pump its speed.
``gateway``: every building inlet on the gateway — the virtual plant's Modbus heat meters and
electric valves, polled by the gateway add-on as a process, over a real mosquitto to HA's MQTT
(``devtools/gateway_field.py``); each cycle waits for the gateway's command answers and fresh
readings (not counted in the cycle time); the gateway polls each device at most every 0.2 s
and the field offers at most 100 readings a second (``devtools/gateway_field.py``), and the
row says how often the gateway resent readings Home Assistant had not acknowledged in time.
Not run on gen23k (1,540 Modbus devices). ``--gateway-outage K``: the gateway process is
stopped cleanly (retained ``offline``) just before cycle K and started again when the cycle
returns, so every valve command of that cycle is held, sent on ``online`` and confirmed (the
row then says how many were held, sent, confirmed, never sent, and how long after the restart
the last answer came); steps to band should be those of a run without the outage.

``--noise PCT`` / ``--missing PCT`` / ``--seeds N``: imperfect instruments, the same on
both sides, seed by seed (issue 10: "steps to band in HA equal the CLI's ±1"). The simulated
source reads through the entry's options ``simulated_noise``, ``simulated_dropout`` and
``simulated_seed`` (draws restarted at the fresh start); the gateway's virtual plant draws
from the entry's seed; the entities field writes the draws of the run's seed to the sensors
(:class:`Field`, restarted at the fresh start; a lost inlet's four sensors unavailable);
the CLI column is ``run_balance``'s loop reading the same draws as
that source delivers them (:class:`InstrumentedCli`; all from ``engine/instruments.py``, one
draw per cycle in one order). HA's steps are judged on the plant's true state over every
inlet, as the CLI's (:class:`TrueVerdicts`; also with exact readings: HA's own verdict judges
only its managed inlets, on households1200 the 40 buildings); HA's verdict on its readings
and the one it shows, on its estimates (``ha_steps_estimate``, issue 9 item 1), are printed
beside.

    .venv/ha2026/bin/python benchmarks/bench_product.py                # the table
    .venv/ha2026/bin/python benchmarks/bench_product.py --only estate12 --source entities
    .venv/ha2026/bin/python benchmarks/bench_product.py --only estate12 --source simulated \
        --noise 2 --seeds 3

Timed as Home Assistant runs, not as its test harness does: asyncio debug mode off, log
handlers behind HA's queue, Stores read and written as files in the executor (the harness
writes log lines, copies and checks Store data on the event loop). ``--verbose`` adds the
start's and the setup-from-Store's CPU time, the garbage collector's time and where each
phase's longest event-loop callback spent it.

The coordinator's own timer is off: the benchmark runs every refresh itself, so a cycle longer
than the coordinator's interval (gen23k at load) adds no cycle of HA's timer; a refresh the
benchmark did not run is counted and printed (``--ha-timer`` keeps the timer on).

Not a test: figures vary with the machine's load. Runs as a script; it runs itself under
pytest to get Home Assistant's harness. Results and logs go to ``$BENCH_PRODUCT_OUT/
bench_product`` when that is set, else to a fresh folder of this run's own (printed first).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "addon")]

import pytest  # noqa: E402
from homeassistant.helpers import storage as ha_storage  # noqa: E402

import custom_components.heatbalance  # noqa: E402, F401  (the harness finds it first)
from custom_components.heatbalance.engine.cli_balance import (  # noqa: E402
    Decision,
    make_controller,
    run_balance,
)
from custom_components.heatbalance.engine.control.safety import SafetyLimits  # noqa: E402
from custom_components.heatbalance.engine.evaluation import BalanceStateMachine  # noqa: E402
from custom_components.heatbalance.engine.instruments import draw  # noqa: E402
from custom_components.heatbalance.engine.loader import load_network, network_to_dict  # noqa: E402
from custom_components.heatbalance.engine.networks.generator import generate_network  # noqa: E402
from custom_components.heatbalance.engine.simulator import PlantState, Simulator  # noqa: E402
from devtools.case_run import run_case  # noqa: E402
from devtools.field_plant import (  # noqa: E402
    entity_mapping,
    follow_numbers,
    number_field_entity,
    write_drawn,
    write_exact,
)

BUILTIN = ("estate12", "loop8", "district120", "households1200")
GENERATED = {  # name: (buildings, households per building, seed, loop)
    "gen60": (60, 0, 1, False),
    "gen40x10": (40, 10, 2, False),
    "gen150loop": (150, 0, 3, True),
    "gen23k": (770, 30, 4, False),  # 23,100 households
}
RESULTS = Path(os.environ.get("BENCH_PRODUCT_OUT", tempfile.gettempdir())) / "bench_product"
ALGORITHMS = {"traditional": "traditional", "ai": "model"}
# the level judged and regulated at (``--level``; the case's subprocess reads it back)
LEVEL = os.environ.get("BENCH_PRODUCT_LEVEL") or "intermediate"
NO_GATEWAY = ("gen23k",)  # 1,540 Modbus devices: beyond one gateway polling every 0.2 s
NETWORK_FILES: dict[str, Path] = {}  # networks other benchmarks wrote (bench_product_faults)
# Home Assistant's own Store I/O, taken before the harness replaces it by an in-memory mock
REAL_STORE = {n: ha_storage.Store.__dict__[n] for n in ("_async_load", "_async_write_data")}


def _cases() -> list[tuple[str, str, str]]:
    """(network, source, algorithm) of this run, from BENCH_PRODUCT_CASES (JSON)."""
    return [tuple(c) for c in json.loads(os.environ.get("BENCH_PRODUCT_CASES", "[]"))]


def _rss_mb() -> float:
    """Resident memory of this process (MB)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _network_path(name: str) -> Path | None:
    """A generated network written as JSON (None: a built-in one)."""
    if name in NETWORK_FILES:
        return NETWORK_FILES[name]
    if name not in GENERATED:
        return None
    buildings, households, seed, loop = GENERATED[name]
    path = RESULTS / f"{name}.json"
    if not path.exists():  # run directly under pytest (one case), the folder may not be there
        RESULTS.mkdir(parents=True, exist_ok=True)
        net = generate_network(buildings, households, seed, name=name, loop=loop)
        path.write_text(json.dumps(network_to_dict(net)))
    return path


def _shown_in_band(result: Any) -> bool:
    """The network's verdict HA shows (every judged inlet's estimate in band, issue 9)."""
    shown = getattr(result, "estimate_evaluation", None)
    return bool(shown is not None and shown.in_band)


def _steps_to_band(verdicts: list[bool]) -> int | None:
    """First cycle index from which every later verdict is in band (as the CLI counts)."""
    first = None
    for k in range(len(verdicts) - 1, -1, -1):
        if not verdicts[k]:
            break
        first = k
    return first


@dataclasses.dataclass(frozen=True)
class Instruments:
    """The run's instruments (``--noise``, ``--missing``, ``--seeds``): the integration's
    simulated plant (entry options ``simulated_noise``, ``simulated_dropout``,
    ``simulated_seed``), the gateway's virtual plant and the CLI column draw them alike
    (``engine/instruments.py``, one draw per cycle from ``seed``)."""

    noise: float = 0.0  # relative σ on every instrument's value
    missing: float = 0.0  # probability an inlet's readings are lost in a cycle
    seed: int = 0

    @property
    def exact(self) -> bool:
        return self.noise <= 0.0 and self.missing <= 0.0

    def suffix(self) -> str:
        """A run's file-name suffix (empty for exact instruments: the names as before)."""
        if self.exact:
            return ""
        return f"-n{self.noise * 100:g}-m{self.missing * 100:g}-s{self.seed}"

    @classmethod
    def from_env(cls) -> Instruments:
        return cls(
            float(os.environ.get("BENCH_PRODUCT_NOISE") or 0.0),
            float(os.environ.get("BENCH_PRODUCT_MISSING") or 0.0),
            int(os.environ.get("BENCH_PRODUCT_SEED") or 0),
        )


NAN = math.nan


class InstrumentedCli:
    """The CLI's control loop (``cli_balance.make_controller``) reading the plant through
    the run's instruments as the source in Home Assistant reads it, draw for draw: the
    simulated plant every signal noisy (ΔP and room included, the substation's too; a lost
    inlet delivers nothing, its valve position included; no heat counter); the gateway's
    meters flow and temperatures noisy (lost: those three), the valve position read, the
    heat counter exact, no room sensor, ΔP and the substation's figures the model's (here
    the plant's own); HA entities (:class:`Field`) flow, temperatures and room noisy (lost:
    those four sensors), the valve position read (its ``input_number``), no heat meter, no
    valve ΔP, ΔP and the substation's figures the model's. Without it the CLI column read
    exact flows against HA's noisy plant: its ±1 compared unlike with unlike. Missing values
    are NaN (cleaned as missing)."""

    # what a real source's inlet does not deliver, and what it loses with its meters
    UNREAD: ClassVar[dict[str, tuple[str, ...]]] = {
        "gateway": ("room_c", "valve_dp_kpa"),
        "entities": ("valve_dp_kpa", "heat_kwh"),
    }
    LOST: ClassVar[dict[str, tuple[str, ...]]] = {
        "gateway": ("flow_m3h", "supply_c", "return_c"),
        "entities": ("flow_m3h", "supply_c", "return_c", "room_c"),
    }

    def __init__(self, inner: Any, instruments: Instruments, source: str) -> None:
        self.inner = inner
        self.ins = instruments
        self.source = source
        self.simulated = source == "simulated"
        self.rng = np.random.default_rng(instruments.seed)

    @property
    def shown(self) -> list[dict[str, Any]]:
        """The wrapped loop's verdicts per call, on its estimates and on the readings it was
        handed: ``run_balance`` reads them from the controller it is given, so without this
        the CLI's shown verdict was empty whenever the instruments were noisy or lossy."""
        shown: list[dict[str, Any]] = getattr(self.inner, "shown", [])
        return shown

    @property
    def alarms(self) -> list[list[dict[str, Any]]] | None:
        """The wrapped loop's active network alarms per call (``run_balance``'s ``alarms``):
        without this they were null whenever the instruments were noisy or lossy."""
        alarms: list[list[dict[str, Any]]] | None = getattr(self.inner, "alarms", None)
        return alarms

    @property
    def controller(self) -> Any:
        """The wrapped loop's controller, whose learnt corrections ``run_balance`` reports
        (``learned``, §3.0.7-3): null under noisy or lossy instruments without this."""
        return getattr(self.inner, "controller", None)

    def __call__(self, state: PlantState, rng: np.random.Generator) -> Decision:
        drawn = draw(state, self.ins.noise, self.ins.missing, self.rng)
        inlets = {}
        for iid, s in state.inlets.items():
            read = {k: NAN if v is None else v for k, v in drawn.inlets[iid].items()}
            lost = iid in drawn.lost
            if self.simulated:
                read["heat_kwh"] = NAN
                if lost:
                    read = dict.fromkeys((*read, "opening"), NAN)
            else:
                read |= dict.fromkeys(self.UNREAD[self.source], NAN)
                read["dp_available_kpa"] = s.dp_available_kpa
                if lost:
                    read |= dict.fromkeys(self.LOST[self.source], NAN)
            inlets[iid] = dataclasses.replace(s, **read)
        station: dict[str, Any] = {}
        if self.simulated:
            net = {k: v for k, v in drawn.network.items() if v is not None}
            pump = dataclasses.replace(
                state.pump,
                flow_m3h=net.get("pump_flow_m3h", state.pump.flow_m3h),
                head_m=net.get("pump_head_m", state.pump.head_m),
            )
            station = {
                "supply_c": net.get("supply_c", state.supply_c),
                "return_c": net.get("return_c", state.return_c),
                "pump": pump,
            }
        measured = dataclasses.replace(state, inlets=inlets, **station)
        decision: Decision = self.inner(measured, rng)
        return decision


def _cli_min_flow() -> float:
    """The CLI column's minimum-flow guard (``--cli-min-flow``), a share of set flow."""
    return float(os.environ.get("BENCH_PRODUCT_CLI_MIN_FLOW") or 0.0)


def _cli_hold() -> bool:
    """The CLI column with HA's §8.2.5 balanced hold (``--cli-hold``)."""
    return os.environ.get("BENCH_PRODUCT_CLI_HOLD") == "1"


def hold_as_ha(loop: Any) -> BalanceStateMachine:
    """The engine loop ``loop`` run with the §8.2.5/§8.2.6 balance state as HA's coordinator
    runs it (``coordinator.balance``): once balanced the valves are left alone (the proposal
    kept, the pump's trim alone sent) until the balance breaks. The CLI's ``balance``
    regulates every step. Why (24i): gen60 advanced 2 % seed 0 — the CLI's loop, balanced at
    step 6, corrected B017 at step 13 to 0.21 % below the band for good (plant never in
    band), HA's held that proposal (plant in band from step 7). Returns the state."""
    machine = BalanceStateMachine()
    step = loop.step

    def held(meas: Any, **kw: Any) -> Any:
        return step(meas, **(kw | {"balance": machine, "clock_s": meas.time_s}))

    loop.step = held
    return machine


def cli_steps(
    name: str,
    algorithm: str,
    steps: int,
    instruments: Instruments | None = None,
    source: str = "simulated",
    min_flow: float = 0.0,
    hold: bool = False,
) -> dict[str, Any]:
    """The CLI's columns for the same network, level and algorithm: ``cli_steps``, its steps
    to band on the plant's true state ("error: …" when the CLI fails: the HA figures are
    still reported), and ``cli_steps_shown``, the steps to band its loop showed on its
    estimates and on its readings (``run_balance``'s ``steps_to_band_shown``; None when the
    CLI failed); with noisy or lossy ``instruments`` read as ``source`` reads them
    (:class:`InstrumentedCli`); ``min_flow`` > 0 (a share of set flow): the operator's
    minimum-flow guard HA's loop has from the entry's ``min_flow`` option (§5.3.6-3), off
    in the CLI's loop by default (``--cli-min-flow``); ``hold``: HA's §8.2.5 balanced hold
    (:func:`hold_as_ha`, ``--cli-hold``), none in the CLI's ``balance``."""
    path = _network_path(name)
    net = load_network(path if path else name)
    ins = instruments or Instruments()
    try:
        controller: Any = None
        if not ins.exact or min_flow > 0 or hold:
            controller = make_controller(net, ALGORITHMS[algorithm], level=LEVEL, target="flow")
        if min_flow > 0:
            loop = controller.loop  # the engine's ControlLoop behind the CLI's adapter
            limits = SafetyLimits(min_flow_ratio=min_flow)
            ctl = dataclasses.replace(loop.config.controller, limits=limits)
            loop.configure(dataclasses.replace(loop.config, controller=ctl))
        if hold:
            hold_as_ha(controller.loop)
        if not ins.exact:
            controller = InstrumentedCli(controller, ins, source)
        report = run_balance(
            net,
            level=LEVEL,
            target="flow",
            steps=steps,
            algorithm=ALGORITHMS[algorithm],
            controller=controller,
        )
    except Exception as err:  # any CLI failure is a figure of this table
        return {"cli_steps": f"error: {err}", "cli_steps_shown": None}
    return {
        "cli_steps": report["steps_to_band"],
        "cli_steps_shown": report["steps_to_band_shown"],
        "cli_alarms": report["alarms"],
        "cli_learned": report["learned"],
    }


# --- the harness part (runs under pytest) ---------------------------------------------------
@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/heatbalance."""


class Field:
    """The simulated "real" plant behind HA entities: sensors written, valves followed.
    With noisy or lossy ``instruments`` the sensors carry ``engine/instruments.py``'s draws
    from the run's seed, one draw per publish (one a cycle), every inlet of the plant in its
    order as the CLI column draws them (:class:`InstrumentedCli`, source "entities")."""

    def __init__(
        self, hass: Any, network: Any, inlets: list[str], instruments: Instruments | None = None
    ) -> None:
        self.hass = hass
        self.sim = Simulator(network, outdoor_c=network.design.outdoor_c)
        self.inlets = inlets
        self.ins = instruments or Instruments()
        self.rng = np.random.default_rng(self.ins.seed)

    def entity(self, iid: str, what: str) -> str:
        return number_field_entity(iid, what)

    def publish(self) -> None:
        """Write the field's readings to the sensors (exact, or this cycle's draw)."""
        if self.ins.exact:
            write_exact(self.hass, self.sim.state(), self.inlets)
            return
        drawn = draw(self.sim.state(), self.ins.noise, self.ins.missing, self.rng)
        write_drawn(self.hass, drawn, self.inlets)

    def rewind(self) -> None:
        """The draws restart at the seed's first: the next publish is the CLI's step 0."""
        self.rng = np.random.default_rng(self.ins.seed)

    def follow_and_advance(self, dt_s: float) -> None:
        """The field valves go where HA set them; the plant runs a cycle."""
        follow_numbers(self.hass, self.sim, self.inlets, self.entity)
        self.sim.advance(dt_s)


async def _add_entry(
    hass: Any, name: str, algorithm: str, extra: dict[str, Any] | None = None
) -> Any:
    """The network added through the config flow, with the run's options (``extra``: more
    of them, such as the simulated plant's instruments)."""
    from homeassistant import config_entries

    from custom_components.heatbalance.const import CONF_NETWORK, CONF_PATH, DOMAIN

    path = _network_path(name)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    data = {CONF_PATH: str(path)} if path else {CONF_NETWORK: name}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    entry = result["result"]
    await hass.async_block_till_done()
    options = dict(entry.options) | {"algorithm": algorithm, "level": LEVEL} | (extra or {})
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()
    return entry


async def _untouched(
    hass: Any, coordinator: Any, field: Field | None, simulated: bool = False
) -> None:
    """Back to the network's initial plant and a fresh controller: the setup's first
    refresh ran with the default options, before the benchmark's were applied."""
    from custom_components.heatbalance.cycle import CycleMemory

    sim, net = coordinator.simulator, coordinator.network
    if simulated:
        # the simulated plant is the truth: from the CLI's start (``run_balance``: a fresh
        # simulator at the design outdoor temperature, its rooms settled there, time 0).
        # HA's was built at the simulator's default −5 °C and ran the setup's refreshes on
        # the entry's weather; with the valves alone put back, gen60's rooms started at
        # 20.7 °C, the CLI's at 18.5 °C, and cooled 1.6 K in 16 cycles (24i, issue 10)
        Simulator.__init__(sim, net, outdoor_c=net.design.outdoor_c)
    for iid, inlet in net.inlets.items():
        sim.set_opening(iid, inlet.device.opening)
    sim.set_pump_speed(net.substation.pump.speed)
    coordinator.memory = CycleMemory()
    coordinator.balance = BalanceStateMachine()  # the setup's refreshes fed it their verdicts
    coordinator.sent = {}
    coordinator.plant.restart_draws()  # step 0 reads the seed's first draw, as the CLI's
    if field is not None:
        for iid in field.inlets:
            hass.states.async_set(field.entity(iid, "valve"), "100.0", {"min": 0, "max": 100})
        field.rewind()  # step 0 reads the seed's first draw, as the CLI's
        field.publish()
    await hass.async_block_till_done()


class TrueVerdicts:
    """The band verdict of the plant's true state each cycle, judged as the CLI judges its
    steps (``evaluate`` of the level, flow target). With noisy instruments HA's own verdict
    judges its readings: estate12 PI 1 % seed 1 held from step 3 on the plant, yet HA showed
    one inlet at +10.4 % at step 11 (a 1 % reading beside the band's edge) and counted 12.
    The state a refresh reads: the simulated plant's step (recorded as it returns), or the
    field's or the virtual plant's state just before the refresh (``field``)."""

    def __init__(self, coordinator: Any, field: Any = None) -> None:
        from custom_components.heatbalance.engine.evaluation import evaluate

        self._evaluate = evaluate
        self.field = field
        self.verdicts: list[bool] = []
        self.state: PlantState | None = None
        if field is None:
            sim = coordinator.simulator
            self.network = sim.network
            step = sim.step

            def stepped(dt_s: float) -> PlantState:
                self.state = step(dt_s)
                return self.state

            sim.step = stepped
        else:
            self.network = field.sim.network

    def before_refresh(self) -> None:
        """A real source's plant as the coming refresh reads it."""
        if self.field is not None:
            self.state = self.field.sim.state()

    def judge(self) -> None:
        """The verdict of the state the last refresh read."""
        ev = self._evaluate(self.network, self.state, level=LEVEL, target="flow")
        self.verdicts.append(bool(ev.in_band))


async def _map_to_entities(hass: Any, entry: Any, field: Field) -> None:
    """Every subentry's inlet to the field's entities (one reload for all)."""
    from homeassistant.setup import async_setup_component

    numbers = {
        f"field_{iid.lower()}_valve": {"min": 0, "max": 100, "step": 0.01, "initial": 100}
        for iid in field.inlets
    }
    assert await async_setup_component(hass, "input_number", {"input_number": numbers})
    field.publish()
    for sub in list(entry.subentries.values()):
        data = dict(sub.data) | entity_mapping(field, sub.data["inlet_id"])
        hass.config_entries.async_update_subentry(entry, sub, data=data)
    await hass.async_block_till_done()


class Heartbeat:
    """The event loop's longest stall: a task that wants to run every 5 ms. ``worst_at``
    is when the longest began and ended, and ``long`` every stall of at least
    :attr:`LONG_S` (``time.perf_counter``), to tell what ran meanwhile
    (:meth:`StartParts.during`)."""

    LONG_S = 0.1

    def __init__(self) -> None:
        self.worst_s = 0.0
        self.worst_at = (0.0, 0.0)
        self.long: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            if now - due > self.worst_s:
                self.worst_s, self.worst_at = now - due, (due, now)
            if now - due >= self.LONG_S:
                self.long.append((due, now))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat())

    def stop(self) -> None:
        if self._task:
            self._task.cancel()


class GcPauses:
    """CPU time the garbage collector takes (in whichever thread it runs; it holds the GIL,
    so the event loop waits as long): the longest pause and the total."""

    def __init__(self) -> None:
        self.total_s = 0.0
        self.worst_s = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.thread_time()
        else:
            spent = time.thread_time() - self._began
            self.total_s += spent
            self.worst_s = max(self.worst_s, spent)

    def __enter__(self) -> GcPauses:
        import gc

        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        import gc

        gc.callbacks.remove(self)


GC = GcPauses()


class LongestCallback:
    """The longest single callback on the event loop, in the loop thread's CPU time: what
    blocked the loop, whatever the machine's load (the heartbeat's stall also counts waiting
    for a core and for the executor's GIL). A sampling thread looks at the loop thread's
    stack every few ms while a callback runs longer than 20 ms, so the longest one is named
    by where it spent its time, not only by the task it belongs to (a task's step runs
    whatever the coroutine awaits without suspending: a refresh, an unload)."""

    SAMPLE_S = 0.004
    AFTER_S = 0.02
    running: ClassVar[set[LongestCallback]] = set()  # started, not yet stopped

    def __init__(self) -> None:
        self.worst_s = 0.0
        self.worst = ""
        self.where: list[tuple[str, int]] = []  # (stack, samples) of the longest callback
        self.worst_gc_s = 0.0  # the garbage collector's share of it (CPU time)
        self._run = asyncio.events.Handle._run
        self._started: float | None = None
        self._samples: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self) -> None:
        original = self._run
        loop_thread = threading.get_ident()

        def timed(handle: asyncio.events.Handle) -> None:
            callback = handle._callback  # a timer's is gone once it ran
            samples: collections.Counter[str] = collections.Counter()
            self._samples = samples
            gc_before = GC.total_s
            before = time.thread_time()
            self._started = time.perf_counter()
            try:
                original(handle)
            finally:
                self._started = None
            spent = time.thread_time() - before
            if spent > self.worst_s and not self._stop.is_set():  # a step ending after stop
                # ran on into what the caller does next (the reload after the cycles)
                self.worst_s, self.worst = spent, _what_ran(callback)
                self.where = samples.most_common(4)
                self.worst_gc_s = GC.total_s - gc_before

        def sample() -> None:
            while not self._stop.wait(self.SAMPLE_S):
                started = self._started
                if started is None or time.perf_counter() - started < self.AFTER_S:
                    continue
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    self._samples[_stack(frame)] += 1

        self._stop.clear()
        LongestCallback.running.add(self)
        self._sampler = threading.Thread(target=sample, name="bench-sampler", daemon=True)
        self._sampler.start()
        asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    def stop(self) -> None:
        LongestCallback.running.discard(self)
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()

    def report(self) -> dict[str, Any]:
        """The figures and where the longest callback spent its samples."""
        return {
            "ms": self.worst_s * 1000.0,
            "gc_ms": self.worst_gc_s * 1000.0,
            "what": self.worst,
            "where": self.where,
        }


class StartParts:
    """CPU (all threads) and wall seconds of the parts of an entry's setup, in the order HA
    runs them: the config flow's network check, the records database, the network load
    (executor), the simulator's model, the first cycle (control loop built), the platforms
    (entities, registries, first state writes). The parts run one after the other, so the
    process's CPU time while one runs is that part's (the heartbeat and sampler threads
    aside); what no part covers (flows, options, the update listener) is the remainder.
    Parts named "· …" run inside those: the Stores' reads, the learning's restore, the
    engine's cycle, the commands' send and any Store save (the timer's, 30 s after a cycle)."""

    PARTS = (
        ("custom_components.heatbalance.config_flow", "build_network", "flow load"),
        ("custom_components.heatbalance.records", "async_setup_records", "records"),
        ("custom_components.heatbalance.lifecycle", "build_network", "network load"),
        ("custom_components.heatbalance.lifecycle", "plant_network", "plant"),
        ("custom_components.heatbalance.lifecycle", "Simulator", "simulator"),
        (
            "custom_components.heatbalance.coordinator",
            "HeatbalanceCoordinator.async_config_entry_first_refresh",
            "first cycle",
        ),
        (
            "homeassistant.config_entries",
            "ConfigEntries.async_forward_entry_setups",
            "platforms",
        ),
        # inside the parts above (issue 10, HA start): the Stores read, the learning
        # restored, the engine's cycle, the commands sent, and any Store save that ran
        ("homeassistant.helpers.storage", "Store.async_load", "· Store read"),
        ("custom_components.heatbalance.coordinator", "restore_state", "· restore"),
        ("custom_components.heatbalance.coordinator", "run_cycle", "· engine cycle"),
        (
            "custom_components.heatbalance.coordinator",
            "HeatbalanceCoordinator.async_send",
            "· send",
        ),
        (
            "custom_components.heatbalance.coordinator",
            "HeatbalanceCoordinator.async_save",
            "· save",
        ),
    )

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}
        self.spans: list[tuple[str, float, float]] = []  # (part, wall began, ended)

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        """The parts' functions wrapped for the block's duration."""
        import functools
        import importlib
        import inspect

        saved = []
        for module_name, dotted, label in self.PARTS:
            owner: Any = importlib.import_module(module_name)
            *outer, name = dotted.split(".")
            for attr in outer:
                owner = getattr(owner, attr)
            func = getattr(owner, name)
            saved.append((owner, name, func if name in vars(owner) else None))
            wrap = self._async if inspect.iscoroutinefunction(func) else self._sync
            setattr(owner, name, functools.wraps(func)(wrap(func, label)))
        try:
            yield
        finally:
            for owner, name, func in saved:
                if func is None:
                    delattr(owner, name)  # inherited: the base class's again
                else:
                    setattr(owner, name, func)

    def _add(self, label: str, cpu: float, wall: float) -> None:
        spent = self.spent.setdefault(label, [0.0, 0.0])
        spent[0] += time.process_time() - cpu
        now = time.perf_counter()
        spent[1] += now - wall
        self.spans.append((label, wall, now))

    def during(self, began: float, ended: float) -> list[str]:
        """The parts that ran while [began, ended] (``time.perf_counter``), in the order
        they began: what an event-loop stall of that time fell in."""
        spans = sorted((b, label) for label, b, e in self.spans if b < ended and e > began)
        return list(dict.fromkeys(label for _, label in spans))

    def _sync(self, func: Any, label: str) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self._add(label, cpu, wall)

        return run

    def _async(self, func: Any, label: str) -> Any:
        async def run(*args: Any, **kwargs: Any) -> Any:
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                self._add(label, cpu, wall)

        return run

    def report(self) -> dict[str, list[float]]:
        out, self.spent = self.spent, {}
        return out


def _stack(frame: Any, depth: int = 7) -> str:
    """The innermost frames of the integration and Home Assistant (inner first)."""
    names: list[str] = []
    while frame is not None and len(names) < depth:
        path = frame.f_code.co_filename
        if "heatbalance" in path or "homeassistant" in path or not names:
            names.append(f"{Path(path).stem}:{frame.f_code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(names)


def _what_ran(callback: Any) -> str:
    """A callback's name; for a task's step, the task (its coroutine and where it waits)."""
    import gc

    tasks = [t for t in gc.get_referents(callback) if isinstance(t, asyncio.Task)]
    return repr(tasks[0] if tasks else callback)[:300]


def _entity_count(hass: Any, entry: Any) -> tuple[int, int]:
    """The entry's entities: (enabled, registered)."""
    from homeassistant.helpers import entity_registry as er

    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    return sum(not e.disabled for e in entries), len(entries)


def _entity_limit(hass: Any, entry: Any) -> dict[str, Any]:
    """The entry's budget of enabled entities (``entity_budget``, HA 2026's limit on both
    versions): the network's own entities registered and with a state, the inlet entities
    the repair says were left disabled (0: no repair), and the inlets' main readings
    (``MAIN_KEYS``) enabled of those registered (one HA dropped is not registered)."""
    from homeassistant.helpers import entity_platform
    from homeassistant.helpers import entity_registry as er
    from homeassistant.helpers import issue_registry as ir

    from custom_components.heatbalance.const import DOMAIN
    from custom_components.heatbalance.entity_budget import MAIN_KEYS, budget

    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    network = [e for e in entries if e.config_subentry_id is None]
    main = [
        e
        for e in entries
        if e.config_subentry_id is not None
        and e.unique_id.endswith(tuple(f"_{k}" for k in MAIN_KEYS))
    ]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_entities_left_disabled")
    placeholders = (issue.translation_placeholders or {}) if issue else {}
    return {
        "limit": budget(getattr(entity_platform, "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", None)),
        "network": len(network),
        "network_with_state": sum(hass.states.get(e.entity_id) is not None for e in network),
        "left_disabled": int(placeholders.get("count", 0)),
        "main": (sum(not e.disabled for e in main), len(main)),
    }


class LoopProfile:
    """cProfile of the entry's start and of the cycles, written to
    ``$BENCH_PRODUCT_PROFILE/<case>-<part>.prof`` when that variable is set. On Python 3.12+
    cProfile sees every thread (the loop's and the executor's): the loop's own share is the
    loop CPU column."""

    def __init__(self, case: str) -> None:
        import cProfile

        folder = os.environ.get("BENCH_PRODUCT_PROFILE")
        self.path = Path(folder) / case if folder else None
        self.prof = cProfile.Profile() if folder else None

    def enable(self) -> None:
        if self.prof is not None:
            self.prof.enable()

    def dump(self, part: str) -> None:
        if self.prof is not None and self.path is not None:
            self.prof.disable()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.prof.dump_stats(f"{self.path}-{part}.prof")
            self.prof.clear()

    @contextlib.contextmanager
    def part(self, part: str) -> Iterator[None]:
        self.enable()
        try:
            yield
        finally:
            self.dump(part)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (gateway runs; FACTS.md)."""
    return True


async def _gateway_field(
    request: Any, hass: Any, entry: Any, instruments: Instruments | None = None
) -> Any:
    """The gateway chain started and every inlet mapped to it (loopback sockets on); the
    virtual plant's meters read through ``instruments`` (the entry's seed)."""
    from devtools.gateway_field import GatewayField

    request.getfixturevalue("socket_enabled")
    request.getfixturevalue("mock_hass_config")  # MQTT reads configuration.yaml
    coordinator = entry.runtime_data.coordinator
    folder = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    ins = instruments or Instruments()
    field = GatewayField(
        hass,
        coordinator.network,
        folder,
        list(coordinator.inlets),
        noise=ins.noise,
        missing=ins.missing,
        seed=coordinator.settings.sim_seed,
    )
    request.addfinalizer(field.close)
    await field.async_start()
    await field.async_map(entry)
    return field


@contextlib.contextmanager
def _logging_as_home_assistant(hass: Any) -> Iterator[None]:
    """Log handlers behind Home Assistant's queue, as HA runs them: the harness's handlers
    (stderr, pytest's capture) otherwise write every INFO line on the event loop — the
    entity registry logs one per entity created (half of district120's start on the loop)."""

    from homeassistant.util.logging import async_activate_log_queue_handler

    async_activate_log_queue_handler(hass)
    queue = logging.root.handlers[-1]
    try:
        yield
    finally:
        logging.root.removeHandler(queue)
        listener = getattr(queue, "listener", None)
        handlers = listener.handlers if listener is not None else ()
        queue.close()  # stops the listener after it has written what is queued
        for handler in handlers:
            logging.root.addHandler(handler)


@pytest.mark.parametrize("case", _cases(), ids=lambda c: "-".join(c))
async def test_product(hass: Any, request: Any, case: tuple[str, str, str]) -> None:
    """One benchmark run (see the module docstring); writes its figures as JSON."""
    if os.environ.get("BENCH_PRODUCT_NO_GC_FREEZE"):  # to measure what the freeze does
        from custom_components.heatbalance import gc_tuning

        request.getfixturevalue("monkeypatch").setattr(gc_tuning, "LARGE_NETWORK", 10**9)
    if os.environ.get("BENCH_PRODUCT_NO_GC_PAUSE"):  # the freeze alone, as before the pause
        from custom_components.heatbalance import entity, gc_tuning

        monkeypatch = request.getfixturevalue("monkeypatch")
        for module in (gc_tuning, entity):
            monkeypatch.setattr(module, "paused", lambda _inlets: contextlib.nullcontext())
        monkeypatch.setattr(entity, "freeze_large", lambda _inlets: None)
    if os.environ.get("BENCH_PRODUCT_NO_GC_SETTLE"):  # cycles not settled (gc_tuning.settle)
        from custom_components.heatbalance import gc_tuning

        request.getfixturevalue("monkeypatch").setattr(gc_tuning, "settle", lambda: None)
    refreshes = _refreshes_counted(request.getfixturevalue("monkeypatch"))
    with _logging_as_home_assistant(hass), _real_storage(hass), GC:
        try:
            await _run_case(hass, request, case, refreshes)
        finally:  # a failed run's sampler would also fail the harness's thread check
            for running in list(LongestCallback.running):
                running.stop()


def _refreshes_counted(monkeypatch: Any) -> list[int]:
    """The coordinator's own timer off, and every refresh counted (``[n]``).

    The benchmark drives the cycles itself. With HA's timer on, a cycle or a start longer than
    the coordinator's interval (10 s wall: gen23k at load) let the timer run refreshes of its
    own before the reset (``_untouched``) and between measured steps: the plant moved on
    uncounted cycles, so the share in band per step depended on wall time."""
    from custom_components.heatbalance.coordinator import HeatbalanceCoordinator

    count = [0]
    update = HeatbalanceCoordinator._async_update_data

    async def counted(self: Any) -> Any:
        count[0] += 1
        return await update(self)

    if not os.environ.get("BENCH_PRODUCT_HA_TIMER"):
        monkeypatch.setattr(HeatbalanceCoordinator, "_schedule_refresh", lambda self: None)
    monkeypatch.setattr(HeatbalanceCoordinator, "_async_update_data", counted)
    return count


@contextlib.contextmanager
def _real_storage(hass: Any) -> Iterator[None]:
    """Stores load and write files as in Home Assistant (read and written in the executor),
    in a folder of their own: the harness keeps them in memory and deep-copies and checks
    every load and write on the event loop (0.8 s a write of gen23k's Store)."""
    from unittest.mock import patch

    folder = tempfile.mkdtemp(prefix="bench-config-")
    config_dir = hass.config.config_dir
    hass.config.config_dir = folder
    try:
        with patch.multiple(ha_storage.Store, **REAL_STORE):
            yield
    finally:
        hass.config.config_dir = config_dir


class HaChecks(logging.Handler):
    """Home Assistant's own event-loop checks, as ``hass --debug`` and its test setup run them:
    asyncio's debug mode with its slow-callback warning at 100 ms (``slow_callback_duration``),
    ``hass.config.debug`` (HA's thread-safety checks) and ``block_async_io.enable()`` (what
    HA's bootstrap turns on: blocking file, sleep, import, SSL calls on the loop are reported).
    Records every warning they log, with the benchmark's phase (start, cycles, reload)."""

    phase = "start"
    LOGGERS = ("asyncio", "homeassistant.util.loop", "homeassistant.helpers.frame")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[dict[str, str]] = []

    @classmethod
    def start(cls, hass: Any) -> HaChecks:
        from homeassistant import block_async_io

        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = 0.1  # asyncio's default, said explicitly
        hass.config.debug = True
        block_async_io.enable()  # one case per process: enabled once
        checks = cls()
        for name in cls.LOGGERS:
            logging.getLogger(name).addHandler(checks)
        return checks

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_text:
            text += "\n" + record.exc_text
        self.found.append({"phase": self.phase, "logger": record.name, "msg": text[:1500]})

    def stop(self) -> list[dict[str, str]]:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)
        return self.found


async def _run_case(
    hass: Any, request: Any, case: tuple[str, str, str], refreshes: list[int]
) -> None:
    """The benchmark run of :func:`test_product`; ``refreshes``: the coordinator's count."""
    name, source, algorithm = case
    steps = int(os.environ.get("BENCH_PRODUCT_STEPS", "16"))
    ins = Instruments.from_env()
    key = f"{name}-{source}-{algorithm}{ins.suffix()}"
    profile = LoopProfile(key)
    # the harness runs the loop in asyncio's debug mode (a stack extract per callback); Home
    # Assistant runs it so only with --debug. Timed as an operator runs it, unless asked.
    asyncio.get_running_loop().set_debug(os.environ.get("BENCH_PRODUCT_ASYNCIO_DEBUG") == "1")
    _network_path(name)  # a generated network is written before the clock starts
    checks = HaChecks.start(hass) if os.environ.get("BENCH_PRODUCT_HA_CHECKS") == "1" else None
    rss0 = _rss_mb()
    t0, c0, l0 = time.perf_counter(), time.process_time(), time.thread_time()
    start_block = LongestCallback()
    start_block.start()
    await asyncio.sleep(0)  # the steps from here on are timed (this one began before)
    parts = StartParts()
    with profile.part("start"), parts.timed():
        entry = await _add_entry(hass, name, algorithm, _instrument_options(ins, source))
    HaChecks.phase = "cycles"
    start_parts = parts.report()
    start_block.stop()
    start_s = time.perf_counter() - t0
    start_cpu_s, start_loop_s = time.process_time() - c0, time.thread_time() - l0
    gc_start_s = GC.total_s
    coordinator = entry.runtime_data.coordinator
    network = coordinator.network
    coordinator.plant._weather[:] = network.design.outdoor_c  # same conditions as the CLI
    field = None
    gateway = None
    if source == "entities":
        field = Field(hass, network, list(coordinator.inlets), ins)
        await _map_to_entities(hass, entry, field)
        coordinator = entry.runtime_data.coordinator
    elif source == "gateway":
        gateway = await _gateway_field(request, hass, entry, ins)
        coordinator = entry.runtime_data.coordinator
        gateway.virtual.rewind()  # step 0 reads the seed's first draw, as the CLI's
        gateway.start_polling()
        await gateway.async_fresh(coordinator, 0.0)
    await _untouched(hass, coordinator, field, simulated=source == "simulated")
    counted = refreshes[0]
    # judged on the plant's true state over every inlet, as the CLI judges its steps — also
    # with exact readings: HA's own verdict judges its managed inlets only (households1200's
    # 40 buildings, its 1,200 households not), at the advanced level 1 where the CLI said 3
    truth = TrueVerdicts(coordinator, field or gateway)
    # step 0 judges the untouched plant and sends the chosen algorithm's first commands, as
    # the CLI's; every refresh after it judges the plant after one more
    truth.before_refresh()
    await coordinator.async_refresh()
    first = coordinator.data
    verdicts = [bool(first and first.evaluation and first.evaluation.in_band)]
    shown = [_shown_in_band(first)]
    shares = [first.share_in_band if first else None]
    truth.judge()
    if field is not None:
        field.follow_and_advance(coordinator.plant.cycle_s)
        field.publish()
    if gateway is not None:
        await gateway.async_after_cycle(coordinator, coordinator.plant.cycle_s)
    times: list[float] = []
    cpu: list[float] = []
    loop_cpu: list[float] = []
    beat, longest = Heartbeat(), LongestCallback()
    beat.start()
    longest.start()
    await asyncio.sleep(0)
    profile.enable()
    outage_cycle = int(os.environ.get("BENCH_PRODUCT_OUTAGE") or 0) if gateway else 0
    outage: dict[str, Any] | None = None
    for k in range(1, steps + 1):
        if k == outage_cycle:
            await gateway.async_outage(coordinator)
        truth.before_refresh()
        t, c, lc = time.perf_counter(), time.process_time(), time.thread_time()
        await coordinator.async_refresh()
        times.append(time.perf_counter() - t)
        if k == outage_cycle:
            outage = await gateway.async_back(coordinator, k)
        cpu.append(time.process_time() - c)
        await hass.async_block_till_done()
        loop_cpu.append(time.thread_time() - lc)  # the event loop's thread only
        ev = coordinator.data.evaluation if coordinator.data else None
        verdicts.append(bool(ev and ev.in_band))
        shown.append(_shown_in_band(coordinator.data))
        shares.append(coordinator.data.share_in_band if coordinator.data else None)
        truth.judge()
        if os.environ.get("BENCH_PRODUCT_DEBUG") and ev is not None:
            out_of_band = {
                i: round(e.deviation or 0, 1) for i, e in ev.inlets.items() if not e.in_band
            }
            flags = {i: r.flagged for i, r in coordinator.data.inlets.items() if r.flagged}
            print("DEBUG", out_of_band, flags, coordinator.data.commands, file=sys.stderr)
            alarms = [(a.type, a.location, a.values) for a in coordinator.alarms.active.values()]
            print("DEBUG alarms", alarms, file=sys.stderr)
        if field is not None:
            field.follow_and_advance(coordinator.plant.cycle_s)
            field.publish()
        if gateway is not None:
            await gateway.async_after_cycle(coordinator, coordinator.plant.cycle_s)
    unasked = refreshes[0] - counted - (steps + 1)  # refreshes the benchmark did not run
    beat.stop()
    longest.stop()
    gc_cycles_s = GC.total_s - gc_start_s
    profile.dump("cycles")
    t0, c0 = time.perf_counter(), time.process_time()
    reload_block = LongestCallback()
    reload_block.start()
    HaChecks.phase = "reload"
    await asyncio.sleep(0)
    assert await hass.config_entries.async_unload(entry.entry_id)  # as async_reload does
    await hass.async_block_till_done()
    unload_s = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    with profile.part("setup-from-store"), parts.timed():
        assert await hass.config_entries.async_setup(entry.entry_id)  # what an HA start does
        await hass.async_block_till_done()
    restart_parts = parts.report()
    reload_block.stop()
    reload_s, reload_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    restart_s, restart_cpu_s = time.perf_counter() - t1, time.process_time() - c1
    resends = None
    if gateway is not None:  # the entry first: its unload still talks to the broker
        assert await hass.config_entries.async_unload(entry.entry_id)
        await gateway.async_stop()
        resends = gateway.resends()
    out = {
        "network": name,
        "inlets": len(network.inlets),
        "source": source,
        "algorithm": algorithm,
        # judged on the plant's true state, every inlet, as the CLI judges its steps (HA's
        # own verdict judges its readings of its managed inlets: ha_steps_shown)
        "ha_steps": _steps_to_band(truth.verdicts),
        "ha_steps_shown": _steps_to_band(verdicts),
        "ha_steps_estimate": _steps_to_band(shown),  # what HA shows now (issue 9 item 1)
        **(
            {"cli_steps": None, "cli_steps_shown": None, "cli_alarms": None, "cli_learned": None}
            if os.environ.get("BENCH_PRODUCT_NO_CLI")
            else cli_steps(name, algorithm, steps, ins, source, _cli_min_flow(), _cli_hold())
        ),
        "noise": ins.noise,
        "missing": ins.missing,
        "seed": ins.seed,
        "shares": shares,
        "unasked_refreshes": unasked,
        "start_s": start_s,
        "start_cpu_s": start_cpu_s,
        "start_loop_s": start_loop_s,
        "start_block": start_block.report(),
        "start_parts": start_parts,
        "restart_parts": restart_parts,
        "reload_cpu_s": reload_cpu_s,
        "unload_s": unload_s,
        "restart_s": restart_s,  # the entry's setup from its Store (registries filled)
        "restart_cpu_s": restart_cpu_s,
        "reload_block": reload_block.report(),
        "cycle_median_ms": statistics.median(times) * 1000.0,
        "cycle_max_ms": max(times) * 1000.0,
        "cycle_cpu_ms": statistics.median(cpu) * 1000.0,
        "loop_cpu_ms": statistics.median(loop_cpu) * 1000.0,
        "reload_s": reload_s,
        "loop_stall_ms": beat.worst_s * 1000.0,
        "loop_block_ms": longest.worst_s * 1000.0,
        "loop_block": longest.worst,
        "cycles_block": longest.report(),
        "gc_total_s": GC.total_s,
        "gc_start_s": gc_start_s,
        "gc_cycles_s": gc_cycles_s,
        "gc_worst_ms": GC.worst_s * 1000.0,
        "rss_mb": _rss_mb() - rss0,
        "entities": _entity_count(hass, entry),
        "entity_limit": _entity_limit(hass, entry),
        "ha_checks": None if checks is None else checks.stop(),
        "gateway_resends": resends,  # the gateway's ack timeouts (HA fell behind its readings)
        "gateway_outage": outage,  # --gateway-outage: the held commands of that cycle
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{key}.json").write_text(json.dumps(out))


def _instrument_options(ins: Instruments, source: str) -> dict[str, Any]:
    """The entry's options for the run's instruments: the seed always (the gateway's
    virtual plant draws from it), noise and losses on the simulated plant only (the real
    sources' readings are the field's)."""
    from custom_components.heatbalance.const import CONF_DROPOUT, CONF_SIM_NOISE, CONF_SIM_SEED

    options: dict[str, Any] = {CONF_SIM_SEED: ins.seed}
    if source == "simulated" and not ins.exact:
        options |= {CONF_SIM_NOISE: ins.noise * 100.0, CONF_DROPOUT: round(ins.missing * 100)}
    return options


# --- the script part ------------------------------------------------------------------------
def _output_dir() -> str:
    """The folder this run's files go under (``BENCH_PRODUCT_OUT``): the caller's, or a
    fresh one — two runs at once shared ``$TMPDIR/bench_product`` and overwrote each
    other's results; the harness process gets it through the environment (its ``RESULTS``)."""
    return os.environ.get("BENCH_PRODUCT_OUT") or tempfile.mkdtemp(prefix="bench_product-")


def main() -> int:
    """Run the cases under pytest, one process each (fresh memory), and print the table;
    a failed case's whole output stays in ``<results>/<case>.log`` (its path printed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="networks (default: all)")
    parser.add_argument("--source", nargs="*", default=["simulated", "entities", "gateway"])
    parser.add_argument("--algorithm", nargs="*", default=list(ALGORITHMS))
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument(
        "--level",
        default=LEVEL,
        choices=["primary", "intermediate", "advanced"],
        help="the level regulated and judged at (§8.2.2–§8.2.4; default intermediate)",
    )
    parser.add_argument(
        "--timeout", type=float, default=3000.0, help="seconds a case may run (then it fails)"
    )
    parser.add_argument("--verbose", action="store_true", help="share in band per cycle")
    parser.add_argument(
        "--asyncio-debug", action="store_true", help="keep the harness's asyncio debug mode"
    )
    parser.add_argument(
        "--ha-checks",
        action="store_true",
        help="HA's own loop checks on (asyncio debug, 100 ms slow callbacks, blocking calls);"
        " prints every warning they raise",
    )
    parser.add_argument("--profile", help="folder for profiles of the event loop's thread")
    parser.add_argument("--no-cli", action="store_true", help="HA figures only (no CLI run)")
    parser.add_argument(
        "--cli-min-flow",
        type=float,
        default=0.0,
        metavar="PCT",
        help="the CLI's loop with the operator's minimum-flow guard (%% of set flow, §5.3.6-3;"
        " HA's entry has 50 %% by default, the CLI's loop none)",
    )
    parser.add_argument(
        "--cli-hold",
        action="store_true",
        help="the CLI's loop with HA's §8.2.5 balanced hold (valves left alone once balanced;"
        " the CLI's balance regulates every step)",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.0,
        metavar="PCT",
        help="instrument noise (%% of each value) on the simulated plant, the entities "
        "field's sensors and the gateway's meters, and in the CLI column alike "
        "(engine/instruments.py's draws)",
    )
    parser.add_argument(
        "--missing", type=float, default=0.0, metavar="PCT", help="%% of inlets lost a cycle"
    )
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0…N-1 (noise, missing)")
    parser.add_argument(
        "--gateway-outage",
        type=int,
        default=0,
        metavar="K",
        help="gateway runs: the gateway stopped over cycle K's commands, started again after",
    )
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="large networks not frozen (gc_tuning)"
    )
    parser.add_argument(
        "--no-gc-settle",
        action="store_true",
        help="a large network's cycles end without freezing what they left (gc_tuning)",
    )
    parser.add_argument(
        "--no-gc-pause",
        action="store_true",
        help="a large network's engine jobs and entity adding with the collector on (gc_tuning)",
    )
    parser.add_argument(
        "--ha-timer",
        action="store_true",
        help="keep the coordinator's own timer (refreshes it adds are counted, not measured)",
    )
    args = parser.parse_args()
    names = args.only or [*BUILTIN, *GENERATED]
    out = _output_dir()
    results = Path(out) / "bench_product"  # the harness's RESULTS
    results.mkdir(parents=True, exist_ok=True)
    print(f"results and logs: {results}", flush=True)
    rows = []
    noisy = args.noise > 0 or args.missing > 0
    seeds = range(args.seeds) if noisy else range(1)
    for name, source, algorithm, seed in (
        (n, src, a, seed)
        for n in names
        for src in args.source
        for a in args.algorithm
        for seed in seeds
    ):
        if source == "gateway" and name in NO_GATEWAY:
            if algorithm == args.algorithm[0] and seed == 0:
                print(f"{name} gateway: not run (too many Modbus devices for one gateway here)")
            continue
        ins = Instruments(args.noise / 100.0, args.missing / 100.0, seed)
        case = [name, source, algorithm]
        env = (
            os.environ
            | {
                "BENCH_PRODUCT_CASES": json.dumps([case]),
                "BENCH_PRODUCT_STEPS": str(args.steps),
                "BENCH_PRODUCT_OUT": out,  # the harness writes its RESULTS there
            }
            | ({"BENCH_PRODUCT_PROFILE": args.profile} if args.profile else {})
        )
        env["BENCH_PRODUCT_ASYNCIO_DEBUG"] = "1" if args.asyncio_debug else "0"
        env["BENCH_PRODUCT_HA_CHECKS"] = "1" if args.ha_checks else "0"
        env["BENCH_PRODUCT_NO_CLI"] = "1" if args.no_cli else ""
        env["BENCH_PRODUCT_CLI_MIN_FLOW"] = str(args.cli_min_flow / 100.0)
        env["BENCH_PRODUCT_CLI_HOLD"] = "1" if args.cli_hold else ""
        env["BENCH_PRODUCT_LEVEL"] = args.level
        env["BENCH_PRODUCT_NO_GC_FREEZE"] = "1" if args.no_gc_freeze else ""
        env["BENCH_PRODUCT_NO_GC_PAUSE"] = "1" if args.no_gc_pause else ""
        env["BENCH_PRODUCT_NO_GC_SETTLE"] = "1" if args.no_gc_settle else ""
        env["BENCH_PRODUCT_HA_TIMER"] = "1" if args.ha_timer else ""
        env["BENCH_PRODUCT_OUTAGE"] = str(args.gateway_outage or "")
        env["BENCH_PRODUCT_NOISE"] = str(ins.noise)
        env["BENCH_PRODUCT_MISSING"] = str(ins.missing)
        env["BENCH_PRODUCT_SEED"] = str(ins.seed)
        cmd = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider"]
        cmd += ["-W", "ignore", f"--timeout={args.timeout:.0f}", "--rootdir", str(ROOT)]
        key = f"{name}-{source}-{algorithm}{ins.suffix()}"
        log = results / f"{key}.log"
        # pytest's own timeout first (its teardown stops the plant); ours is the guard
        run = run_case(cmd, env, ROOT, log, args.timeout + 120.0)
        result = results / f"{key}.json"
        if not result.exists():
            print(f"{key}: failed, {run.reason()}")
            continue
        if run.returncode != 0 or run.leftovers:  # figures written: error at teardown
            print(f"{key}: after the figures were written,")
            print(f"  {run.reason(6)}".replace("\n", "\n    "))
        else:
            log.unlink()
        rows.append(json.loads(result.read_text()))
        result.unlink()
        _print_row(rows[-1], header=len(rows) == 1)
        if rows[-1].get("gateway_resends") is not None:
            print(f"  gateway resent unacked readings {rows[-1]['gateway_resends']}×")
        if (outage := rows[-1].get("gateway_outage")) is not None:
            print("  gateway outage:", ", ".join(f"{k} {v}" for k, v in outage.items()))
        if isinstance(rows[-1]["cli_steps"], str):
            print(f"  CLI: {rows[-1]['cli_steps'][:200]}")
        _print_shown(rows[-1])  # also exact: HA's own verdict judges its managed inlets
        _print_cli_extras(rows[-1])
        if rows[-1].get("ha_checks") is not None:
            _print_checks(rows[-1]["ha_checks"])
        if args.verbose:
            _print_entity_limit(rows[-1])
            _print_blocks(rows[-1])
            print("  in band per cycle %:", [round(x or 0) for x in rows[-1]["shares"]])
        if rows[-1].get("unasked_refreshes"):
            print(f"  refreshes not run by the benchmark: {rows[-1]['unasked_refreshes']}")
    if rows:
        _print_agreement(rows)
    return 0


def _print_entity_limit(r: dict[str, Any]) -> None:
    """The network's own entities and what HA's entity limit left disabled (16k, 17b)."""
    if (lim := r.get("entity_limit")) is not None:
        print(
            f"  entity limit {lim['limit']}: network entities {lim['network']} registered, "
            f"{lim['network_with_state']} with a state; inlet entities left disabled "
            f"{lim['left_disabled']} (repair); inlets' main readings enabled "
            f"{lim['main'][0]} of {lim['main'][1]} registered"
        )


def _print_blocks(r: dict[str, Any]) -> None:
    """Start, reload and the event loop's longest callbacks, with where they spent it."""
    print(
        f"  start: {r['start_s']:.1f} s wall, {r['start_cpu_s']:.1f} s CPU "
        f"({r['start_loop_s']:.1f} s on the loop); reload {r['reload_s']:.1f} s wall, "
        f"{r['reload_cpu_s']:.1f} s CPU (unload {r['unload_s']:.1f} s wall; setup from the "
        f"Store {r['restart_s']:.1f} s wall, {r['restart_cpu_s']:.1f} s CPU); "
        f"garbage collector {r['gc_total_s']:.1f} s CPU in all (start {r['gc_start_s']:.1f}, "
        f"cycles {r['gc_cycles_s']:.1f}), "
        f"longest pause {r['gc_worst_ms']:.0f} ms"
    )
    for label, key in (("start", "start_parts"), ("setup from the Store", "restart_parts")):
        cells = ", ".join(
            f"{part} {cpu:.1f}/{wall:.1f}" for part, (cpu, wall) in r.get(key, {}).items()
        )
        print(f"  {label}, parts (s CPU/wall): {cells}")
    blocks = [
        ("start", r["start_block"]),
        ("cycles", r["cycles_block"]),
        ("reload", r["reload_block"]),
    ]
    for part, block in blocks:
        gc_ms = f" (GC {block['gc_ms']:.0f} ms of it)" if "gc_ms" in block else ""
        print(
            f"  longest callback ({part}): {block['ms']:.0f} ms CPU{gc_ms}, {block['what'][:160]}"
        )
        for stack, n in block["where"]:
            print(f"    {n:>4} × {stack}")


def _print_shown(r: dict[str, Any]) -> None:
    """HA's verdicts on its readings and on its estimates (the one it shows), beside
    the CLI loop's on the same draws (issue 9 item 1; "—": never in band)."""
    cli = r.get("cli_steps_shown") or {}

    def steps(v: int | None) -> str:
        return "—" if v is None else str(v)

    for label, ha, basis in (
        ("verdict on its readings", r["ha_steps_shown"], "readings"),
        ("shown verdict (its estimates)", r.get("ha_steps_estimate"), "estimate"),
    ):
        their = steps(cli[basis]) if basis in cli else "none"
        print(f"  {label}: HA {steps(ha)}, CLI {their}")


def _print_cli_extras(r: dict[str, Any]) -> None:
    """The CLI loop's network alarms and learnt corrections (§3.0.7-3), read through the
    same instruments as HA's (:class:`InstrumentedCli`); nothing where the CLI did not run."""
    for alarm in r.get("cli_alarms") or ():
        figures = ", ".join(f"{k} {v}" for k, v in alarm["values"].items())
        print(
            f"  CLI alarm ({alarm['grade']}): {alarm['reason']}, steps "
            f"{alarm['first_step']}–{alarm['last_step']}" + (f": {figures}" if figures else "")
        )
    learned = r.get("cli_learned")
    if learned:
        off = [b for b in learned["branches"].values() if abs(b["kv_factor"] - 1.0) > 0.1]
        print(
            f"  CLI learned: pipe resistances ×{learned['pipe_resistance_factor']:.3f} of the "
            f"network file ({learned['pipe_samples']} steps); {len(off)} valve(s) off their "
            "Kv by more than 10 %"
        )


def _print_checks(found: list[dict[str, str]]) -> None:
    """What Home Assistant's own loop checks reported (--ha-checks)."""
    print(f"  HA's loop checks: {len(found)} warnings")
    for f in found:
        print(f"    [{f['phase']}] {f['logger']}: {f['msg']}")


def _instruments(r: dict[str, Any]) -> str:
    """A row's instruments: exact, or noise / lost share and seed."""
    noise, missing = r.get("noise") or 0.0, r.get("missing") or 0.0
    if noise <= 0 and missing <= 0:
        return "exact"
    lost = f"+{missing:.0%}lost" if missing > 0 else ""
    return f"{noise * 100:g}%{lost} s{r.get('seed', 0)}"


def _print_agreement(rows: list[dict[str, Any]]) -> None:
    """Per network, source and algorithm: seeds whose HA steps equal the CLI's ±1."""
    groups: dict[tuple[str, str, str], list[bool]] = {}
    for r in rows:
        ha, cli = r["ha_steps"], r["cli_steps"]
        if isinstance(cli, str):  # the CLI failed
            same = False
        elif ha is None or cli is None:  # never in band: equal only if neither is
            same = ha is None and cli is None
        else:
            same = abs(ha - cli) <= 1
        groups.setdefault((r["network"], r["source"], r["algorithm"]), []).append(same)
    print("HA = CLI ±1 (runs):")
    for (name, source, algorithm), same in groups.items():
        print(f"  {name} {source} {algorithm}: {sum(same)}/{len(same)}")


def _print_row(r: dict[str, Any], header: bool) -> None:
    if header:
        print(
            f"{'network':<15}{'inlets':>7} {'source':<10}{'algo':<12}{'instruments':<13}"
            f"{'HA':>4}{'CLI':>5}"
            f"{'start s':>9}{'CPU s':>7}{'reload s':>9}{'cycle ms':>10}{'max ms':>8}{'CPU ms':>8}"
            f"{'loop ms':>8}{'stall ms':>10}{'block ms':>9}{'RSS MB':>8}{'entities':>15}"
        )

    def steps(v: int | str | None) -> str:
        return "—" if v is None else "err" if isinstance(v, str) else str(v)

    print(
        f"{r['network']:<15}{r['inlets']:>7} {r['source']:<10}{r['algorithm']:<12}"
        f"{_instruments(r):<13}"
        f"{steps(r['ha_steps']):>4}{steps(r['cli_steps']):>5}{r['start_s']:>9.1f}"
        f"{r['start_cpu_s']:>7.1f}"
        f"{r['reload_s']:>9.1f}{r['cycle_median_ms']:>10.0f}{r['cycle_max_ms']:>8.0f}"
        f"{r['cycle_cpu_ms']:>8.0f}{r['loop_cpu_ms']:>8.0f}{r['loop_stall_ms']:>10.0f}"
        f"{r['loop_block_ms']:>9.0f}"
        f"{r['rss_mb']:>8.0f}{'{} / {}'.format(*r['entities']):>15}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
