"""Design loads in the network file checked against the metered heat (§3.0.7, §8.2.4).

Flow targets follow the file's design loads, so a wrong load is balanced to: the flow band
holds and nothing told the operator (hidden shape ``gen20-design±30%``: return temperatures
±1.9 K off, the advanced band never held, no finding). The loop now compares each inlet's
metered heat (Q = ṁ·c_p·ΔT) over two days with what its design load predicts at the
indoor–outdoor difference, and names the inlets off by more than 20 % in a warning.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.design_loads import (
    KIND,
    LOAD_TOLERANCE,
    MIN_HOURS,
    DesignLoadCheck,
)
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator
from devtools.network_shapes import design_off

from .test_control_closed_loop import STEP_S, all_open, apply

CYCLES = int(MIN_HOURS * 3600 / STEP_S) + 4  # two days and two hours of 30-minute cycles


def _run(network: Network, cycles: int = CYCLES, seed: int = 3) -> ControlLoop:
    """The engine's loop on ``network`` (its plant as sized for the envelopes), 1 % noise on
    flows and temperatures."""
    network = all_open(network)
    sim = Simulator(network, outdoor_c=network.design.outdoor_c)
    loop = ControlLoop(network, LoopConfig(ControllerConfig()), cycle_s=STEP_S)
    rng = np.random.default_rng(seed)
    state = sim.state()
    for _ in range(cycles):
        meas = Measurements.from_plant(state)
        for r in meas.inlets.values():
            for name in ("flow_m3h", "supply_c", "return_c", "room_c"):
                value = getattr(r, name)
                if value is not None:
                    setattr(r, name, value * (1.0 + 0.01 * rng.standard_normal()))
        out = loop.step(meas)
        loop.commanded(dict(out.dispatch.openings))
        apply(sim, out.commands)
        state = sim.step(STEP_S)
    return loop


def test_loads_thirty_percent_off_are_named_after_two_days() -> None:
    """Every other building's load ×1.3, the rest ×0.7 in the file: each named, with its
    measured ÷ design heat near 1/1.3 or 1/0.7; before this check nothing was named."""
    network = design_off(buildings=6, seed=55, alternate=True)
    loop = _run(network)
    flagged = loop.design_loads.flagged
    assert set(flagged) == {i for i, x in network.inlets.items() if x.parent is None}
    for iid, ratio in flagged.items():
        k = sorted(flagged).index(iid)
        assert ratio == pytest.approx(1.0 / (0.7 if k % 2 else 1.3), rel=0.05)
    findings = [f for f in loop.design_loads.findings() if f.kind == KIND]
    assert all(f.severity == "warning" for f in findings)
    assert len(findings) == len(flagged)
    assert "network file" in findings[0].message


def test_a_sound_file_gives_no_warning() -> None:
    """The same shape with its loads as built: no design-load finding in two days."""
    loop = _run(design_off(buildings=6, seed=55, factor=1.0))
    assert loop.design_loads.flagged == {}
    ratios = [loop.design_loads.ratio(i) for i in loop.network.inlets]
    assert all(r is not None and abs(r - 1.0) < 0.5 * LOAD_TOLERANCE for r in ratios)


def test_no_verdict_before_two_days_and_the_state_survives_a_restart() -> None:
    """Not judged on less than two days; the sums and the finding are kept over a restart
    (plain JSON), damaged entries dropped."""
    network = design_off(buildings=4, seed=55, factor=1.3)
    check = DesignLoadCheck(network)
    meas = Measurements.from_plant(Simulator(network, outdoor_c=-9.0).state())
    half = 0.5 * 0.5 * MIN_HOURS  # hours per call: four calls make two days

    def heat(_: object) -> float:
        return 50.0

    for _ in range(3):
        assert check.update(meas, heat, half) == []
    assert check.update(meas, heat, half)  # 2 days: 50 kW against loads of 60–260 kW
    state = json.loads(json.dumps(check.as_dict()))
    state["load_sums"]["B999"] = [1.0, 1.0, 1.0]  # an inlet the network no longer has
    state["load_sums"][next(iter(network.inlets))] = ["x", 1.0, 1.0]
    again = DesignLoadCheck(network, state)
    assert again.flagged == check.flagged
    assert "B999" not in again.sums
    assert len(again.sums) == len(check.sums) - 1


def test_a_corrected_file_is_judged_by_its_own_loads_at_once() -> None:
    """The sums are kept per kW of design load: state from the wrong file read with the
    corrected one (the operator's upload, same inlets) clears the finding on the next
    cycle, not after a week of forgetting (before: kWh the old loads predicted were kept)."""
    network = design_off(buildings=4, seed=55, factor=1.3)
    check = DesignLoadCheck(network)
    meas = Measurements.from_plant(Simulator(network, outdoor_c=-9.0).state())

    def heat(_: object) -> float:
        return 50.0

    for _ in range(4):
        check.update(meas, heat, 0.25 * MIN_HOURS)
    assert check.flagged
    corrected = copy.deepcopy(network)
    for iid, ratio in check.flagged.items():
        corrected.inlets[iid].design_load_kw *= ratio  # what the meters said
    again = DesignLoadCheck(corrected, json.loads(json.dumps(check.as_dict())))
    assert again.update(meas, heat, 0.5) == []
    assert again.flagged == {}
