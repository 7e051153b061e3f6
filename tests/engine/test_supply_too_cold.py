"""A supply too cold for the load is named, not left as a band that is never held (§4.1.1,
§8.2.3, §8.2.4-2, §8.2.4-4, §5.3.8-3).

bench_robust's row "outdoor -10K, fixed supply": the supply stays at its design 60 °C while
the outdoor temperature falls 10 K below design (−19 °C on estate12). The rooms then need
1.37× the design heat, an emitter mean excess of 43.3 K, but the supply stands only 42 K above
the room: no flow, however large, heats them. The room and return bands are out of reach of
every valve and the pump (the plant with every valve open and the pump at full speed ends
rooms ≈5 K cold); the loop must say why with one network alarm, ``supply_too_cold``, and
must not raise it where the fixed supply can carry the load (the design day).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from custom_components.heatbalance.engine.alarms import NETWORK
from custom_components.heatbalance.engine.control.base import Measurements
from custom_components.heatbalance.engine.control.setpoints import (
    MAX_LMTD_SHARE,
    emitter_return,
    lmtd_needed,
    load_fraction,
    supply_needed,
    supply_too_cold,
)
from custom_components.heatbalance.engine.evaluation import evaluate
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import STEP_S, all_open
from .test_pump_capacity import network_reasons

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / "heatbalance" / "translations"
SUPPLY_C = 60.0  # estate12's design supply, held fixed (no heating curve)


def _rooms_all_open(net: Network, outdoor_c: float) -> float:
    """Mean room deviation (K, §8.2.4-4) of the settled plant with every valve open and the
    pump at full speed: the most heat any setting of valves and pump can give."""
    plant = all_open(copy.deepcopy(net))
    plant.substation.pump.speed = plant.substation.pump.max_speed
    state = Simulator(plant, outdoor_c=outdoor_c, supply_c=SUPPLY_C).state()
    ev = evaluate(plant, state, level="advanced", target="room")
    assert ev.mean_room_deviation_k is not None
    return ev.mean_room_deviation_k


def test_the_supply_a_room_needs_is_where_no_flow_can_heat_it(builtin) -> None:
    """At −19 °C estate12's rooms need a supply of ≈62 °C (room + 43.3 K / 0.98): every
    heated inlet is named at 60 °C, none on the design day; the threshold is exactly where
    the return setpoint stops being a return some flow gives (``emitter_return``'s cap); and
    the plant agrees — every valve open, the pump at full speed, rooms stay > 1 K cold at
    −19 °C but not on the design day."""
    net = builtin("estate12")
    cold = net.design.outdoor_c - 10.0
    short = supply_too_cold(net, cold, SUPPLY_C)
    assert short is not None
    assert set(short.inlets) == {i.id for i in net.terminal_inlets()}
    assert 61.0 < short.needed_c < 64.0
    assert supply_too_cold(net, net.design.outdoor_c, SUPPLY_C) is None
    assert supply_too_cold(net, cold, short.needed_c + 0.01) is None
    inlet = net.inlets["B001"]
    need = supply_needed(net, inlet, cold)
    assert need is not None
    phi = load_fraction(net, cold, inlet.room_setpoint_c)
    room = inlet.room_setpoint_c
    # just above the needed supply the return setpoint gives the load (not capped) …
    above = need + 0.05
    r = emitter_return(inlet, above, phi)
    assert _lmtd(above - room, r - room) == pytest.approx(lmtd_needed(inlet, phi), rel=1e-6)
    # … just below it is the capped return of a very big flow, which falls short
    below = need - 0.05
    r = emitter_return(inlet, below, phi)
    assert _lmtd(below - room, r - room) == pytest.approx(MAX_LMTD_SHARE * (below - room))
    assert _lmtd(below - room, r - room) < lmtd_needed(inlet, phi)
    assert _rooms_all_open(net, cold) < -1.0
    assert _rooms_all_open(net, net.design.outdoor_c) > -1.0


def _network_reasons(net: Network, start_c: float, step_at: int, cycles: int) -> list[set[str]]:
    """Each cycle's network-level alarm reasons: the engine's loop closed on the plant with
    the supply fixed at 60 °C, the outdoor temperature −10 K from ``start_c`` at ``step_at``."""
    sim = Simulator(net, outdoor_c=start_c, supply_c=SUPPLY_C)

    def step_down(k: int) -> None:
        if k == step_at:
            sim.set_outdoor(start_c - 10.0)

    return network_reasons(ControlLoop(net, LoopConfig(), cycle_s=STEP_S), sim, cycles, step_down)


def test_the_loop_names_a_supply_too_cold_for_the_load(builtin) -> None:
    """−10 K below design at a fixed design supply: ``supply_too_cold`` from the step on,
    every cycle, with the supply read and the supply needed; before the step none. The same
    step onto the design day (from +10 K) raises none: there the bands are reachable."""
    net = all_open(builtin("estate12"))
    design = net.design.outdoor_c
    reasons = _network_reasons(net, design, 2, 6)
    assert not any("supply_too_cold" in r for r in reasons[:2])
    assert all("supply_too_cold" in r for r in reasons[2:])
    onto_design = _network_reasons(net, design + 10.0, 2, 6)
    assert not any("supply_too_cold" in r for r in onto_design)


def test_the_alarm_says_what_supply_would_do(builtin) -> None:
    """The condition carries the supply read, the supply needed, the outdoor temperature
    and how many inlets no flow can heat: what the operator's message shows."""
    net = all_open(builtin("estate12"))
    sim = Simulator(net, outdoor_c=net.design.outdoor_c - 10.0, supply_c=SUPPLY_C)
    loop = ControlLoop(net, LoopConfig(), cycle_s=STEP_S)
    result = loop.step(Measurements.from_plant(sim.step(STEP_S)))
    (cold,) = [c for c in result.conditions if c.reason == "supply_too_cold"]
    assert cold.location == NETWORK
    assert float(cold.values["value"]) == pytest.approx(SUPPLY_C, abs=0.1)
    assert 61.0 < float(cold.values["needed"]) < 64.0
    assert float(cold.values["outdoor"]) == pytest.approx(net.design.outdoor_c - 10.0, abs=0.1)
    assert cold.values["count"] == str(len(net.terminal_inlets()))
    # HA's alarm text (alarm_events.describe formats it so; a missing key shows the bare reason)
    for lang in ("en", "zh-Hans"):
        texts = json.loads((TRANSLATIONS / f"{lang}.json").read_text(encoding="utf-8"))
        template = texts["exceptions"]["supply_too_cold"]["message"]
        text = template.format(**cold.values, location=net.name)
        assert cold.values["needed"] in text
        assert cold.values["value"] in text


def _lmtd(hot: float, cold: float) -> float:
    """The emitter's log-mean excess (K) of supply and return excesses ``hot``, ``cold``."""
    return (hot - cold) / math.log(hot / cold)
