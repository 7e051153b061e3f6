"""The heat energy counters live in the engine loop (one rule for HA, CLI and benchmarks)."""

from __future__ import annotations

import math

import pytest

from custom_components.heatbalance.engine.cleaning import heat_flow_kw
from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.energy import EnergyCounters, NetworkEnergy
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.simulator import Simulator

CYCLE_S = 1800.0


def test_loop_counts_each_inlets_heat_over_the_cycles_and_keeps_it() -> None:
    """Two cycles of estate12: each inlet's counter is ρ·c·Q·ΔT × the cycle, summed; the
    counters survive the loop's stored state (a restart) and count on from there."""
    net = load_network("estate12")
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    config = LoopConfig(ControllerConfig(algorithm="model", level="intermediate"))
    loop = ControlLoop(net, config, cycle_s=CYCLE_S)
    expected: dict[str, float] = {}
    for dt_s in (CYCLE_S, 600.0):  # the second cycle shorter: counted over what it lasted
        state = sim.state()
        out = loop.step(Measurements.from_plant(state), dt_s=dt_s)
        for iid, s in state.inlets.items():
            heat = heat_flow_kw(s.flow_m3h, s.supply_c, s.return_c)
            expected[iid] = expected.get(iid, 0.0) + heat * dt_s / 3600.0
        sim.advance(CYCLE_S)
    assert out.energy_kwh.keys() == expected.keys()
    for iid, kwh in expected.items():
        assert kwh > 0
        assert out.energy_kwh[iid] == pytest.approx(kwh, rel=1e-9)
    again = ControlLoop(net, config, cycle_s=CYCLE_S, state=loop.as_dict())
    assert again.energy.kwh == loop.energy.kwh
    more = again.step(Measurements.from_plant(sim.state()))
    assert all(more.energy_kwh[i] > expected[i] for i in expected)


def test_counter_never_runs_backwards_and_skips_lost_readings() -> None:
    """A negative heat flow (return sensor warmer than supply) and a lost reading add
    nothing: HA reads a falling total_increasing sensor as a meter reset."""
    counters = EnergyCounters({"A": 10.0, "B": "damaged", "C": -3.0})
    assert counters.kwh == {"A": 10.0}
    after = counters.add({"A": -50.0, "B": None, "C": 36.0}, 3600.0, ["A", "B", "C"])
    assert after == {"A": 10.0, "B": 0.0, "C": 36.0}
    assert counters.add({"A": 2.0}, 1800.0, ["A"]) == {"A": 11.0}


def test_network_energy_counts_estimated_cycles_apart_and_never_runs_backwards() -> None:
    """The network heat energy (issue 10 item 3): a cycle whose figure was the engine's
    estimate counts into the total and into its estimated part; a negative, missing or
    non-finite figure adds nothing; a damaged store starts that part at zero."""
    energy = NetworkEnergy()
    energy.add(360.0, False, 600.0)  # 60 kWh measured
    energy.add(180.0, True, 600.0)  # 30 kWh estimated
    for bad in (-50.0, None, math.nan, math.inf):
        energy.add(bad, False, 600.0)
    assert (energy.total_kwh, energy.estimated_kwh, energy.estimated_cycles) == (90.0, 30.0, 1)
    again = NetworkEnergy(energy.as_dict())
    assert again.as_dict() == energy.as_dict()
    damaged = NetworkEnergy({"total_kwh": "x", "estimated_kwh": 5.0, "estimated_cycles": -2})
    assert damaged.as_dict() == {"total_kwh": 0.0, "estimated_kwh": 0.0, "estimated_cycles": 0}


def test_stored_counters_are_read_by_the_loops_one_rule() -> None:
    """A stored counter is a JSON number within the stored bound (``diagnosis.stored_number``,
    issue 10: bad stored data): ``float`` took text, True (1 kWh) and 1e308 kWh, which HA's
    energy dashboard then showed as delivered; a count of 2.5 became 2."""
    counters = EnergyCounters({"A": 10.0, "D": True, "E": "12.5", "F": 1e308})
    assert counters.kwh == {"A": 10.0}
    damaged = NetworkEnergy({"total_kwh": 1e308, "estimated_kwh": True, "estimated_cycles": 2.5})
    assert damaged.as_dict() == {"total_kwh": 0.0, "estimated_kwh": 0.0, "estimated_cycles": 0}
    text = NetworkEnergy({"total_kwh": "90", "estimated_kwh": 0.0, "estimated_cycles": 0})
    assert text.total_kwh == 0.0
