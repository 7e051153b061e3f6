"""The rebuild after a restart, from a day-old stored state: what HA's first cycle pays first.

A restart builds the control loop from the Store (``ControlLoop(..., state=...)``): the
controller's learning with the meter check's windows, the estimator bank, the model, the
diagnoser, the plausibility runs. Its cost grows with the windows (48 cycles: a day at
the coordinator's 30 min), so a state a few cycles old understates it (issue 10: HA start
≤ 30 s at 23k). Two steps, so the state is written once and read as often as wanted:

    PYTHONPATH=. .venv/ha2026/bin/python -m benchmarks.bench_restore --write F
        [--network gen23k] [--cycles 48] [--algorithm ai]
    PYTHONPATH=. .venv/ha2026/bin/python -m benchmarks.bench_restore --read F [--reps 3]
        [--gc-as-ha]

``--write`` runs the integration's cycle (``cycle.run_cycle`` on the simulated plant,
disturbed as ``devtools.loop_fingerprint``'s cycle run: 2 % noise, 10 % lost, NaN and
spikes, one manual inlet; seeded) for ``--cycles`` cycles and writes the ``CycleMemory``
as the Store keeps it (JSON). ``--read`` rebuilds the loop from it ``--reps`` times and
prints per rep the CPU and wall seconds of the whole rebuild and of its parts (timers
around the restore functions; nested ones are parts of the one above), the load average,
and a digest of the rebuilt loop's ``as_dict`` and of the meter check's: a speed change
of the restore must leave both digests equal. ``--gc-as-ha`` pauses the collector around
the rebuild as HA's cycle does (``gc_tuning``: a network of ≥ 5,000 inlets); without it the
collector's passes over the stored state's objects weigh in every part's figure. Figures,
not assertions.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections import deque
from pathlib import Path

from benchmarks.bench_engine_cycle import _network, _phase_timers
from custom_components.heatbalance.cycle import CycleMemory, loop_config
from custom_components.heatbalance.engine import loop as loop_module
from custom_components.heatbalance.engine import meters as meters_module
from custom_components.heatbalance.engine import plausibility as plausibility_module
from custom_components.heatbalance.engine.control import controller as controller_module
from custom_components.heatbalance.engine.control import estimator_bank as bank_module
from custom_components.heatbalance.engine.control import model_based as model_module
from custom_components.heatbalance.engine.diagnosis import Diagnoser
from custom_components.heatbalance.engine.loop import ControlLoop
from custom_components.heatbalance.engine.simulator import Simulator
from custom_components.heatbalance.gc_tuning import paused
from custom_components.heatbalance.network_setup import building_inlets
from custom_components.heatbalance.plant import Plant
from custom_components.heatbalance.settings import InletConfig, Settings
from devtools.loop_fingerprint import _h, cycle_outputs

# the rebuild's parts: (owner, attribute, label); nested ones are parts of the one above
PARTS = (
    (loop_module, "for_network", "cleaning tables"),
    (controller_module.Controller, "from_dict", "controller"),
    (meters_module.MeterCheck, "from_dict", "meter check"),
    (bank_module.EstimatorBank, "load", "estimator bank"),
    (model_module.ModelBased, "load", "model"),
    (Diagnoser, "from_dict", "diagnoser"),
    (plausibility_module.Plausibility, "from_dict", "plausibility"),
)


def write(path: Path, name: str, cycles: int, algorithm: str) -> None:
    """Run ``cycles`` disturbed cycles and write the Store's loop state to ``path``."""
    start = time.perf_counter()
    memories = (m for _out, m in cycle_outputs(name, algorithm, cycles, network=_network(name)))
    memory = deque(memories, maxlen=1)[0]  # the last cycle's
    path.write_text(json.dumps({"network": name, "algorithm": algorithm, **memory.as_dict()}))
    print(f"{name}: {cycles} cycles in {time.perf_counter() - start:.0f} s wall -> {path}")


def read(path: Path, reps: int, gc_as_ha: bool = False) -> None:
    """Rebuild the loop from ``path`` ``reps`` times; print the table (``gc_as_ha``: the
    collector paused as HA's cycle pauses it, ``gc_tuning.paused``)."""
    stored = json.loads(path.read_text())
    net = _network(stored["network"])
    settings = Settings.from_options(
        {"algorithm": stored["algorithm"], "level": "intermediate", "simulated_dropout": 10}
    )
    ids = building_inlets(net)  # as cycle_outputs: one inlet manual
    inlets = {iid: InletConfig(subentry_id=iid, inlet_id=iid) for iid in ids}
    inlets[ids[1]] = InletConfig(subentry_id=ids[1], inlet_id=ids[1], auto=False)
    acq = Plant(Simulator(net), inlets, settings)._step_and_read(None, list(inlets), {}, True)
    config = loop_config(net, settings, inlets, acq)
    state = CycleMemory.from_dict(stored).loop_state
    print(
        f"{stored['network']} ({len(net.inlets)} inlets), {stored['algorithm']}: rebuild from "
        f"{path.stat().st_size / 1e6:.0f} MB of stored state; seconds CPU (wall)"
    )
    print(f"| rep | rebuild | {' | '.join(p[2] for p in PARTS)} | loop / meter digest | load |")
    print(f"|---:|---:|{'---:|' * len(PARTS)}---|---|")
    for rep in range(1, reps + 1):
        spent: dict[str, float] = {}
        gc.collect()
        with _phase_timers(spent, PARTS), paused(len(net.inlets) if gc_as_ha else 0):
            c0, w0 = time.process_time(), time.perf_counter()
            loop = ControlLoop(net, config, cycle_s=acq.dt_s, state=state)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        digests = f"{_h(loop.as_dict())} / {_h(loop.controller.meters.as_dict())}"
        load = " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])
        cells = " | ".join(f"{spent.get(p[2], 0.0):.2f}" for p in PARTS)
        print(f"| {rep} | {cpu:.2f} ({wall:.2f}) | {cells} | {digests} | {load} |", flush=True)
        del loop


def main() -> None:
    """Write or read a day-old state."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="run the cycles, write the state here")
    group.add_argument("--read", type=Path, help="rebuild the loop from this state")
    parser.add_argument("--network", default="gen23k")
    parser.add_argument("--cycles", type=int, default=48, help="48: a day at 30 min")
    parser.add_argument("--algorithm", default="ai", choices=("ai", "traditional"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--gc-as-ha", action="store_true", help="the collector paused, as in HA's cycle"
    )
    args = parser.parse_args()
    if args.write:
        write(args.write, args.network, args.cycles, args.algorithm)
    else:
        read(args.read, args.reps, args.gc_as_ha)


if __name__ == "__main__":
    main()
