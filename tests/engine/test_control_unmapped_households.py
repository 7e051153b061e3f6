"""Model-based control of a real plant whose household valves nobody maps (issue 10 item 3).

On an operator's plant only the building inlets are wired to Home Assistant; the households'
valves have no sensor and receive no command, so the controller holds them at their assumed
position (``manual_inlets``) and cannot move the pump. The plan must still size the building
valves: before the fix the planner's second, refining solve (fixed households at the new pump
speed) did not converge on such networks, the whole plan was dropped ("model not solvable")
and nothing ever moved — households1200 with HA entities stayed at 25 % in band, the CLI
(every valve moved) needed one step.
"""

from __future__ import annotations

from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator

STEP_S = 1800.0


def test_buildings_reach_the_band_with_household_valves_held() -> None:
    """12 buildings × 6 households: in band after one step, moving building valves only."""
    network = generate_network(12, 6, 1)
    plant = Simulator(network, outdoor_c=network.design.outdoor_c)
    buildings = [i for i, x in network.inlets.items() if x.parent is None]
    households = [i for i, x in network.inlets.items() if x.parent is not None]
    config = ControllerConfig(
        algorithm="model",
        target="flow",
        level="intermediate",
        limits=SafetyLimits(),
        manual_inlets=households,
        pump_control=False,
    )
    setpoints = {b: network.inlets[b].design_flow_m3h for b in buildings}
    loop = ControlLoop(
        network, LoopConfig(config, judged=buildings, setpoints=setpoints), cycle_s=STEP_S
    )
    shares = []
    for _ in range(3):
        state = plant.state()
        measured = Measurements.from_plant(state)
        for hid in households:  # no instrument: only the assumed position is known
            measured.inlets[hid] = InletReading(opening=state.inlets[hid].opening)
        out = loop.step(measured)
        assert out.evaluation is not None
        shares.append(out.evaluation.share_in_band)
        assert not set(out.commands.openings) & set(households)
        assert "hydraulic model could not be solved" not in " ".join(out.commands.notes)
        for iid, opening in out.commands.openings.items():
            plant.set_opening(iid, opening)
        plant.advance(STEP_S)
    assert shares[0] < 0.5
    assert shares[1:] == [1.0, 1.0]
