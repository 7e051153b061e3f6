"""The engine's share of a coordinator cycle, without Home Assistant: where 23k inlets cost.

Runs per cycle what the coordinator hands to the executor for a simulated plant — the
simulator's step and readings (``Plant._step_and_read``), the engine's control loop with the
integration's data build (``cycle.run_cycle``: clean → evaluate → estimate + control →
diagnose → forecast → alarm rules) and the dispatch to the simulated valves
(``ControlLoop.commanded``) — on the same networks and options as ``bench_product`` (level
intermediate, the building inlets as subentries, households aggregated). HA's part (state
writes, entities, recorder) is bench_product's.

Prints per network and algorithm: the first cycle (it builds the control loop: controller,
planner, cleaner), then the median and max of the later cycles, as CPU time of this process
and wall time, the share of CPU the garbage collector took, and the load average at the
end. Figures, not assertions; the machine is shared, so CPU time is the honest figure.
Goals (issue 10): the whole coordinator cycle ≤ 50 ms on district120, ≤ 200 ms on
households1200, ≤ 2 s on a generated 23,000-household network.

    .venv/ha2026/bin/python -m benchmarks.bench_engine_cycle [--cycles 6] [--networks ...]
        [--phases] [--gc-as-ha] [--warm 48]

``--phases`` also prints the median CPU ms of the later cycles per phase of the loop (clean,
estimate, meter check, the model step, diagnose, …, and the loop's whole step with the
screen, plausibility, design-load and alarm-rule checks in it): timers around those
functions, cheaper and less distorting than cProfile at 23k inlets. ``--gc-as-ha`` runs each
cycle as the coordinator does (``gc_tuning.run_cycle_paused``: the collector paused for a
network of ≥ 5,000 inlets, the survivors frozen after it), so the figure is the executor's
part of an HA cycle; without it the collector runs as in a plain Python process.
``--warm N`` runs N cycles after the first before the measured ones (not reported): the meter
check keeps a day of 30-minute cycles (48) per series, so a cycle at a day's windows costs
more than one after a few cycles (its supply-offset prior 43 → 150–168 ms at 23k, 17f).
``--state F`` starts from a day-old state instead of building one (48 cycles at 23k take
15–20 min): the ``CycleMemory`` that ``benchmarks.bench_restore --write F`` stored, on its
network, algorithm and inlets (one manual, 10 % simulated dropout, as it was written); the
first cycle rebuilds the loop from it, the later ones run at its windows. The plant starts
afresh (its valves at the network's openings, not the state's), so its first moves differ
from the run that wrote it: a speed figure and a same-state comparison, not a continuation.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from custom_components.heatbalance.cycle import CycleMemory, run_cycle
from custom_components.heatbalance.engine import design_loads as design_loads_module
from custom_components.heatbalance.engine import loop as loop_module
from custom_components.heatbalance.engine import plausibility as plausibility_module
from custom_components.heatbalance.engine.control import controller as controller_module
from custom_components.heatbalance.engine.control import model_based as model_module
from custom_components.heatbalance.engine.evaluation import BalanceStateMachine
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator
from custom_components.heatbalance.gc_tuning import run_cycle_paused
from custom_components.heatbalance.network_setup import building_inlets
from custom_components.heatbalance.plant import Plant
from custom_components.heatbalance.settings import InletConfig, Settings

GENERATED = {"gen23k": (770, 30, 4)}  # as bench_product: 23,100 households
ALGORITHMS = {"PI": "traditional", "AI": "ai"}


class _GcClock:
    """CPU time spent inside the garbage collector (gc.callbacks)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.total += time.process_time() - self._start


# the loop's phases: (owner, attribute, label); nested ones are parts of the one above
PHASES = (
    (loop_module, "clean_measurements", "clean"),
    (controller_module.Controller, "_estimate", "estimate"),
    (controller_module.Controller, "_consistent", "meter check"),
    (controller_module.Controller, "_model_step", "model step"),
    (controller_module.Controller, "_views", "views"),  # identification, per inlet
    (model_module.ModelBased, "update_residuals", "residuals"),
    (model_module.ModelBased, "plan", "plan"),
    (model_module.ModelBased, "_plan_input", "plan input"),
    (loop_module.ControlLoop, "_diagnose", "diagnose"),
    (loop_module.ControlLoop, "commanded", "dispatch"),
    (Plant, "_step_and_read", "plant read"),
    # the rest of a cycle (a fifth of it at 23k was in no phase above)
    (loop_module.ControlLoop, "step", "loop step"),  # all of the engine's cycle but the data
    (controller_module.Controller, "_screened", "screen"),
    (plausibility_module.Plausibility, "update", "plausibility"),
    (design_loads_module.DesignLoadCheck, "update", "design loads"),
    (loop_module.ControlLoop, "_alarm_rules", "alarm rules"),
)


@contextmanager
def _phase_timers(
    spent: dict[str, float], phases: tuple[tuple[Any, str, str], ...] = PHASES
) -> Iterator[None]:
    """Add each phase's CPU seconds to ``spent`` while the block runs."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _label in phases]
    for (owner, name, func), (_o, _n, label) in zip(saved, phases, strict=True):

        def timed(*args: Any, _f: Any = func, _label: str = label, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return _f(*args, **kwargs)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.process_time() - start

        setattr(owner, name, functools.wraps(func)(timed))
    try:
        yield
    finally:
        for owner, name, func in saved:
            setattr(owner, name, func)


def _network(name: str) -> Network:
    if name in GENERATED:
        buildings, households, seed = GENERATED[name]
        return generate_network(buildings, households, seed, name=name)
    return load_network(name)


def run(
    name: str,
    algorithm: str,
    cycles: int,
    phases: bool = False,
    gc_as_ha: bool = False,
    warm: int = 0,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Cycle times (CPU, wall), the GC's CPU share and (``phases``) the median CPU seconds
    per phase of the later cycles, for one network and algorithm; ``warm`` cycles between
    the first and the later ones are run but not reported; ``state``: start from a stored
    day-old state (``bench_restore --write``, parsed; its network and algorithm)."""
    spent: dict[str, float] = {}
    per_cycle: list[dict[str, float]] = []
    if not phases:
        return _run(name, algorithm, cycles, spent, per_cycle, gc_as_ha, warm, state)
    with _phase_timers(spent):
        out = _run(name, algorithm, cycles, spent, per_cycle, gc_as_ha, warm, state)
    later = per_cycle[1:] or per_cycle
    out["phases"] = {
        label: statistics.median(c.get(label, 0.0) for c in later) for *_x, label in PHASES
    }
    return out


def _run(
    name: str,
    algorithm: str,
    cycles: int,
    spent: dict[str, float],
    per_cycle: list[dict[str, float]],
    gc_as_ha: bool = False,
    warm: int = 0,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The cycles themselves (the first, ``warm`` unreported ones, then the later ones);
    ``spent`` (phase timers) is copied into ``per_cycle``, the warm cycles left out."""
    memory, options = CycleMemory(), {"algorithm": algorithm, "level": "intermediate"}
    if state is not None:  # as bench_restore wrote it (cycle_outputs' run)
        name, memory = state["network"], CycleMemory.from_dict(state)
        options |= {"algorithm": state["algorithm"], "simulated_dropout": 10}
    net = _network(name)
    sim = Simulator(net)
    ids = building_inlets(net)
    inlets = {iid: InletConfig(subentry_id=iid, inlet_id=iid) for iid in ids}
    if state is not None:
        inlets[ids[1]] = InletConfig(subentry_id=ids[1], inlet_id=ids[1], auto=False)
    settings = Settings.from_options(options)
    plant = Plant(sim, inlets, settings)
    balance = BalanceStateMachine()
    sent: dict[str, float] = {}
    clock = _GcClock()
    gc.callbacks.append(clock)
    times, gc_cpu = [], []
    try:
        for k in range(cycles + warm):
            spent.clear()
            gc0, c0, w0 = clock.total, time.process_time(), time.perf_counter()
            acq = plant._step_and_read(None, list(inlets), {}, True)
            args = (net, settings, inlets, acq, memory, sim.pump_speed, sent, balance, acq.time_s)
            if gc_as_ha:
                out = run_cycle_paused(len(net.inlets), run_cycle, *args)
            else:
                out = run_cycle(*args)
            sent = {}
            assert memory.loop is not None
            if out.held is None:  # the engine's answer (loop.Dispatch), as in HA
                plant._set_openings(out.commands)
                if out.pump_command is not None:
                    sim.set_pump_speed(out.pump_command)
                sent = dict(out.commands)
                memory.loop.commanded(sent)
            if 1 <= k <= warm:
                continue
            times.append((time.process_time() - c0, time.perf_counter() - w0))
            gc_cpu.append(clock.total - gc0)
            per_cycle.append(dict(spent))
    finally:
        gc.callbacks.remove(clock)
    later = times[1:] or times
    return {
        "inlets": len(net.inlets),
        "first": times[0],
        "median": (statistics.median(t[0] for t in later), statistics.median(t[1] for t in later)),
        "max": (max(t[0] for t in later), max(t[1] for t in later)),
        "gc_share": sum(gc_cpu[1:]) / max(sum(t[0] for t in later), 1e-9),
        "load": open("/proc/loadavg", encoding="ascii").read().split()[:3],
    }


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--networks", default="district120,households1200,gen23k")
    parser.add_argument("--algorithms", default="PI,AI")
    parser.add_argument("--phases", action="store_true", help="CPU ms per phase, too")
    parser.add_argument(
        "--gc-as-ha", action="store_true", help="the collector paused per cycle, as in HA"
    )
    parser.add_argument(
        "--warm", type=int, default=0, help="cycles run after the first and not reported"
    )
    parser.add_argument(
        "--state", type=Path, help="start from this stored state (bench_restore --write)"
    )
    args = parser.parse_args()
    stored = json.loads(args.state.read_text()) if args.state is not None else None
    if stored is not None:  # the state names its network and algorithm
        args.networks = stored["network"]
        args.algorithms = next(k for k, v in ALGORITHMS.items() if v == stored["algorithm"])

    print(
        "| network | inlets | algorithm | first cycle ms CPU / wall | later cycles ms CPU "
        "median / max | wall median / max | GC share of CPU | load average |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---|")
    phases: list[str] = []
    for name in args.networks.split(","):
        for algo in args.algorithms.split(","):
            r = run(
                name,
                ALGORITHMS[algo],
                args.cycles,
                args.phases,
                args.gc_as_ha,
                args.warm,
                stored,
            )
            if "phases" in r:
                cells = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in r["phases"].items())
                phases.append(f"{name} {algo}: {cells}")
            first, med, top = r["first"], r["median"], r["max"]
            print(
                f"| {name} | {r['inlets']} | {algo} | {first[0] * 1e3:.0f} / {first[1] * 1e3:.0f} "
                f"| {med[0] * 1e3:.0f} / {top[0] * 1e3:.0f} | {med[1] * 1e3:.0f} / "
                f"{top[1] * 1e3:.0f} | {r['gc_share'] * 100:.0f} % | {' '.join(r['load'])} |",
                flush=True,
            )
    if phases:
        print(
            "\nLater cycles, median CPU ms per phase (model step holds views, residuals and"
            " plan; plan holds plan input; loop step holds all but plant read and dispatch,"
            " and the run_cycle's data build around it):"
        )
        print("\n".join(phases))


if __name__ == "__main__":
    main()
