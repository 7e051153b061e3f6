"""Device diagnosis on the simulated plant (issue 3 item 5; §3.0.7-5, §5.3.7, §5.3.8).

A simple proportional flow controller drives every valve toward its design flow at 30-min
control steps, with 1 % noise on the measured flow and ΔP (the inlet ΔP transmitter). After
three healthy days (the diagnoser learns each inlet's Kv curve), one inlet at a time gets a
valve stuck at 30 % or a blockage (Kv × 0.3). Reported: control steps from the fault until
the right finding appears (goal ≤ 2), with and without opening feedback, and the number of
findings raised on a healthy network over a week (goal 0). Not a timed test:

    .venv/ha2026/bin/python -m benchmarks.bench_diagnosis
"""

from __future__ import annotations

import statistics

import numpy as np

from custom_components.heatbalance.engine.diagnosis import Diagnoser, InletObservation
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.simulator import Simulator, outdoor_profile

STEP_S = 1800.0
WARMUP_STEPS = 3 * 48
WEEK_STEPS = 7 * 48
NOISE = 0.01
MAX_STEPS = 12
FAULTS = (("stuck", {"at": 0.3}), ("blockage", {"factor": 0.3}))


class Loop:
    """Plant, controller commands and diagnoser stepped together."""

    def __init__(self, name: str, *, feedback: bool, seed: int = 0) -> None:
        net = load_network(name)
        self.sim = Simulator(net, outdoor=outdoor_profile(days=30, seed=seed), seed=seed)
        self.commands = {iid: self.sim.state().inlets[iid].opening for iid in self.sim.ids}
        self.diag = Diagnoser()
        self.feedback = feedback

    def step(self) -> list:
        """Advance one control step, diagnose, then command (read, decide, act)."""
        self.sim.advance(STEP_S)
        state = self.sim.state()
        rng = self.sim.rng
        obs = {}
        for iid, inlet in state.inlets.items():
            flow = inlet.flow_m3h * (1 + rng.normal(0, NOISE))
            obs[iid] = InletObservation(
                command=self.commands[iid],
                feedback=inlet.opening if self.feedback else None,
                flow_m3h=flow,
                dp_kpa=inlet.dp_available_kpa * (1 + rng.normal(0, NOISE)),
            )
            ratio = flow / inlet.design_flow_m3h
            move = float(np.clip(0.4 * (1.0 - ratio), -0.1, 0.1))
            if abs(move) >= 0.01:  # a deadband, as any real balancing controller has
                self.commands[iid] = float(np.clip(self.commands[iid] + move, 0.05, 1.0))
        findings = self.diag.update(state.time_s, obs)
        for iid, cmd in self.commands.items():
            self.sim.set_opening(iid, cmd)
        return findings


RECOVER_STEPS = 24


def detection_steps(loop: Loop, iid: str, kind: str, options: dict) -> tuple[int | None, ...]:
    """Steps from the fault to any finding at ``iid``, and to the finding ``kind``.

    None: not within MAX_STEPS. The fault is repaired afterwards and the plant given half a
    day to settle again, so the next trial starts healthy (the simulator cannot be copied).
    """
    loop.sim.inject_fault(iid, kind, **options)
    first_any = first_kind = None
    for k in range(1, MAX_STEPS + 1):
        kinds = [f.kind for f in loop.step() if f.inlet_id == iid]
        if kinds and first_any is None:
            first_any = k
        if kind in kinds:
            first_kind = k
            break
    loop.sim.clear_fault(iid)
    for _ in range(RECOVER_STEPS):
        loop.step()
    return first_any, first_kind


def _summary(steps: list[int | None]) -> str:
    found = [s for s in steps if s is not None]
    if not found:
        return f"flagged 0/{len(steps)}"
    return (
        f"flagged {len(found)}/{len(steps)}, median {statistics.median(found):g}, "
        f"worst {max(found)}, within 2: {sum(s <= 2 for s in found)}"
    )


def run(name: str, feedback: bool, sample: int) -> None:
    """Warm up, count false alarms over a week, then inject faults one inlet at a time."""
    loop = Loop(name, feedback=feedback)
    for _ in range(WARMUP_STEPS):
        loop.step()
    raised = set()
    for _ in range(WEEK_STEPS):
        raised |= {(f.inlet_id, f.kind) for f in loop.step()}
    label = f"{name:12s} feedback={'yes' if feedback else 'no ':3s}"
    print(f"{label} healthy week: {len(raised)} findings {sorted(raised)[:5]}")
    ids = loop.sim.ids[:: max(1, len(loop.sim.ids) // sample)][:sample]
    for kind, options in FAULTS:
        results = [detection_steps(loop, iid, kind, options) for iid in ids]
        print(f"{label} {kind:8s} any finding: {_summary([r[0] for r in results])}")
        print(f"{label} {kind:8s} as {kind:8s}: {_summary([r[1] for r in results])}", flush=True)


def main() -> None:
    for name, sample in (("estate12", 12), ("district120", 12)):
        for feedback in (True, False):
            run(name, feedback, sample)


if __name__ == "__main__":
    main()
