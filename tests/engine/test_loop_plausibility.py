"""Faults of real plants that only show over cycles, through the control loop and HA's alarm
book (plausibility.py): swapped supply/return sensors (§5.3.8-2), a frozen flow meter
(§5.3.8-2, §3.0.7-1) and a pump that does not follow its command (§5.3.8-4). Each is an
alarm naming the device; the healthy runs beside them raise none.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable

import numpy as np
import pytest

from custom_components.heatbalance.engine.alarms import AlarmBook
from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig, LoopResult
from custom_components.heatbalance.engine.plausibility import (
    FROZEN_FALSE_RATE,
    FROZEN_MIN_NOISE,
    FROZEN_MIN_RUN,
    FROZEN_WITNESS_LEARNT,
    Plausibility,
    _Meter,
    _repeat_chance,
    valve_witnesses,
)
from custom_components.heatbalance.engine.simulator import PlantState, Simulator

CYCLE_S = 1800.0
VICTIM = "B005"
Lie = Callable[[int, Measurements], None]


def _run(
    steps: int,
    lie: Lie,
    *,
    pump_share: float = 1.0,
    noise: float = 0.01,
    seed: int = 0,
    algorithm: str = "model",
    restart_at: int | None = None,
    exact: frozenset[str] = frozenset(),
    min_flow: float = 0.0,
    plant: Callable[[int, Simulator], None] | None = None,
    cycle_s: float = CYCLE_S,
    stagnant_tau_s: float | None = None,
) -> tuple[list[tuple[int, str]], list[LoopResult]]:
    """estate12 from all open, ``steps`` cycles as HA runs them (last cycle's openings as
    ``dispatched``, persistence 4 cycles), meters with ``noise`` (relative, temperatures
    ``noise`` × 30 K), ``lie`` bending the readings, the pump reaching ``pump_share`` of its
    command; ``restart_at``: before that step the loop is built again from its stored
    state, as Home Assistant does after a restart (the alarm book is kept: HA stores it
    too); ``exact``: inlets whose flow meter reads without noise; ``min_flow``: the
    operator's minimum-flow share (HA's default 50 %: the ``flow_low`` emergency);
    ``plant(k, sim)`` changes the plant before step k's readings; ``cycle_s`` plant time
    per cycle; ``stagnant_tau_s``: return sensors in standing water cool with this time
    constant (the simulator's option; None: at once). Returns every alarm raised as
    (step, key) and the loop's results."""
    net = load_network("estate12")
    for inlet in net.inlets.values():
        inlet.device.opening = inlet.device.max_opening
    limits = SafetyLimits(min_flow_ratio=min_flow)
    config = ControllerConfig(algorithm=algorithm, level="advanced", limits=limits)
    loop = ControlLoop(net, LoopConfig(config), cycle_s=cycle_s)
    sim = Simulator(net, outdoor_c=net.design.outdoor_c, stagnant_tau_s=stagnant_tau_s)
    rng = np.random.default_rng(seed)
    book, sent = AlarmBook(), {}
    raised: list[tuple[int, str]] = []
    results = []
    for k in range(1, steps + 1):
        if k == restart_at:
            stored = json.loads(json.dumps(loop.as_dict()))  # through the Store's JSON
            loop = ControlLoop(net, LoopConfig(config), cycle_s=cycle_s, state=stored)
        if plant is not None:
            plant(k, sim)
        state = sim.state()
        meas = _noisy(state, rng, noise)
        for iid in exact:
            meas.inlets[iid].flow_m3h = state.inlets[iid].flow_m3h
        lie(k, meas)
        out = loop.step(meas, dispatched=sent)
        results.append(out)
        for iid, opening in out.commands.openings.items():
            sim.set_opening(iid, opening)
        if out.commands.pump_speed is not None:
            sim.set_pump_speed(out.commands.pump_speed * pump_share)
        loop.commanded(dict(out.commands.openings))
        sent = dict(out.commands.openings)
        new, _ = book.update(out.conditions, 4, meas.time_s or 0.0)
        raised += [(k, a.key) for a in new]
        sim.advance(cycle_s)
    return raised, results


def _noisy(state: PlantState, rng: np.random.Generator, noise: float) -> Measurements:
    m = Measurements.from_plant(state)
    if noise:
        for r in m.inlets.values():
            if r.flow_m3h is not None:
                r.flow_m3h = float(r.flow_m3h * (1.0 + rng.normal(0.0, noise)))
            for name in ("supply_c", "return_c"):
                value = getattr(r, name)
                if value is not None:
                    setattr(r, name, float(value + rng.normal(0.0, 30.0 * noise)))
    return m


def _healthy(k: int, m: Measurements) -> None:
    """Nothing bent."""


def _of(raised: list[tuple[int, str]], reason: str) -> list[tuple[int, str]]:
    return [(k, key) for k, key in raised if key.startswith(f"{reason}@")]


def test_swapped_sensors_are_named_and_not_regulated_on() -> None:
    """Supply and return sensors of one building swapped: cleaning flags the pair every
    cycle; after three cycles in a row it is an alarm naming the inlet (§5.3.8-2), and its
    temperatures stay out of regulation."""

    def swap(k: int, m: Measurements) -> None:
        r = m.inlets[VICTIM]
        r.supply_c, r.return_c = r.return_c, r.supply_c

    raised, results = _run(8, swap)
    assert _of(raised, "sensors_swapped") == [(3, f"sensors_swapped@{VICTIM}")], raised
    for out in results:
        assert out.measurements.inlets[VICTIM].get("return_c") is None


def test_pump_below_its_command_is_an_alarm() -> None:
    """The drive runs at 90 % of the commanded speed: two cycles off the command (beyond
    the controller's 2 % follow tolerance) raise the pump alarm (§5.3.8-4)."""
    raised, results = _run(10, _healthy, pump_share=0.9)
    first = next(k for k, out in enumerate(results, 1) if out.commands.pump_speed is not None)
    pump = _of(raised, "pump_not_following")
    assert pump == [(first + 2, "pump_not_following@network")], (first, raised)


def _frozen_from(step: int) -> Lie:
    """VICTIM's flow meter repeating, from ``step`` on, the value it read then."""
    frozen: list[float] = []

    def freeze(k: int, m: Measurements) -> None:
        r = m.inlets[VICTIM]
        if k >= step:
            frozen.append(frozen[0] if frozen else float(r.flow_m3h or 0.0))
            r.flow_m3h = frozen[0]

    return freeze


@pytest.mark.parametrize("algorithm", ["model", "traditional"])
def test_frozen_meter_is_named_and_its_flow_distrusted(algorithm: str) -> None:
    """A dead transmitter repeats the value it had at step 6 (1 % meters): the run of exact
    repeats the meter's history makes improbable names it, and its flow is no longer used
    (§5.3.8-2). The same under PI, which moved some valve in every cycle before the freeze:
    no quiet cycle had taught the meter's repeat share and the estimator no noise level
    (before, never named in 24 cycles on seeds 0-3); the rule does not depend on the
    controller."""
    raised, results = _run(16, _frozen_from(6), algorithm=algorithm)
    named = _of(raised, "meter_frozen")
    assert named, raised
    assert named[0][1] == f"meter_frozen@{VICTIM}", raised
    assert named[0][0] <= 12, raised
    assert {key for _, key in named} == {f"meter_frozen@{VICTIM}"}
    assert results[named[0][0] - 1].measurements.inlets[VICTIM].get("flow_m3h") is None


@pytest.mark.parametrize("seed", [5, 7])
def test_a_frozen_meter_is_named_under_pi_when_only_other_valves_move(seed: int) -> None:
    """Under PI the frozen value sits in band, so PI moves neither its valve nor the pump
    and no cycle showed a repeat a live meter could not make: on seeds 5 and 7 it was never
    named in 24 cycles (measured; seeds 0-4 and 6 at step 10). Others' valves keep moving,
    and those moves shift every inlet's flow (hydraulic coupling, `plausibility.coupled`):
    a continuous live meter cannot repeat to the last digit across them. Named at step 10,
    nothing else named."""
    raised, _ = _run(24, _frozen_from(6), algorithm="traditional", seed=seed)
    named = _of(raised, "meter_frozen")
    assert named, raised
    assert named[0][0] <= 12, raised
    assert {key for _, key in named} == {f"meter_frozen@{VICTIM}"}


def test_a_restart_does_not_start_the_checks_again() -> None:
    """Home Assistant restarts while B005's meter is frozen (from step 6) and its supply and
    return sensors have just been swapped (from step 7): both are named when they would have
    been without the restart (§5.3.8-2). Before, the checks' runs were lost with the
    restart: the frozen meter's repeat history had to be learnt anew (named late or never)
    and the swapped pair counted from 1 again."""

    def freeze_and_swap() -> Lie:
        freeze = _frozen_from(6)

        def lie(k: int, m: Measurements) -> None:
            freeze(k, m)
            if k >= 7:
                r = m.inlets[VICTIM]
                r.supply_c, r.return_c = r.return_c, r.supply_c

        return lie

    plain, _ = _run(16, freeze_and_swap())
    restarted, _ = _run(16, freeze_and_swap(), restart_at=8)
    kinds = ("meter_frozen", "sensors_swapped")
    first = {kind: _of(plain, kind)[:1] for kind in kinds}
    assert all(first.values()), plain
    assert {kind: _of(restarted, kind)[:1] for kind in kinds} == first, restarted


@pytest.mark.parametrize(
    ("noise", "resolution", "algorithm"),
    [
        (0.0, None, "model"),
        (0.0, None, "traditional"),
        (0.01, None, "model"),
        (0.01, 0.5, "model"),
        (0.02, 1.0, "model"),
    ],
    ids=["noiseless", "noiseless-PI", "1%", "1%-coarse-0.5", "2%-coarse-1.0"],
)
def test_healthy_meters_are_not_accused(
    noise: float, resolution: float | None, algorithm: str
) -> None:
    """No plausibility alarm on a healthy plant: a noiseless simulated plant repeats its
    flows exactly at rest — also under PI, whose moves for hours teach the estimator a
    noise level and the meter no repeats (HA's demo: every meter was called frozen once
    PI came to rest) — and a coarse meter (resolution up to 1 m³/h on 6.6–43 m³/h)
    repeats often: neither is called frozen."""

    def coarse(k: int, m: Measurements) -> None:
        for r in m.inlets.values():
            if resolution is not None and r.flow_m3h is not None:
                r.flow_m3h = round(r.flow_m3h / resolution) * resolution

    raised, _ = _run(24, coarse, noise=noise, seed=3, algorithm=algorithm)
    for reason in ("sensors_swapped", "meter_frozen", "pump_not_following"):
        assert not _of(raised, reason), raised


@pytest.mark.parametrize(("algorithm", "noise"), [("model", 0.02), ("traditional", 0.01)])
def test_a_noiseless_meter_among_noisy_ones_is_not_frozen(algorithm: str, noise: float) -> None:
    """One flow meter reads without noise among meters with 1–2 % (a finer instrument, or
    a transmitter that filters): at rest it repeats its value to the last digit for hours
    (measured: 9–21 cycles in a row), while the estimator's noise level, shrunk toward the
    network's meters, is that of a noisy meter. It never changed in a quiet cycle nor
    repeated across a move of its own flow, so the §5.3.8-2 rule has nothing to accuse it
    on: no frozen meter is named, under either controller."""
    raised, results = _run(36, _healthy, noise=noise, seed=3, algorithm=algorithm,
                           exact=frozenset({VICTIM}))  # fmt: skip
    flows = [out.measurements.inlets[VICTIM].flow_m3h for out in results]
    run = longest = 0
    for before, after in itertools.pairwise(flows):
        run = run + 1 if before == after else 0
        longest = max(longest, run)
    assert longest >= 8  # it did repeat for hours: the case is exercised
    assert not _of(raised, "meter_frozen"), raised


def test_a_flow_witness_is_judged_only_against_its_measured_noise() -> None:
    """§5.3.8-2: a flow witness that moves under a repeated reading says the water moved
    only beyond the noise its changes at rest measured. Before it measured
    :data:`FROZEN_WITNESS_LEARNT` of them it says nothing: judged against the 1 % prior
    alone, the heat meter's first change at rest (ln −0.092; its real scatter 5–6.5 %) named
    estate12's noiseless live meter frozen once PI rested within the advanced band (16i, 16m).
    Once it has measured a 1 % scatter at rest, the same move counts."""
    check = Plausibility()
    check.valves = valve_witnesses(load_network("estate12"))
    meter = _Meter(last=10.0, steps=[0.1, 0.2])  # a live meter repeating its 10.0 m³/h
    ln_now = [0.0]

    def seen(ln_change: float, quiet: bool = True) -> float:
        """What the valve's witness says when its ln(Kv·√ΔP) moves by ``ln_change``."""
        ln_now[0] += ln_change
        reading = InletReading(opening=0.5, valve_dp_kpa=20.0 * math.exp(2.0 * ln_now[0]))
        return check._witnessed(meter, reading, VICTIM, quiet, 0.0)

    assert seen(0.0) == 0.0  # nothing to compare with yet
    assert seen(-0.092, quiet=False) == 0.0  # no noise measured to judge it by
    for k in range(FROZEN_WITNESS_LEARNT):  # at rest: its noise, measured
        assert seen(0.01 * (-1) ** k) == 0.0
    assert seen(0.01) == 0.0  # within 5 σ of what it measured
    assert seen(-0.092, quiet=False) == pytest.approx(math.expm1(0.092))  # the water moved


def test_a_meter_that_changed_at_every_rest_takes_the_networks_repeat_share() -> None:
    """§5.3.8-2: estate12's B007 (bench_robust "flow meter frozen", seed 0) changed in all
    four quiet cycles before it froze, while the network's meters repeat at rest about 1 in
    46. Laplace's share of its own four (1/6) asked six repeats (named at step 12); shrunk
    toward the network's share it is named after the rule's least run. A meter with a
    repeat of its own at rest keeps its own share (a noiseless or coarse meter repeats)."""
    changed = _Meter(last=18.93, pairs=4, repeats=0, noise=0.0098,
                     steps=[0.081, 0.068, 0.196, 0.114])  # fmt: skip
    assert changed.needed() == 6  # nothing of the others': Laplace alone
    assert changed.needed(pool=0.0217) == FROZEN_MIN_RUN
    repeated = dataclasses.replace(changed, pairs=5, repeats=1)
    assert repeated.needed(pool=0.0217) == repeated.needed() == 8


@pytest.mark.parametrize("seed", [0, 1])
def test_a_frozen_meter_on_a_resting_two_building_plant_is_named_under_pi(seed: int) -> None:
    """gen2-tiny (bench_robust --hidden) under PI: the meter freezes at step 6 while PI
    still moves its valve (one repeat across a move of its own flow), then both buildings sit
    in band and nothing moves again. With no quiet cycle of its own before the freeze it was
    never judged (seeds 0 and 1: never named in 24 steps, measured). Its repeat across a
    move is what a live continuous meter cannot make; in the quiet cycles after, the other
    meter changed in every one: named (step 12), and no alarm elsewhere."""
    from benchmarks import bench_robust as br

    net = next(n for n in br.hidden_networks() if n.name == "gen2-tiny")
    scn = next(s for s in br.SCENARIOS if s.fault == "frozen")
    run = br.run_one(net, scn, seed, ControllerConfig(algorithm="traditional"))
    assert run.alarm is not None
    assert run.alarm <= 14
    assert not [a for a in run.other_alarms if a.startswith("meter_frozen")], run.other_alarms


def test_a_frozen_meter_on_a_noiseless_plant_is_named_when_its_valve_says_the_flow_moved() -> None:
    """gen10x8-households without any noise: the building's meter freezes at step 6, the
    plant moves its water once more (0.4 %), then rests. A noiseless live meter at rest
    repeats as a frozen one does, so the repeat history cannot tell them apart; only a
    move of the water can (§5.3.8-2). Its valve's Kv(opening)·√ΔP and its heat meter's
    power ÷ ΔT both moved by 0.4 % under a repeated reading, far beyond what they move at
    rest: named at step 9 (never in 24 steps without the witnesses, measured), and no
    frozen meter named elsewhere."""
    from benchmarks import bench_robust as br

    net = next(n for n in br.networks(False) if n.name == "gen10x8-households")
    scn = br.Scenario("frozen, noiseless", noise=0.0, fault="frozen", value=6.0, named=True)
    run = br.run_one(net, scn, 0)
    assert run.alarm is not None
    assert run.alarm <= 12
    assert not [a for a in run.other_alarms if a.startswith("meter_frozen")], run.other_alarms


DEAD_FROM = 6  # the victim's flow meter reads no flow from this step


@pytest.mark.parametrize("heat_meter", [True, False])
@pytest.mark.parametrize("value", [0.0, -3.5])
def test_a_dead_flow_meter_is_a_meter_fault_not_a_stopped_flow(
    value: float, heat_meter: bool
) -> None:
    """A flow meter that reads 0 (or a negative value) from one cycle on while the
    building's return keeps its level and its heat meter keeps counting (§3.0.7-1): the
    inlet was paged as a `flow_low` emergency (HA's minimum flow 50 %), diagnosed as a
    blockage and, with its flow in the mass balance, the substation's meter was blamed. It
    is the meter's fault, named at the third reading (two garbage reads in a row are not
    rare enough to page anyone), its flow distrusted from the first, and nothing else is
    raised — with the heat meter read or, as behind HA entities, not."""

    def dead(k: int, m: Measurements) -> None:
        for r in m.inlets.values():
            r.heat_kwh = r.heat_kwh if heat_meter else None
        if k >= DEAD_FROM:
            m.inlets[VICTIM].flow_m3h = value

    raised, results = _run(14, dead, noise=0.02, seed=5, min_flow=0.5)
    named = _of(raised, "flow_meter_dead")
    assert named == [(DEAD_FROM + 2, f"flow_meter_dead@{VICTIM}")], raised
    others = [key for k, key in raised if k >= DEAD_FROM and not key.startswith("deviation@B")]
    assert others == [f"flow_meter_dead@{VICTIM}"], raised
    for out in results[DEAD_FROM:]:  # its flow is not used for regulation
        assert out.measurements.inlets[VICTIM].get("flow_m3h") is None


def test_a_real_stop_is_still_a_flow_low_emergency() -> None:
    """The same reading of no flow where the water really stopped (the building's Kv all
    but gone): its return cools to the room and its heat meter stops counting, so no
    witness speaks for the meter — the `flow_low` emergency (§5.3.8-1) is raised as soon as
    cleaning takes the reading (the second: a lone 0 is a spike), no meter is accused."""

    def stop(k: int, sim: Simulator) -> None:
        if k == DEAD_FROM:
            sim.inject_fault(VICTIM, "blockage", factor=1e-9)

    raised, _ = _run(10, _healthy, noise=0.02, seed=5, min_flow=0.5, plant=stop)
    assert (DEAD_FROM + 1, f"flow_low@{VICTIM}") in raised, raised
    assert not _of(raised, "flow_meter_dead"), raised


HA_CYCLE_S = 30.0  # a Home Assistant cycle of seconds: a stopped inlet's return still warm
LOW_FLOW_CUTOFF = 0.05  # m³/h: below it a flow meter reads 0


@pytest.mark.parametrize(
    ("tau_s", "noise", "seed"),
    [(300.0, 0.01, 5), (600.0, 0.01, 5), (1200.0, 0.01, 5), (1200.0, 0.02, 1), (1200.0, 0.02, 4)],
)
def test_a_real_stop_with_slowly_cooling_return_is_a_flow_low_emergency(
    tau_s: float, noise: float, seed: int
) -> None:
    """A real stop read every 30 s, its return sensor in standing water cooling over
    minutes (time constant 5–20 min, the simulator's ``stagnant_tau_s``) and no heat meter
    read (HA entities often have none): its return keeps over half its lift for 3½–14
    minutes, which the one-cycle rule took for flowing water — `flow_meter_dead` (an
    equipment fault) and no `flow_low` emergency. A return that cools as stagnant water
    would is no evidence of flow: the emergency is raised at once and no meter is accused
    over the next 20 minutes — also with 0.6 K return noise (2 %), where in the first
    minutes the stop and a flowing return differ by less than the sensor's scatter (seeds 1
    and 4 were named at step 8 without a noise margin)."""

    def stop(k: int, sim: Simulator) -> None:
        if k == DEAD_FROM:
            sim.inject_fault(VICTIM, "blockage", factor=1e-9)

    lifts: list[float] = []

    def read(k: int, m: Measurements) -> None:
        for x in m.inlets.values():
            x.heat_kwh = None
        r = m.inlets[VICTIM]
        if r.flow_m3h is not None and r.flow_m3h < LOW_FLOW_CUTOFF:
            r.flow_m3h = 0.0  # a meter's low-flow cut-off: standing water reads 0
        lifts.append((r.return_c or 0.0) - (r.room_c or 20.0))

    raised, _ = _run(DEAD_FROM + 40, read, noise=noise, seed=seed, min_flow=0.5,
                     plant=stop, cycle_s=HA_CYCLE_S, stagnant_tau_s=tau_s)  # fmt: skip
    flowing = lifts[DEAD_FROM - 2]
    assert lifts[DEAD_FROM + 2] > 0.6 * flowing  # the case is exercised: still warm
    assert (DEAD_FROM + 1, f"flow_low@{VICTIM}") in raised, raised
    assert not _of(raised, "flow_meter_dead"), raised


def test_a_dead_flow_meter_is_named_within_minutes_at_short_cycles() -> None:
    """The dead meter of the test above, read every 30 s, where the water really flows:
    its return holds while stagnant water would have cooled. Within the first minutes
    nothing can tell the two apart (a `flow_low` may be raised then); the meter is named
    once its return stands clearly above what stagnant water would hold, within 5 minutes,
    and its flow is no longer used."""

    def dead(k: int, m: Measurements) -> None:
        for x in m.inlets.values():
            x.heat_kwh = None
        if k >= DEAD_FROM:
            m.inlets[VICTIM].flow_m3h = 0.0

    raised, results = _run(DEAD_FROM + 14, dead, noise=0.01, seed=5, min_flow=0.5,
                           cycle_s=HA_CYCLE_S, stagnant_tau_s=600.0)  # fmt: skip
    named = _of(raised, "flow_meter_dead")
    assert len(named) == 1, raised
    assert named[0][0] <= DEAD_FROM + 10, raised
    assert results[-1].measurements.inlets[VICTIM].get("flow_m3h") is None


@pytest.mark.parametrize("stopped", [False, True])
def test_a_meter_dead_from_its_first_reading_is_judged_on_the_witnesses(stopped: bool) -> None:
    """A flow meter that reads 0 from its very first reading has no flowing history to
    compare its return with: it was never judged, and a building whose water flows was a
    `flow_low` emergency for ever. Its return is now judged against the other inlets'
    flowing returns and what stagnant water could still hold since that first reading:
    named at its third reading; a building whose water really stands from the start stays
    the `flow_low` emergency."""

    def dead(k: int, m: Measurements) -> None:
        for x in m.inlets.values():
            x.heat_kwh = None
        m.inlets[VICTIM].flow_m3h = 0.0

    def stop(k: int, sim: Simulator) -> None:
        if k == 1 and stopped:
            sim.inject_fault(VICTIM, "blockage", factor=1e-9)

    raised, results = _run(8, dead, noise=0.02, seed=5, min_flow=0.5, plant=stop)
    # the first reading cannot tell (a stop that just happened): the emergency is raised
    assert _of(raised, "flow_low") == [(1, f"flow_low@{VICTIM}")], raised
    low = [k for k, out in enumerate(results, 1) if _condition(out, "flow_low")]
    if stopped:
        assert low == list(range(1, 9))
        assert not _of(raised, "flow_meter_dead"), raised
        return
    assert _of(raised, "flow_meter_dead") == [(3, f"flow_meter_dead@{VICTIM}")], raised
    assert low == [1]  # from the second reading its flow is distrusted: no emergency
    for out in results[1:]:
        assert out.measurements.inlets[VICTIM].get("flow_m3h") is None


def _condition(out: LoopResult, reason: str) -> bool:
    return any(c.reason == reason and c.location == VICTIM for c in out.conditions)


def _reads_from(step: int, value: Callable[[float], float]) -> Lie:
    """VICTIM's flow meter reading ``value(flow read at step − 1)`` from ``step`` on."""
    before: list[float] = []

    def bend(k: int, m: Measurements) -> None:
        r = m.inlets[VICTIM]
        if k == step - 1:
            before.append(float(r.flow_m3h or 0.0))
        if k >= step:
            r.flow_m3h = value(before[0])

    return bend


@pytest.mark.parametrize(
    ("value", "finding"),
    [
        (lambda _: 60_000.0, "sensor_implausible"),  # cleaning: out_of_range
        (lambda _: float("nan"), "sensor_implausible"),  # cleaning: invalid
        (lambda flow: 0.3 * flow, "meter_frozen"),  # the meter checks: frozen at 30 %
    ],
    ids=["60000", "nan", "frozen_low"],
)
def test_a_distrusted_flow_raises_its_finding_not_a_process_alarm(
    value: Callable[[float], float], finding: str
) -> None:
    """A flow reading cleaning rejected (§3.0.7-1) or the meter checks distrust (§5.3.8-2)
    is the meter's fault: once that finding stands, no threshold (``flow_low`` at the
    operator's 50 % minimum flow, an emergency) and no deviation is judged on the value
    (before: a meter frozen at 30 % of its flow raised ``flow_low`` every cycle after
    ``meter_frozen`` was named). The plant itself is healthy throughout."""
    raised, results = _run(16, _reads_from(6, value), min_flow=0.5)
    named = _of(raised, finding)
    assert named, raised
    assert named[0][1] == f"{finding}@{VICTIM}", raised
    for out in results[named[0][0] - 1 :]:
        process = {
            c.reason
            for c in out.conditions
            if c.location == VICTIM and c.type in ("safety_threshold", "deviation")
        }
        process |= {
            c.values["value"]
            for c in out.conditions
            if c.location == VICTIM and "blockage" in c.values.get("value", "")
        }
        assert not process, (named, process)
        # nor does the diagnosis keep a blockage read off the distrusted flow (diagnostics,
        # panel): the meter's finding names the fault
        kept = [f.kind for f in out.findings if f.inlet_id == VICTIM and f.kind == "blockage"]
        assert not kept, (named, kept)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_named_dead_meter_raises_no_second_alarm_at_short_cycles(seed: int) -> None:
    """A dead flow meter read every 10 s beside a heat meter whose register counts whole
    kWh (§5.3.7, §5.3.8-1): once named, a flowing return read one noise draw below the
    midway between stagnant and flowing water said "stopped", the finding went and
    `flow_low` was raised again for the same broken meter (named at 13, 10, 12, then
    `flow_low` at 15, 17, 20 and named again). Within its noise of the midway the return
    says nothing; the heat meter, which kept counting, speaks: named once, early, no
    `flow_low` after it, its flow never used again."""

    def dead(k: int, m: Measurements) -> None:
        for x in m.inlets.values():
            if x.heat_kwh is not None:
                x.heat_kwh = math.floor(x.heat_kwh)  # a whole-kWh register
        if k >= DEAD_FROM:
            m.inlets[VICTIM].flow_m3h = 0.0

    raised, results = _run(DEAD_FROM + 34, dead, noise=0.01, seed=seed, min_flow=0.5,
                           cycle_s=10.0, stagnant_tau_s=600.0)  # fmt: skip
    named = _of(raised, "flow_meter_dead")
    assert len(named) == 1, raised
    assert named[0][0] <= DEAD_FROM + 6, raised
    low = [k for k, key in raised if key == f"flow_low@{VICTIM}" and k > named[0][0]]
    assert not low, raised
    for out in results[named[0][0] - 1 :]:
        assert out.measurements.inlets[VICTIM].get("flow_m3h") is None


def test_a_named_dead_meter_stays_named_while_no_witness_answers() -> None:
    """A named dead meter whose return sensor and heat meter miss two readings (a lost
    M-Bus frame): no witness says anything either way, and a meter known to be dead still
    reads 0 — not news, not a `flow_low` emergency (§5.3.8-1) on a value its own finding
    distrusts. It stays named (one alarm for one cause) and is judged again when they
    answer."""
    gap = (DEAD_FROM + 5, DEAD_FROM + 6)

    def dead(k: int, m: Measurements) -> None:
        if k >= DEAD_FROM:
            m.inlets[VICTIM].flow_m3h = 0.0
        if k in gap:
            m.inlets[VICTIM].return_c = None
            m.inlets[VICTIM].heat_kwh = None

    raised, results = _run(DEAD_FROM + 9, dead, noise=0.02, seed=5, min_flow=0.5)
    assert _of(raised, "flow_meter_dead") == [(DEAD_FROM + 2, f"flow_meter_dead@{VICTIM}")], raised
    assert not _of(raised, "flow_low"), raised
    for k in gap:
        assert any(f.kind == "flow_meter_dead" for f in results[k - 1].findings)


def test_a_meter_far_coarser_than_its_noise_may_repeat() -> None:
    """A household meter at 0.05 m³/h with a 0.01 m³/h resolution and 0.6 % noise (σ a
    sixty-seventh of a step): two readings at rest round to the same step for certain, so
    a run of repeats says nothing of a frozen transmitter (§5.3.8-2). The repeat chance was
    taken as 0 beyond 50 steps per σ (1 below): the meter's few quiet changes alone made 6
    repeats "improbable" and a healthy meter was called frozen."""
    assert _repeat_chance(49.0) == pytest.approx(1.0)
    assert _repeat_chance(51.0) == pytest.approx(1.0)
    assert _repeat_chance(1e3) == pytest.approx(1.0)
    meter = _Meter(last=0.05, pairs=3, repeats=0, noise=0.006, steps=[0.01, 0.02, 0.01])
    assert meter.quantum == pytest.approx(0.01)
    assert meter.needed() is None


def test_a_meter_changing_by_several_steps_at_a_time_shows_its_resolution() -> None:
    """A quiet meter (0.1 % noise) with a 0.01 m³/h resolution in a regulating plant
    changes only when its flow is moved, by 0.02 or 0.03 m³/h at a time: every change is a
    whole multiple of 0.01, not of the smallest change seen, so it was taken for a
    continuous meter and its repeats at rest for a frozen transmitter's (§5.3.8-2). Its
    resolution is found; a continuous meter's changes still show none."""
    assert _Meter(steps=[0.02, 0.03, 0.05, 0.02]).quantum == pytest.approx(0.01)
    assert _Meter(steps=[1.0, 2.0, 3.0]).quantum == pytest.approx(1.0)
    assert _Meter(steps=[0.0123457, 0.0371234, 0.0290011]).quantum is None
    # 0.6 % noise at 0.3 m³/h is a ninth of a step: at rest it repeats almost always (it
    # had needed 14 repeats in a row, which it makes at rest; now more than a week's)
    coarse = _Meter(last=0.3, pairs=6, repeats=3, noise=0.006, steps=[0.02, 0.03, 0.02])
    need = coarse.needed()
    assert need is None or need > 7 * 48


def test_a_meters_kept_resolution_follows_its_changes() -> None:
    """The resolution is kept between asks (speed: up to five a cycle per repeating meter)
    but never outlives the changes it was found from, and is no stored field."""
    meter = _Meter(steps=[0.02, 0.03])
    assert meter.quantum == pytest.approx(0.01)
    meter.steps = [*meter.steps, 0.0123457]  # a change that is no multiple of it
    assert meter.quantum is None
    meter.steps.remove(0.0123457)  # changed in place, too
    assert meter.quantum == pytest.approx(0.01)
    assert "_quantum" not in json.dumps(dataclasses.asdict(meter))
    assert meter == _Meter(steps=[0.02, 0.03])


def test_a_run_of_repeats_is_no_likelier_than_the_rule_assumes() -> None:
    """The frozen-meter rule accuses a run of n repeats whose chance for a live meter,
    ``_repeat_chance``ⁿ, is tiny (§5.3.8-2). Drawn: a live meter at rest, its value in the
    middle of a resolution step (the worst case), noise σ = a third of a step; the
    share of 11 readings all rounding to one step stays within chanceⁿ. With the chance two
    readings coincide (Σ pᵢ²) it did not (at 3 steps: 0.20 drawn against 0.064), and a
    3.3 m³/h household meter at 0.01 m³/h steps, 0.1 % noise, was called frozen at rest."""
    rng = np.random.default_rng(0)
    n, steps = 10, 3.0
    readings = np.round(rng.normal(0.0, 1.0 / steps, size=(20000, n + 1)))  # mid-step 0
    same = float(np.mean(np.all(readings == readings[:, :1], axis=1)))
    assert same <= _repeat_chance(steps) ** n * 1.05 + 0.005


@pytest.mark.parametrize(
    ("flow", "quantum", "true_noise"),
    [
        (0.5, 0.01, 0.0025),  # true σ an eighth of a step: learnt 0.63 %, true below the floor
        (0.5, 0.02, 0.006),  # true σ 0.15 step: learnt 1.3 %, true 0.6 % (judged, longer run)
    ],
)
def test_a_quantised_meters_learnt_noise_is_corrected_for_its_resolution(
    flow: float, quantum: float, true_noise: float
) -> None:
    """A quantised meter's noise is learnt from its rounded readings, whose scatter is the
    water's and the rounding's, σ² + q²/12 (Sheppard), here drawn from a flow drifting
    across many steps as in a regulating plant. Taken as the noise, that level made a run
    of repeats at rest look improbable: the run the rule asked (4,400–6,100) has a chance
    of 0.02–0.7 for this live meter at its true noise, value mid-step (§5.3.8-2). With the
    correction the run accusing it stays below FROZEN_FALSE_RATE's chance, or it is not
    judged (true noise below FROZEN_MIN_NOISE)."""
    rng = np.random.default_rng(1)
    water = flow + np.linspace(-20 * quantum, 20 * quantum, 20000)
    read = np.round((water + rng.normal(0.0, true_noise * flow, water.size)) / quantum) * quantum
    learnt = float(np.std(read - water)) / flow
    assert learnt > FROZEN_MIN_NOISE  # the learnt level alone passes the floor
    meter = _Meter(
        last=flow, pairs=20, repeats=2, noise=learnt, steps=[quantum, 2 * quantum, quantum]
    )
    need = meter.needed()
    if need is not None:
        chance = _repeat_chance(quantum / (true_noise * flow)) ** need
        assert chance <= FROZEN_FALSE_RATE, (learnt, need, chance)
    if true_noise < FROZEN_MIN_NOISE:
        assert need is None
