"""Does the §8.2.5 hold let a real disturbance through? (issue 9 item 1, 9v)

A network balanced at 1 % meter noise (``--noise``) through :class:`ControlLoop` with the
balance state machine, as Home Assistant runs it; after step ``--event`` one fault strikes the
middle building (:func:`bench_robust.victim_of`): its valve blocked to 30 % of its Kv, its valve
stuck shut at 20 % (a valve that closed by itself; the hold sends nothing, so a valve stuck
where it stands would change no flow), its residents closing every radiator (heated circuit
×10), or the outdoor temperature stepping −10 K on a fixed 60 °C supply. Per network × fault
over the seeds: how many runs were balanced when it struck, the median number of steps
until the state left ``balanced`` (— : half or more never left), and the share of the
steps after the event in which the true plant was outside the advanced flow band (so a run
that stays balanced is told apart from one whose plant stayed in band).

    PYTHONPATH=. .venv/ha2026/bin/python -m benchmarks.bench_hold --seeds 3
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.bench_robust import (
    ADVANCED,
    STEP_S,
    Driven,
    Scenario,
    _in_band,
    all_open,
    measure,
    networks,
    victim_of,
)
from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator

FAULTS = ("blockage x0.3", "stuck shut 20%", "radiators x10", "outdoor -10K")


def run(
    network: Network, fault: str, seed: int, event: int, steps: int, noise: float
) -> tuple[bool, int | None, float]:
    """One run: (balanced when the fault struck, steps until it left balanced, share of the
    later steps with the true plant out of the advanced flow band)."""
    base = all_open(network)
    victim = victim_of(base)
    fixed = base.design.supply_c if fault.startswith("outdoor") else None
    sim = Simulator(base, outdoor_c=base.design.outdoor_c, supply_c=fixed)
    driven = Driven(base, ControllerConfig(), loop=True, hold=True)
    machine = driven.balance
    assert machine is not None
    scn = Scenario("noise", noise=noise)
    rng = np.random.default_rng(seed)
    balanced_at, left, out = False, None, 0
    for k in range(1, steps + 1):
        state = sim.state()
        if k > event:
            out += not _in_band(sim.network, state, ADVANCED[:1], None)
        cmds = driven.step(measure(state, scn, victim, rng))
        if k == event:
            balanced_at = not machine.regulating
        elif k > event and balanced_at and left is None and machine.regulating:
            left = k - event
        for iid, opening in cmds.openings.items():
            sim.set_opening(iid, opening)
        if cmds.pump_speed is not None:
            sim.set_pump_speed(cmds.pump_speed)
        sim.advance(STEP_S)
        if k == event:
            _strike(sim, fault, victim)
    return balanced_at, left, out / max(1, steps - event)


def _strike(sim: Simulator, fault: str, victim: str) -> None:
    """The fault, applied to the plant between two cycles."""
    if fault.startswith("blockage"):
        sim.inject_fault(victim, "blockage", factor=0.3)
    elif fault.startswith("stuck"):
        sim.inject_fault(victim, "stuck", at=0.2)
    elif fault.startswith("radiators"):
        sim.set_circuit(victim, 10.0)
    else:
        sim.set_outdoor(sim.outdoor_c - 10.0)


def main() -> None:
    """Print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--event", type=int, default=14, help="the fault strikes after this step")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--noise", type=float, default=0.01, help="meter noise (0.01: 1 %%)")
    parser.add_argument("--networks", default="estate12,loop8,gen15-comb1500m,gen10x8-households")
    args = parser.parse_args()
    names = args.networks.split(",")
    nets = [n for n in networks(False) if n.name in names]
    print(
        "| network | fault | balanced when struck | steps to leave balanced | "
        "true plant out of band after |"
    )
    print("|---|---|---|---|---|")
    for net in nets:
        for fault in FAULTS:
            runs = [
                run(net, fault, s, args.event, args.steps, args.noise) for s in range(args.seeds)
            ]
            struck = [r for r in runs if r[0]]
            lefts = sorted(r[1] if r[1] is not None else 10**6 for r in struck)
            median = lefts[(len(lefts) - 1) // 2] if lefts else None
            shown = "—" if median is None or median >= 10**6 else str(median)
            out = np.mean([r[2] for r in runs])
            print(f"| {net.name} | {fault} | {len(struck)}/{len(runs)} | {shown} | {out:.0%} |")


if __name__ == "__main__":
    main()
