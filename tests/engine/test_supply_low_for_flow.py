"""A supply that heats the rooms only with more water than the flow band allows is named
(§4.1.1, §8.2.3, §8.2.4-1/-2, §5.3.8-3; issue 9 item 6, 22g).

A fixed 60 °C supply on a day 3 K colder than design (−12 °C on estate12) can still heat the
rooms, but only with ≈1.7× the set flow: the flow band (design flow) and the return band
(the emitter's return at that supply) contradict, and no valve or pump mends that (16l
measured returns 5.5–7.7 K below their setpoints at design flow there). The loop says so
with one network alarm, ``supply_low_for_flow``, judged over :data:`supply_low.WINDOW`
cycles; never on the design day, where the design flow at the design supply carries the load,
and not where the supply is too cold for any flow (``supply_too_cold`` names that).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.heatbalance.engine.alarms import NETWORK
from custom_components.heatbalance.engine.control.base import Measurements
from custom_components.heatbalance.engine.control.setpoints import (
    SupplyCheck,
    SupplyLow,
    flow_share_needed,
    load_fraction,
)
from custom_components.heatbalance.engine.evaluation import band
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator
from custom_components.heatbalance.engine.supply_low import WINDOW, SupplyLowWatch

from .test_control_closed_loop import STEP_S, all_open
from .test_pump_capacity import network_reasons

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / "heatbalance" / "translations"
SUPPLY_C = 60.0  # estate12's design supply, held fixed (no heating curve)
LOW = "supply_low_for_flow"


def _margin(net: Network, outdoor_c: float, supply_c: float = SUPPLY_C):  # type: ignore[no-untyped-def]
    flow, ret = band("advanced", "flow"), band("advanced", "return")
    return SupplyCheck(net).flow_margin(outdoor_c, supply_c, flow.upper / 100.0, -ret.lower)


def test_the_bands_agree_on_the_design_day_and_contradict_3_k_colder(builtin) -> None:
    """The design supply at the design flow gives the design load (the emitter law agrees
    with the file's design point: 60 °C needed, 100 % of the set flow); 3 K colder the
    return setpoint needs ≈1.7× the set flow and the set flow ≈64 °C — beyond the flow
    band's +5 % even with the return 1.5 K under its setpoint. 10 K colder no flow heats
    the rooms (the other alarm's case); on a heating curve the bands agree by construction."""
    net = builtin("estate12")
    design = net.design.outdoor_c
    day = _margin(net, design)
    assert day is not None
    assert day.needed_c == pytest.approx(SUPPLY_C, abs=0.05)
    assert day.flow_share == pytest.approx(1.0, abs=0.005)
    assert 0.5 < day.margin_k < 2.0  # the noise margin is small: hence the window
    cold = _margin(net, design - 3.0)
    assert cold is not None
    assert cold.margin_k < -1.5
    assert 1.5 < cold.flow_share < 1.9
    assert 63.0 < cold.needed_c < 65.0
    assert set(cold.inlets) == {i.id for i in net.terminal_inlets()}
    inlet = net.inlets["B001"]
    phi = load_fraction(net, design - 3.0, inlet.room_setpoint_c)
    assert flow_share_needed(inlet, phi, cold.needed_c) == pytest.approx(1.0, rel=1e-4)
    assert _margin(net, design - 10.0) is None  # too cold for any flow
    loop8 = builtin("loop8")
    curve = loop8.substation.heating_curve
    assert curve is not None
    assert _margin(loop8, -5.0, curve.supply_c(-5.0)) is None


def _reasons(net: Network, start_c: float, step_k: float, cycles: int) -> list[set[str]]:
    """Each cycle's network alarm reasons, the loop closed on the plant at a fixed 60 °C
    supply, the outdoor temperature ``step_k`` from ``start_c`` before cycle 2."""
    sim = Simulator(net, outdoor_c=start_c, supply_c=SUPPLY_C)

    def step(k: int) -> None:
        if k == 2:
            sim.set_outdoor(start_c + step_k)

    return network_reasons(ControlLoop(net, LoopConfig(), cycle_s=STEP_S), sim, cycles, step)


def test_the_loop_names_bands_that_contradict_after_its_window(builtin) -> None:
    """−3 K from the design day: raised once the window holds enough cycles after the step
    (from the 6th, noise-free), then every cycle; never ``supply_too_cold``. The same step
    that lands on the design day, and −10 K (no flow heats the rooms), raise none."""
    net = all_open(builtin("estate12"))
    design = net.design.outdoor_c
    reasons = _reasons(net, design, -3.0, 2 + WINDOW + 2)
    assert not any(LOW in r for r in reasons[: 2 + 5])
    assert all(LOW in r for r in reasons[2 + 5 :])
    assert not any("supply_too_cold" in r for r in reasons)
    onto_design = _reasons(net, design + 3.0, -3.0, 2 + WINDOW + 2)
    assert not any(LOW in r for r in onto_design)
    too_cold = _reasons(net, design, -10.0, 2 + WINDOW + 2)
    assert all("supply_too_cold" in r for r in too_cold[2:])
    assert not any(LOW in r for r in too_cold)


def test_the_window_survives_a_restart_and_the_alarm_says_what_would_do(builtin) -> None:
    """A loop restored from its stored state after the step raises on the same cycle as
    the one that ran on (a restart of Home Assistant does not put it off by a window); the
    condition carries the supply read, the supply the set flow needs, the flow the return
    setpoint needs, the outdoor temperature and the inlets — formatted in both languages."""
    net = all_open(builtin("estate12"))
    cold = net.design.outdoor_c - 3.0
    sim = Simulator(net, outdoor_c=cold, supply_c=SUPPLY_C)
    loop = ControlLoop(net, LoopConfig(), cycle_s=STEP_S)
    for _ in range(WINDOW - 1):
        assert not [
            c
            for c in loop.step(Measurements.from_plant(sim.step(STEP_S))).conditions
            if c.reason == LOW
        ]
    stored = json.loads(json.dumps(loop.as_dict()))
    restored = ControlLoop(net, LoopConfig(), cycle_s=STEP_S, state=stored)
    result = restored.step(Measurements.from_plant(sim.step(STEP_S)))
    (low,) = [c for c in result.conditions if c.reason == LOW]
    assert low.location == NETWORK
    assert float(low.values["value"]) == pytest.approx(SUPPLY_C, abs=0.1)
    assert 63.0 < float(low.values["needed"]) < 65.0
    assert 150 <= int(low.values["flow"]) <= 190
    assert float(low.values["outdoor"]) == pytest.approx(cold, abs=0.1)
    assert low.values["count"] == str(len(net.terminal_inlets()))
    fresh = ControlLoop(net, LoopConfig(), cycle_s=STEP_S)
    assert not [
        c
        for c in fresh.step(Measurements.from_plant(sim.step(STEP_S))).conditions
        if c.reason == LOW
    ]
    for lang in ("en", "zh-Hans"):
        texts = json.loads((TRANSLATIONS / f"{lang}.json").read_text(encoding="utf-8"))
        text = texts["exceptions"][LOW]["message"].format(**low.values, location=net.name)
        for key in ("value", "needed", "flow", "outdoor", "count"):
            assert low.values[key] in text


@pytest.mark.parametrize("damaged", [1e200, -1e200, float("nan"), float("inf"), True, "x", None])
def test_a_damaged_stored_window_is_dropped_not_raised(damaged: object) -> None:
    """A stored margin no plant has (a damaged Store) is dropped when the window is read:
    with 1e200 kept, the window's spread squared raised OverflowError in the cycle."""
    watch = SupplyLowWatch({"margins": [damaged, *[-1.0] * (WINDOW - 1)]})
    assert watch.as_dict() == {"margins": [-1.0] * (WINDOW - 1)}
    low = SupplyLow(60.0, 63.0, 1.7, -12.0, -1.0, ("B001",))
    assert watch.update(low, read=True) is low  # the window full again: a steady −1 K stands
