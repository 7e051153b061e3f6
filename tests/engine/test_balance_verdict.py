"""The §8.2.5 balance verdict is taken on the estimates, with hysteresis (issue 9 item 1).

On raw readings at 1 % meter noise estate12's verdict was wrong in 56 % of cycles: the
state flipped between balanced and disturbed (HA's entity, logbook and alarms flapped) and
the hold that stops valve hunting rarely lasted. A real disturbance must still break it.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bench_robust as br
from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.evaluation import BalanceStateMachine
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.simulator import Simulator

from .dispatching import send

CYCLE_S = 1800.0
NOISE = 0.01


def _noisy(sim: Simulator, rng: np.random.Generator) -> Measurements:
    """The plant read by meters with 1 % noise on flow and temperatures."""
    meas = Measurements.from_plant(sim.state())
    for r in meas.inlets.values():
        for name in ("flow_m3h", "supply_c", "return_c"):
            value = getattr(r, name)
            if value is not None:
                setattr(r, name, float(value * (1.0 + rng.normal(0.0, NOISE))))
    return meas


def _run(
    loop: ControlLoop, sim: Simulator, machine: BalanceStateMachine, steps: range, seed: int
) -> list[bool]:
    """Cycles as HA's coordinator runs them; whether the network was held balanced in each."""
    rng = np.random.default_rng(seed * 1000 + steps.start)
    held: list[bool] = []
    for k in steps:
        out = loop.step(_noisy(sim, rng), balance=machine, clock_s=k * CYCLE_S)
        send(loop, sim, out.dispatch)
        held.append(not machine.regulating)
        sim.advance(CYCLE_S)
    return held


def _estate12() -> tuple[ControlLoop, Simulator]:
    net = load_network("estate12")
    for inlet in net.inlets.values():
        inlet.device.opening = inlet.device.max_opening  # all open, as bench_robust starts
    loop = ControlLoop(net, LoopConfig(ControllerConfig()), cycle_s=CYCLE_S)
    return loop, Simulator(net, outdoor_c=net.design.outdoor_c)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_balanced_network_stays_balanced_at_one_percent_noise(seed: int) -> None:
    """Once balanced, estate12 at 1 % noise is held to the end of 24 cycles: no flip back to
    disturbed on a reading at the band's edge (on raw readings: 2.7 flips a run)."""
    loop, sim = _estate12()
    machine = BalanceStateMachine()
    held = _run(loop, sim, machine, range(24), seed)
    assert True in held, "never balanced"
    first = held.index(True)
    assert first <= 8, held
    assert all(held[first:]), held


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_blockage_breaks_the_balance_within_three_cycles(seed: int) -> None:
    """A building blocked to 30 % of its Kv (its flow far below the band) while the network
    is held balanced: regulation re-enters by itself (§8.2.5) after the two out-of-band
    verdicts the hysteresis asks for, one cycle more for the filter to see it."""
    loop, sim = _estate12()
    machine = BalanceStateMachine()
    held = _run(loop, sim, machine, range(14), seed)
    assert held[-1], held
    sim.inject_fault("B007", "blockage", factor=0.3)
    after = _run(loop, sim, machine, range(14, 20), seed)
    assert False in after[:3], after


@pytest.mark.parametrize("seed", [7, 13])
def test_an_inlet_held_just_below_the_band_is_corrected_not_held_there(seed: int) -> None:
    """§8.2.5/§8.2.4: loop8 at 2 % noise through the loop with the balanced hold, as
    bench_robust runs it. In these seeds one inlet truly sat just below the band (B2 at
    −0.13 %, B4 at −0.37 %) while its estimate lay just inside it (+0.0…+0.9 ± 0.75 %),
    below its goal by more than the controller's gates allow: the raise was asked every
    cycle and the hold dropped it for 18 and 20 cycles (advanced held from step 21, never).
    Balance is now entered only once no inlet the controller moves is estimated within its
    σ of the band's edge; the band holds from step ≤12."""
    net = load_network("loop8")
    scenario = next(s for s in br.SCENARIOS if s.name == "noise 2%")
    run = br.run_one(net, scenario, seed)
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 12, run.advanced
