"""Property tests over the engine's control loop (issue 9 goal, issue 10 item 5): whatever
comes in, over a whole sequence of cycles, no command leaves the safety limits (§5.3.6-3)
and nothing raises.

Each example runs a :class:`ControlLoop` through several cycles drawn at random: readings
plausible or wild (None, NaN, ±inf, huge, negative, out of 0…1, flagged), valves with and
without position feedback, commands that reach the valves or fail or are held (manual,
balanced), inlets whose source changes (re-mapped to other devices), inlets removed and
added back, a restart from the stored state, mode and algorithm switches, and an operator
confirming an old proposal later.

The step limit is judged against an independent record of what is *actually known* of
each valve — the latest of its trusted feedback and the commands that reached it, else the
configured (commissioned) opening, and after a source change nothing but the configured
opening — never against the controller's own belief.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.model import Network

from .test_control_properties import FIELDS, PLAUSIBLE, WILD
from .test_control_properties import network as three_buildings

LIMITS = SafetyLimits(min_opening=0.1, max_opening=0.9, max_step=0.2, min_flow_ratio=0.3)
IDS = ("B1", "B2", "B3", "B3H1", "B3H2")
CONFIGURED = {"B1": 0.3, "B2": 0.7, "B3": 1.0, "B3H1": 0.5, "B3H2": 0.15}
EPS = 1e-9


def network() -> Network:
    """The property network with commissioned openings that differ from valve to valve
    (so a position kept from another device is told from the configured one)."""
    net = three_buildings()
    for iid, opening in CONFIGURED.items():
        net.inlets[iid].device.opening = opening
    return net


NETWORK = network()


@dataclass
class Cycle:
    """One cycle's draw: readings, what happens to the commands, events before it."""

    readings: dict[str, InletReading]
    feedback: dict[str, float | None]  # valve position read back (None: no feedback)
    delivered: frozenset[str]  # commands that reach their valve (the rest fail)
    held: bool  # nothing sent at all (manual network, balanced plant)
    remapped: frozenset[str]  # inlets whose source changes before this cycle
    removed: frozenset[str]  # inlets not managed this cycle (no reading, no command)
    restart: bool  # the loop is rebuilt from its stored state before this cycle
    auto: bool
    algorithm: str
    confirm: dict[str, float] = field(default_factory=dict)  # an old proposal confirmed


@st.composite
def cycles(draw: st.DrawFn) -> list[Cycle]:
    """A season's bad days, compressed into a few cycles."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        readings: dict[str, InletReading] = {}
        for iid in draw(st.lists(st.sampled_from(IDS), unique=True)):
            if draw(st.booleans()):
                values = {f: draw(st.floats(*PLAUSIBLE[f])) for f in FIELDS if f != "opening"}
                flagged: frozenset[str] = frozenset()
            else:
                values = {f: draw(WILD) for f in FIELDS if f != "opening"}
                flagged = draw(st.frozensets(st.sampled_from([*FIELDS, "*"]), max_size=2))
            readings[iid] = InletReading(**values, flagged=flagged)
        feedback = {iid: draw(st.one_of(st.none(), st.floats(0.0, 1.0), WILD)) for iid in readings}
        subsets = st.frozensets(st.sampled_from(IDS))
        proposal = st.dictionaries(st.sampled_from(IDS), st.one_of(st.floats(0.0, 1.0), WILD))
        out.append(
            Cycle(
                readings=readings,
                feedback=feedback,
                delivered=draw(subsets),
                held=draw(st.booleans()),
                remapped=draw(subsets),
                removed=draw(st.frozensets(st.sampled_from(IDS), max_size=2)),
                restart=draw(st.integers(0, 5)) == 0,
                auto=draw(st.integers(0, 4)) > 0,
                algorithm=draw(st.sampled_from(["model", "traditional"])),
                confirm=draw(proposal),
            )
        )
    return out


def config(cycle: Cycle) -> LoopConfig:
    """The operator's settings this cycle; a removed inlet is one no command reaches."""
    control = ControllerConfig(
        algorithm=cycle.algorithm,
        auto=cycle.auto,
        limits=LIMITS,
        manual_inlets=sorted(cycle.removed),
    )
    return LoopConfig(controller=control, judged=[i for i in IDS if i not in cycle.removed])


def measurements(cycle: Cycle, k: int) -> Measurements:
    """The cycle's readings with each valve's feedback (a removed inlet reads nothing)."""
    inlets = {
        iid: replace(reading, opening=cycle.feedback.get(iid))
        for iid, reading in cycle.readings.items()
        if iid not in cycle.removed
    }
    return Measurements(
        inlets=inlets, time_s=1800.0 * (k + 1), supply_c=60.0, return_c=45.0, pump_speed=1.0
    )


def in_range(iid: str, value: float) -> bool:
    """Whether an opening lies in the tighter of operator's and device's range."""
    device = NETWORK.inlets[iid].device
    lo, hi = LIMITS.opening_range(device.min_opening, device.max_opening)
    return lo - EPS <= value <= hi + EPS


def check_move(iid: str, value: float, known: dict[str, float]) -> None:
    """A command is finite, in range, and within the step limit from the known position
    (a valve known to stand outside the range is brought straight back into it)."""
    assert math.isfinite(value), (iid, value)
    assert in_range(iid, value), (iid, value)
    before = known.get(iid, CONFIGURED[iid])
    if in_range(iid, before):
        assert abs(value - before) <= LIMITS.max_step + EPS, (iid, before, value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(season=cycles())
def test_no_move_ever_leaves_the_limits_from_what_is_known(season: list[Cycle]) -> None:
    loop = ControlLoop(NETWORK, config(season[0]), cycle_s=1800.0)
    known: dict[str, float] = {}  # the independent record: latest feedback or delivery
    for k, cycle in enumerate(season):
        if cycle.restart:
            loop = ControlLoop(NETWORK, config(cycle), cycle_s=1800.0, state=loop.as_dict())
        if cycle.remapped:
            loop.sources_changed(cycle.remapped)
            for iid in cycle.remapped:
                known.pop(iid, None)  # another device: nothing known but its configuration
        loop.configure(config(cycle))
        result = loop.step(measurements(cycle, k))
        for iid, reading in result.measurements.inlets.items():  # trusted feedback
            value = reading.get("opening")
            if iid in CONFIGURED and value is not None and 0.0 <= value <= 1.0:
                known[iid] = value
        cmds = result.commands
        for iid, value in [*cmds.openings.items(), *cmds.proposed.items()]:
            check_move(iid, value, known)
        assert not set(cmds.openings) & cycle.removed  # no command reaches a removed inlet
        if not cycle.auto:
            assert not cmds.openings  # manual means manual
            assert cmds.pump_speed is None
        if cycle.held:
            loop.held()
        else:
            sent = {i: v for i, v in cmds.openings.items() if i in cycle.delivered}
            loop.commanded(sent)
            known |= sent
        confirmed, _ = loop.within_limits(cycle.confirm)  # an old proposal, confirmed now
        for iid, value in confirmed.items():
            check_move(iid, value, known)
        if confirmed:
            loop.commanded(confirmed)
            known |= confirmed
        loop.as_dict()  # the state stays serialisable whatever came in
