"""bench_robust counts an alarm as false wherever the scenario puts no fault: in a healthy
scenario the middle building (``victim_of``) is an inlet like any other.

Until 6 Dec the victim was always left out of "alarms elsewhere", so a false alarm there in
a noise or lost-readings row was never seen (found by 11m)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import bench_robust as br

DEAD_FROM = 4  # the middle building's flow meter reads 0 from this step
# faults of nobody's device: the file, the pump, the weather, every valve's feedback, random
# garbage on any register
HEALTHY_FOR_EVERY_INLET = (
    None,
    "no_feedback",
    "pipes",
    "branch_pipes",
    "pump",
    "pump_short",
    "kwh_register",  # every heat meter counts whole kWh: no device is faulty
    "outdoor",
    "absurd",
)


def _scenario(name: str) -> br.Scenario:
    return next(s for s in br.SCENARIOS if s.name == name)


def test_an_alarm_at_the_middle_building_of_a_healthy_scenario_is_counted_as_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gen2-tiny, "noise 0%": the middle building's meter goes dead at step 4 while the
    scenario says nothing is wrong. Its alarm is one the benchmark did not cause, so it is
    an alarm elsewhere (before: hidden, ``other_alarms`` empty)."""
    net = next(n for n in br.hidden_networks() if n.name == "gen2-tiny")
    victim = br.victim_of(br.all_open(net))
    measure = br.measure

    def dead_meter(
        state: br.PlantState, scn: br.Scenario, v: str, rng: np.random.Generator
    ) -> br.Measurements:
        meas = measure(state, scn, v, rng)
        reading = meas.inlets.get(victim)
        if reading is not None and state.time_s >= (DEAD_FROM - 1) * br.STEP_S:
            reading.flow_m3h = 0.0
        return meas

    monkeypatch.setattr(br, "measure", dead_meter)
    run = br.run_one(net, _scenario("noise 0%"), 0)
    assert [a for a in run.other_alarms if a.endswith(f"@{victim}")], run.other_alarms


def test_only_the_inlets_a_scenario_faults_are_exempt() -> None:
    """Healthy rows and faults of the whole file, pump or weather exempt no inlet; a fault on
    the victim exempts it, ``two`` the second inlet too, silent meters their inlets."""
    net = br.all_open(next(n for n in br.networks(True) if n.name == "estate12"))
    victim, second = br.victim_of(net), br.second_of(net)
    for scn in br.SCENARIOS:
        unread = br.unread_of(net, scn, 0)
        ids = br.faulty_ids_of(scn, victim, second if scn.fault == "two" else None, unread)
        if scn.fault in HEALTHY_FOR_EVERY_INLET:
            assert ids == frozenset(), scn.name
        elif scn.fault == "unread":
            assert unread, scn.name
            assert ids == unread, scn.name
        elif scn.fault == "two":
            assert ids == {victim, second}, scn.name
        else:
            assert ids == {victim}, scn.name
