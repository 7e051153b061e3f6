"""The pump is part of "balanced": the §8.2.5 hold is not entered while the plan still asks a
significant pump slow-down (issue 9 pump goal, §5.3.6-5, §8.2.4, §8.2.5).

The advanced flow band is 5 % wide. A network can read balanced — every flow estimate in
the band — while its plan, re-landing every valve, would still slow the pump by more than
its deadband: flows resting high in the band cost their cube in pump power, and the pump
loop's trim, bounded by the lowest inlet, cannot take that back. Entered then, the hold kept
that speed to the end. Once held, nothing but the trim moves until the balance breaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import benchmarks.bench_robust as br
from custom_components.heatbalance.engine.control.base import Commands, ControllerConfig
from custom_components.heatbalance.engine.control.controller import Controller
from custom_components.heatbalance.engine.evaluation import BALANCED
from custom_components.heatbalance.engine.loop import ControlLoop
from custom_components.heatbalance.engine.networks.generator import generate_network

HUNG = "plant: file hangs a building on another branch"


@contextmanager
def _entries() -> Iterator[list[bool]]:
    """Listen to the loop: for each cycle that enters the hold (the machine balanced after
    the cycle, not before), whether the plan asked a pump slow-down on that cycle."""
    seen: list[bool] = []
    step = ControlLoop.step

    def listened(self: ControlLoop, meas: Any, **kwargs: Any) -> Any:
        machine = kwargs.get("balance")
        before = machine is not None and machine.state == BALANCED
        out = step(self, meas, **kwargs)
        if machine is not None and machine.state == BALANCED and not before:
            speed, read = out.commands.pump_speed, meas.pump_speed
            slower = speed is not None and read is not None and speed < read - 1e-4
            seen.append(slower and not self.controller.pump_loop_only)
        return out

    ControlLoop.step = listened  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ControlLoop.step = step  # type: ignore[method-assign]


def test_the_hold_is_not_entered_while_the_plan_slows_the_pump() -> None:
    """bench_robust's 1.5 km comb whose file hangs a building on another branch, no ΔP read,
    1 % meters, seed 1, through the loop with the balanced hold (its own run). At step 10
    every estimate lay in the band and the network was held, while the plan (the learnt
    drawing re-landing every valve) asked the pump 2.0 % slower, beyond its 1.4 % deadband:
    held at that speed, 1.098 × the weighted oracle's pump power at the end. Now that
    slow-down goes out first and the hold follows: ≤1.07, the advanced band still by
    step 12 (the same step 8)."""
    comb = generate_network(15, seed=22, branch_len=1, trunk_m=(90.0, 110.0), name="comb")
    scenario = next(s for s in br.SCENARIOS if s.name == HUNG)
    with _entries() as entries:
        run = br.run_one(comb, dataclasses.replace(scenario, pressures=False), 1)
    assert entries, "the network was never held"
    assert not any(entries), "the hold was entered on a cycle whose plan slowed the pump"
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 12, run.advanced
    assert run.pump_ratio <= 1.07, run.pump_ratio


def test_a_trim_or_a_speed_up_does_not_keep_the_network_from_balance() -> None:
    """Only the plan's slow-down counts: the pump loop's own trim may go out under the hold
    (``Dispatch.valves_held``) and a speed-up is no power left on the table."""
    ctl = Controller(generate_network(3, seed=5), ControllerConfig())
    ctl.pump_from = 0.9
    assert ctl.plan_slows_pump(Commands(pump_speed=0.88))
    assert not ctl.plan_slows_pump(Commands(pump_speed=0.92))  # faster
    assert not ctl.plan_slows_pump(Commands())  # the pump not moved
    ctl.pump_loop_only = True
    assert not ctl.plan_slows_pump(Commands(pump_speed=0.88))  # the trim alone
