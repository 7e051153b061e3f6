"""Fingerprint of seeded control-loop runs: a speed change must leave every figure equal.

A layout change of the engine's hot paths (issue 10, speed) must not change what the loop
decides. This runs the loop on seeded plants and hashes, per cycle, everything it hands on:
commands, cleaned readings and flags, estimates, verdicts, findings, alarm conditions,
forecast and the stored state (``ControlLoop.as_dict``; through ``cycle.run_cycle`` the
integration's whole ``CycleMemory``). Run it on the commit before and after the change: the
digests must be equal line for line (``--save``/``--compare`` name the first cycle and field
that differ). It is no test in CI on purpose: the controller's, estimator's and meter check's
owners change their logic on purpose, and a stored digest would fail on each such change.

    .venv/ha2026/bin/python -m devtools.loop_fingerprint [--quick] [--save F | --compare F]

Two sets of runs: ``cycle`` — the integration's cycle (``run_cycle`` with the simulated
plant, 10 % lost readings, 2 % noise, NaN and spikes, one manual inlet) on five networks,
PI and AI; ``loop`` — ``ControlLoop`` under bench_robust's scenarios (noise, 30 % lost, a
biased, stuck, blocked, frozen meter, swapped sensors, no feedback) on four networks.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from benchmarks.bench_robust import (  # noqa: E402
    STEP_S,
    PlantFaults,
    Scenario,
    all_open,
    measure,
    victim_of,
)
from custom_components.heatbalance.cycle import CycleMemory, CycleResult, run_cycle  # noqa: E402
from custom_components.heatbalance.engine.control.base import ControllerConfig  # noqa: E402
from custom_components.heatbalance.engine.evaluation import BalanceStateMachine  # noqa: E402
from custom_components.heatbalance.engine.loader import load_network  # noqa: E402
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig  # noqa: E402
from custom_components.heatbalance.engine.model import Network  # noqa: E402
from custom_components.heatbalance.engine.networks.generator import (  # noqa: E402
    generate_network,
)
from custom_components.heatbalance.engine.simulator import Simulator  # noqa: E402
from custom_components.heatbalance.network_setup import building_inlets  # noqa: E402
from custom_components.heatbalance.plant import Plant  # noqa: E402
from custom_components.heatbalance.settings import InletConfig, Settings  # noqa: E402

SCENARIOS = (
    Scenario("noise 2%", noise=0.02),
    Scenario("missing 30%", noise=0.01, missing=0.3),
    Scenario("bias", noise=0.01, fault="bias", value=1.1),
    Scenario("stuck", noise=0.01, fault="stuck", value=0.3),
    Scenario("blockage", noise=0.01, fault="blockage", value=0.3),
    Scenario("no feedback", noise=0.01, fault="no_feedback"),
    Scenario("frozen", noise=0.01, fault="frozen", value=4.0),
    Scenario("swapped", noise=0.01, fault="swapped"),
)


def _default(o: Any) -> Any:
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, set | frozenset):
        return sorted(map(str, o))
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return repr(o)


def _h(obj: Any) -> str:
    text = json.dumps(obj, default=_default, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _network(name: str) -> Network:
    if name.startswith("gen"):
        return generate_network(12, 6, 5, name=name)
    return load_network(name)


def cycle_run(name: str, algo: str, cycles: int) -> list[list[str]]:
    """The integration's cycle on its simulated plant, readings disturbed by a seeded rng."""
    return [
        [_h(repr(out)), _h(memory.as_dict())] for out, memory in cycle_outputs(name, algo, cycles)
    ]


def cycle_outputs(
    name: str, algo: str, cycles: int, network: Network | None = None
) -> Iterator[tuple[CycleResult, CycleMemory]]:
    """Each cycle's output and the memory after it, of :func:`cycle_run`'s seeded run
    (on ``network`` when given: benchmarks.bench_restore's day-old state)."""
    net = network if network is not None else _network(name)
    sim = Simulator(net)
    ids = building_inlets(net)
    inlets = {iid: InletConfig(subentry_id=iid, inlet_id=iid) for iid in ids}
    inlets[ids[1]] = InletConfig(subentry_id=ids[1], inlet_id=ids[1], auto=False)
    settings = Settings.from_options(
        {"algorithm": algo, "level": "intermediate", "simulated_dropout": 10}
    )
    plant = Plant(sim, inlets, settings)
    memory, balance = CycleMemory(), BalanceStateMachine()
    rng = np.random.default_rng(7)
    sent: dict[str, float] = {}
    for _ in range(cycles):
        acq = plant._step_and_read(None, list(inlets), {}, True)
        for r in acq.inlets.values():
            if r.flow_m3h is not None:
                x = rng.random()
                r.flow_m3h = r.flow_m3h * (1 + 0.02 * rng.standard_normal())
                if x < 0.01:
                    r.flow_m3h = float("nan")
                elif x < 0.02:
                    r.flow_m3h *= 3.0
            if r.return_c is not None:
                r.return_c += 0.2 * rng.standard_normal()
        out = run_cycle(
            net, settings, inlets, acq, memory, sim.pump_speed, sent, balance, acq.time_s
        )
        sent = {}
        assert memory.loop is not None
        if out.held is None:
            plant._set_openings(out.commands)
            if out.pump_command is not None:
                sim.set_pump_speed(out.pump_command)
            sent = dict(out.commands)
            memory.loop.commanded(sent)
        else:
            memory.loop.held()
        yield out, memory


def loop_run(name: str, scn: Scenario, algo: str, steps: int) -> list[list[str]]:
    """``ControlLoop`` on a plant with one of bench_robust's faults."""
    base = all_open(_network(name))
    victim = victim_of(base)
    sim = Simulator(base, outdoor_c=base.design.outdoor_c)
    if scn.fault == "stuck":
        sim.inject_fault(victim, "stuck", at=scn.value)
    if scn.fault == "blockage":
        sim.inject_fault(victim, "blockage", factor=scn.value)
    level = "advanced" if algo == "model" else "intermediate"
    config = LoopConfig(controller=ControllerConfig(algorithm=algo, level=level))  # type: ignore[arg-type]
    loop = ControlLoop(base, config, cycle_s=STEP_S)
    faults = PlantFaults(scn, victim, "")
    rng = np.random.default_rng(3)
    balance = BalanceStateMachine()
    state, sent = sim.state(), {}
    out_steps = []
    for k in range(steps):
        meas = measure(state, scn, victim, rng)
        faults.readings(meas, k)
        res = loop.step(meas, dispatched=sent, balance=balance)
        cmds = res.commands
        for iid, opening in cmds.openings.items():
            sim.set_opening(iid, opening)
        if cmds.pump_speed is not None:
            sim.set_pump_speed(cmds.pump_speed)
        sent = dict(cmds.openings)
        loop.commanded(sent)
        out_steps.append(
            [
                _h(cmds),
                _h(res.findings),
                _h(res.conditions),
                _h(res.cleaning),
                _h(res.measurements),
                _h(loop.controller.estimated),
                _h(res.evaluation),
                _h(res.forecast_kw),
                _h(loop.as_dict()),
            ]
        )
        sim.advance(STEP_S)
        state = sim.state()
    return out_steps


def runs(quick: bool) -> dict[str, list[list[str]]]:
    """Every run's per-cycle digests, by run name."""
    out: dict[str, list[list[str]]] = {}
    cycle_nets = ["estate12", "loop8", "district120", "gen12x6"]
    if not quick:
        cycle_nets.append("households1200")
    for name in cycle_nets:
        for algo in ("traditional", "ai"):
            cycles = 5 if name == "households1200" else 10
            out[f"cycle|{name}|{algo}"] = cycle_run(name, algo, cycles)
            print(f"cycle {name} {algo} {_h(out[f'cycle|{name}|{algo}'])}", flush=True)
    loop_nets = ["estate12", "loop8", "gen12x6"] + ([] if quick else ["district120"])
    for name in loop_nets:
        for scn in SCENARIOS:
            for algo in ("model", "traditional"):
                key = f"loop|{name}|{scn.name}|{algo}"
                out[key] = loop_run(name, scn, algo, 8 if name == "district120" else 12)
                print(f"loop {name} {scn.name} {algo} {_h(out[key])}", flush=True)
    return out


def main() -> None:
    """Print one digest per run and the whole; save or compare the per-cycle digests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer networks")
    parser.add_argument("--save", help="write the per-cycle digests to this JSON file")
    parser.add_argument("--compare", help="name the first difference from this JSON file")
    args = parser.parse_args()
    out = runs(args.quick)
    print("ALL", _h(out))
    if args.save:
        Path(args.save).write_text(json.dumps(out), encoding="utf-8")
    if args.compare:
        before = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        differ = 0
        for key, steps in out.items():
            for k, (a, b) in enumerate(zip(before.get(key, []), steps, strict=False)):
                if a != b:
                    fields = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
                    print(f"DIFFERS {key} cycle {k} fields {fields}")
                    differ += 1
                    break
        print("equal" if not differ else f"{differ} runs differ")


if __name__ == "__main__":
    main()
