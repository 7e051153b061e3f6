"""Alarm rules, the control loop's last stage (§5.3.8, §6.0.6, §8.2.6): on a simulated plant,
without Home Assistant — the same conditions the integration publishes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from custom_components.heatbalance.engine.alarms import (
    AlarmBook,
    AlarmSettings,
    SuccessWindows,
)
from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.evaluation import BalanceStateMachine
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig, LoopResult
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator


def _run(
    network: Network, config: LoopConfig, cycles: int, fault: str | None = None
) -> list[LoopResult]:
    """Close the loop on the simulator for ``cycles`` half-hour cycles (auto, PI)."""
    sim = Simulator(network)
    if fault:
        sim.inject_fault(fault, "stuck", at=0.15)
    loop = ControlLoop(network, config, cycle_s=1800.0)
    sent: dict[str, float] = {}
    out = []
    for _ in range(cycles):
        result = loop.step(Measurements.from_plant(sim.step(1800.0)), dispatched=sent)
        sent = dict(result.commands.openings)
        for iid, opening in sent.items():
            sim.set_opening(iid, opening)
        loop.commanded(sent)
        out.append(result)
    return out


def _reasons(result: LoopResult, location: str | None = None) -> set[str]:
    return {c.reason for c in result.conditions if location in (None, c.location)}


def test_stuck_valve_is_a_feedback_mismatch(builtin: Callable[[str], Network]) -> None:
    """The diagnosis's verdict is the one command/feedback rule (§5.3.8-4): a valve stuck at
    15 % is a feedback mismatch with the command it was judged against; the healthy valves
    raise none, and no condition is left without the diagnosis finding behind it."""
    results = _run(builtin("estate12"), LoopConfig(), 6, fault="B012")
    last = results[-1]
    mismatch = [c for c in last.conditions if c.reason == "feedback_mismatch"]
    assert [c.location for c in mismatch] == ["B012"]
    assert mismatch[0].values["value"] == "15.0"
    assert mismatch[0].values["command"] != "15.0"
    judged = {f.inlet_id for f in last.findings if f.kind in {"mismatch", "stuck", "slow_response"}}
    assert judged == {"B012"}
    assert not {"feedback_mismatch", "equipment_fault"} & {
        c.reason for c in last.conditions if c.location != "B012"
    }


def test_operator_thresholds_and_safety_limits_share_one_set(
    builtin: Callable[[str], Network],
) -> None:
    """The minimum-flow alarm reads the controller's own limit (one set of safety limits)
    and the set flows the loop judges; the alarm-only thresholds come from AlarmSettings."""
    network = builtin("estate12")
    limits = SafetyLimits(min_flow_ratio=1.2)
    config = LoopConfig(
        controller=ControllerConfig(limits=limits),
        alarms=AlarmSettings(max_supply_c=10.0),
    )
    first = _run(network, config, 1)[0]
    flow_low = {c.location for c in first.conditions if c.reason == "flow_low"}
    below = {
        iid
        for iid, r in first.measurements.inlets.items()
        if (r.flow_m3h or 0.0)
        < 1.2 * network.inlets[iid].design_flow_m3h * network.inlets[iid].weight
    }
    assert flow_low == below
    assert 0 < len(below) < len(network.inlets)
    assert all(
        c.immediate and c.grade == "emergency" for c in first.conditions if c.reason == "flow_low"
    )
    assert {c.location for c in first.conditions if c.reason == "supply_high"} == set(
        first.measurements.inlets
    )


def test_not_balanced_after_24_hours_on_the_callers_clock(
    builtin: Callable[[str], Network],
) -> None:
    """§8.2.6: automatic regulation that has not balanced after 24 h is alarmed; the clock
    is the caller's (a real plant's wall clock), manual mode never times out."""
    network = builtin("estate12")
    loop = ControlLoop(network, LoopConfig(), cycle_s=1800.0)
    state = Simulator(network).step(1800.0)
    machine = BalanceStateMachine()
    never = Measurements.from_plant(state)
    for iid in never.inlets:  # no flow data: never in band
        never.inlets[iid] = InletReading(opening=0.5)
    early = loop.step(never, balance=machine, clock_s=0.0)
    late = loop.step(never, balance=machine, clock_s=25 * 3600.0)
    assert "not_balanced" not in _reasons(early)
    assert late.unbalanced_s > 24 * 3600.0
    assert "not_balanced" in _reasons(late, "network")
    loop.configure(LoopConfig(controller=ControllerConfig(auto=False)))
    manual = loop.step(never, balance=machine, clock_s=50 * 3600.0)
    assert manual.unbalanced_s == 0.0
    assert "not_balanced" not in _reasons(manual)
    # a primary network is balanced by hand (§3.0.5): its clock never times out, so no
    # alarm either, also when a caller regulates it automatically (one rule: the machine's)
    primary = ControlLoop(network, LoopConfig(ControllerConfig(level="primary")), cycle_s=1800.0)
    hand = BalanceStateMachine()
    primary.step(never, balance=hand, clock_s=0.0)
    day_on = primary.step(never, balance=hand, clock_s=25 * 3600.0)
    assert hand.regulating_for_s() > 24 * 3600.0
    assert "not_balanced" not in _reasons(day_on)


def test_success_rate_window_survives_a_restart() -> None:
    """§6.0.6: first-attempt rate over the window; the counts come back from their JSON."""
    windows = SuccessWindows()
    for received in (5, 4, 5, 0):
        rate, samples = windows.update("B001", InletReading(attempted=5, received=received))
    assert (rate, samples) == (70.0, 4)
    again = SuccessWindows(windows.as_dict())
    assert again.update("B001", InletReading()) == (70.0, 4)
    gateway = InletReading(attempted=5, received=5, link_rate=(91.0, 30))
    assert again.update("B001", gateway) == (91.0, 30)


def test_alarm_book_persists_conditions_before_raising(builtin: Callable[[str], Network]) -> None:
    """Deviation needs ``cycles`` consecutive cycles; a crossed threshold is raised at once."""
    results = _run(builtin("estate12"), LoopConfig(), 2, fault="B012")
    book = AlarmBook()
    raised, _ = book.update(results[0].conditions, 3, 0.0)
    assert all(c.immediate for c in results[0].conditions if c.reason in {a.reason for a in raised})
    assert not [a for a in raised if a.type == "deviation"]


def test_a_substation_meter_finding_is_a_network_equipment_fault() -> None:
    """The meter check names the substation's own flow meter (its mass balance against the
    street inlets, meters.py): no inlet reading carries it, yet it is an equipment fault
    of the network (§5.3.7), not dropped; an inlet without a reading still raises nothing."""
    from custom_components.heatbalance.engine.alarms import NETWORK, finding_conditions
    from custom_components.heatbalance.engine.diagnosis import Finding

    station = Finding("substation", "parent_meter_bias", "warning", "substation: meter", 0.0)
    lost = Finding("B001", "flow_meter_bias", "warning", "inlet B001: flow meter", 0.0)
    found = finding_conditions([station, lost], {}, {})
    assert [(c.type, c.location, c.values["value"]) for c in found] == [
        ("equipment_fault", NETWORK, "substation: meter")
    ]


def test_pressure_alarm_only_on_a_measured_pressure(builtin: Callable[[str], Network]) -> None:
    """§5.3.8-1 "available differential pressure below threshold" is an instrument's verdict:
    a real inlet without a pressure transmitter carries the plant model's ΔP, flagged
    estimated (HA entities, the gateway: plant.py). Below the threshold it raises no
    ``pressure_low`` — nobody measured that pressure — while the same value from a
    transmitter does, at once; the other thresholds still judge what was measured."""
    network = builtin("estate12")
    loop = ControlLoop(network, LoopConfig(alarms=AlarmSettings(min_dp_kpa=1e4)), cycle_s=1800.0)
    meas = Measurements.from_plant(Simulator(network).step(1800.0))
    ids = sorted(meas.inlets)
    estimated = set(ids[::2])  # every other inlet has no transmitter
    for iid in estimated:
        meas.inlets[iid].estimated = ("dp_available_kpa",)
    meas.inlets[ids[0]].supply_c = 120.0  # measured: still a safety threshold crossed
    result = loop.step(meas)
    low = {c.location: c for c in result.conditions if c.reason == "pressure_low"}
    assert all(meas.inlets[i].dp_available_kpa is not None for i in ids)
    assert set(low) == set(ids) - estimated
    assert all(c.immediate and c.grade == "warning" for c in low.values())
    assert "supply_high" in _reasons(result, ids[0])


def test_a_damaged_stored_alarm_is_dropped_alone() -> None:
    """``AlarmBook.restore`` runs unguarded in the coordinator's setup
    (``persistence.restore_state``): an unknown or missing key, text as a count, NaN as a
    time or a non-mapping raised and stopped the entry loading. Now the damaged alarm or
    count is dropped and the rest restored as stored."""
    from custom_components.heatbalance.engine.alarms import Alarm

    good = Alarm("deviation", "warning", "B001", "flow_low", {"value": "-9 %"}, 60.0)
    kept = AlarmBook()
    kept.active = {good.key: good}
    stored = json.loads(json.dumps(kept.as_dict()))
    stored["pending"] = {"flow_low@B002": 2, "flow_low@B003": "x", "flow_low@B004": -1}
    damaged = [
        {**stored["active"][0], "colour": "red"},
        {k: v for k, v in stored["active"][0].items() if k != "grade"},
        {**stored["active"][0], "since_s": math.nan},
        {**stored["active"][0], "acknowledged": "yes"},
        {**stored["active"][0], "location": 5},
        "flow_low@B001",
    ]
    book = AlarmBook()
    book.restore({"active": [*stored["active"], *damaged], "pending": stored["pending"]})
    assert book.as_dict() == {"active": stored["active"], "pending": {"flow_low@B002": 2}}
    for whole in ({"active": "x", "pending": []}, []):
        AlarmBook().restore(whole)  # type: ignore[arg-type]
