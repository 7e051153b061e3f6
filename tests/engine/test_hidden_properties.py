"""Property test over network *shapes* nobody benchmarked (issue 9 goal; hidden checks, 9x).

The other property tests draw wild readings on one small network. Here hypothesis draws the
plant itself from the generator — 1…8 buildings, none or a few households each, a comb, a
branched tree, one branch line or a looped trunk, a 1…200× load spread, a valve drawn with
an unusual Kvs (×0.3…×10), every other inlet's design load ×1.3 or ×0.7 in the file, a pump
with less head than drawn or twice it — breaks it (a stuck or blocked valve, a
valve that falls silent, a valve that moves the wrong way or half as far as commanded,
position feedback one cycle late, supply and return sensors swapped, a flow meter frozen at
one value, a building whose residents close every radiator; a pump that reaches only 90 %
of its commanded speed) and reads it through bad instruments (noise, lost readings,
NaN/negative/absurd values, no position feedback). The engine's controller
(``make_controller`` + ``step``, the API the integration and the CLI call) runs it closed
loop for a few cycles at any level and with either algorithm, under any consistent safety
limits. Whatever is drawn: nothing raises, and no command leaves the safety limits
(§5.3.6-3): every opening finite and within the operator's and the device's range, at most
``max_step`` from the last known position, the pump within its range and step limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import PlantState, Simulator

CYCLES = 4
EPS = 1e-9
ABSURD = (math.nan, math.inf, -1.0, 0.0, 1e9)
# plant faults at one top-level inlet (9x, 6 Dec: bench_robust's "plant:" scenarios)
FAULTS = ("stuck", "blockage", "silent", "reverse", "half", "lag", "swapped", "frozen", "circuit")


@dataclass
class Plant:
    """One drawn plant, its fault, its instruments and its controller's configuration."""

    network: Network
    fault: tuple[str, str, float] | None  # (kind, inlet, value); kinds in FAULTS
    pump_head: float
    pump_reach: float  # share of its commanded speed the pump runs at
    noise: float
    dropout: float
    absurd: float
    feedback: bool
    config: ControllerConfig
    seed: int


@st.composite
def plants(draw: st.DrawFn) -> Plant:
    """A generated network of any shape, broken and badly read."""
    buildings = draw(st.integers(1, 8))
    network = generate_network(
        buildings,
        draw(st.sampled_from([0, 0, 2, 3])),
        draw(st.integers(0, 10_000)),
        loop=draw(st.booleans()),
        branch_len=draw(st.sampled_from([None, 1, 3, buildings])),
        area_m2=(draw(st.sampled_from([60.0, 300.0, 1200.0, 4000.0])), 12_000.0),
    )
    off = draw(st.sampled_from([1.0, 1.0, 1.3, 0.7]))  # the file's design loads off (7 Dec)
    for k, inlet in enumerate(sorted(network.inlets.values(), key=lambda i: i.id)):
        inlet.design_load_kw *= off if k % 2 == 0 else 1.0
    top = sorted(i for i, x in network.inlets.items() if x.parent is None)
    odd = draw(st.sampled_from(sorted(network.inlets)))
    device = network.inlets[odd].device
    device.kvs = float(device.kvs or 1.0) * draw(st.sampled_from([0.3, 1.0, 10.0]))
    kind = draw(st.sampled_from([None, *FAULTS]))
    fault = None
    if kind is not None:
        fault = (kind, draw(st.sampled_from(top)), draw(st.sampled_from([0.0, 0.3, 1.0])))
    min_opening = draw(st.sampled_from([0.0, 0.05, 0.2]))
    limits = SafetyLimits(
        min_opening=min_opening,
        max_opening=draw(st.sampled_from([max(min_opening, 0.8), 1.0])),
        max_step=draw(st.sampled_from([0.1, 0.5])),
        min_flow_ratio=draw(st.sampled_from([0.0, 0.5])),
        max_pump_step=draw(st.sampled_from([0.05, 0.2])),
    )
    config = ControllerConfig(
        algorithm=draw(st.sampled_from(["model", "traditional"])),
        level=draw(st.sampled_from(["primary", "intermediate", "advanced"])),
        limits=limits,
    )
    return Plant(
        network=network,
        fault=fault,
        pump_head=draw(st.sampled_from([1.0, 0.8, 2.0])),
        pump_reach=draw(st.sampled_from([1.0, 0.9])),
        noise=draw(st.sampled_from([0.0, 0.02, 0.05])),
        dropout=draw(st.sampled_from([0.0, 0.3])),
        absurd=draw(st.sampled_from([0.0, 0.1])),
        feedback=draw(st.booleans()),
        config=config,
        seed=draw(st.integers(0, 2**16)),
    )


def readings(
    plant: Plant, state: PlantState, rng: np.random.Generator, k: int, held: dict[str, float]
) -> Measurements:
    """What the drawn instruments report this cycle (``held``: the faulty instruments'
    memory — the frozen value, last cycle's position)."""
    silent = plant.fault[1] if plant.fault and plant.fault[0] == "silent" and k >= 2 else None
    exact = Measurements.from_plant(state)
    inlets: dict[str, InletReading] = {}
    for iid, r in exact.inlets.items():
        if iid == silent or rng.random() < plant.dropout:
            continue
        values: list[float | None] = []
        for exact_value in (r.flow_m3h, r.supply_c, r.return_c, r.room_c, r.dp_available_kpa):
            value = None
            if exact_value is not None:
                value = float(exact_value * (1.0 + rng.normal(0.0, plant.noise)))
            if rng.random() < plant.absurd:
                value = ABSURD[int(rng.integers(len(ABSURD)))]
            values.append(value)
        inlets[iid] = InletReading(
            flow_m3h=values[0],
            supply_c=values[1],
            return_c=values[2],
            room_c=values[3],
            dp_available_kpa=values[4],
            opening=r.opening if plant.feedback else None,
            heat_kwh=r.heat_kwh,
        )
    if plant.fault is not None and plant.fault[1] in inlets:
        lie(plant.fault[0], inlets[plant.fault[1]], held)
    return replace(exact, inlets=inlets)  # the substation read exactly


def lie(kind: str, reading: InletReading, held: dict[str, float]) -> None:
    """The faulty inlet's instruments: sensors swapped, a frozen meter, late feedback."""
    if kind == "swapped":
        reading.supply_c, reading.return_c = reading.return_c, reading.supply_c
    elif kind == "frozen" and reading.flow_m3h is not None:
        reading.flow_m3h = held.setdefault("flow", reading.flow_m3h)
    elif kind == "lag" and reading.opening is not None:
        reading.opening, held["opening"] = held.get("opening", reading.opening), reading.opening


def moved(kind: str | None, now: float, command: float) -> float:
    """Where a valve goes when commanded: the wrong way, or half of the way, if faulty."""
    if kind == "reverse":
        return min(max(2.0 * now - command, 0.0), 1.0)
    if kind == "half":
        return now + 0.5 * (command - now)
    return command


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant=plants())
def test_no_command_leaves_the_limits_on_any_generated_plant(plant: Plant) -> None:
    network = plant.network
    pump = network.substation.pump
    pump.shutoff_head_m *= plant.pump_head
    pump.design_head_m *= plant.pump_head
    sim = Simulator(network, outdoor_c=network.design.outdoor_c)
    silent = None
    if plant.fault is not None:
        kind, iid, value = plant.fault
        if kind == "stuck":
            sim.inject_fault(iid, "stuck", at=value)
        elif kind == "blockage":
            sim.inject_fault(iid, "blockage", factor=max(value, 0.1))
        elif kind == "circuit":
            sim.set_circuit(iid, 10.0)  # its residents closed every radiator
        elif kind == "silent":
            silent = iid
    faulty, kind = (plant.fault[1], plant.fault[0]) if plant.fault else ("", None)
    held: dict[str, float] = {}
    ctl = make_controller(network, plant.config)
    limits = plant.config.limits
    rng = np.random.default_rng(plant.seed)
    known = {iid: x.device.opening for iid, x in network.inlets.items()}  # configured
    for k in range(CYCLES):
        state = sim.state()
        meas = readings(plant, state, rng, k, held)
        for iid, r in meas.inlets.items():
            if r.opening is not None:
                known[iid] = r.opening
        cmds = ctl.step(meas)
        for iid, value in cmds.openings.items():
            device = network.inlets[iid].device
            lo, hi = limits.opening_range(device.min_opening, device.max_opening)
            assert math.isfinite(value), (iid, value)
            assert lo - EPS <= value <= hi + EPS, (iid, value, lo, hi)
            if lo <= known[iid] <= hi:
                assert abs(value - known[iid]) <= limits.max_step + EPS, (iid, known[iid], value)
            known[iid] = value
            if iid != silent or k < 2:  # a silent valve takes no command either
                now = float(sim.openings[sim.ids.index(iid)])
                sim.set_opening(iid, moved(kind if iid == faulty else None, now, value))
        if cmds.pump_speed is not None:
            speed = cmds.pump_speed
            lo, hi = limits.speed_range(pump.min_speed, pump.max_speed)
            assert math.isfinite(speed)
            assert lo - EPS <= speed <= hi + EPS
            assert abs(speed - state.pump.speed) <= limits.max_pump_step + EPS
            sim.set_pump_speed(speed * plant.pump_reach)
        sim.advance(1800.0)
