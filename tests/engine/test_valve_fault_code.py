"""The valve's own fault code (§4.3.8 fault record) in diagnosis and control (issue 10).

An IoT valve reports a fault word; a non-zero code is the valve saying it is faulty. Diagnosis
names it (``valve_fault``) instead of blaming the pipes (blockage) or guessing from feedback;
the controller isolates the valve as a stuck one (§5.3.7): not commanded, planned where it
stands, named in ``Commands.faults``; both clear when the code returns to 0.
"""

from __future__ import annotations

import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import VALVE_FAULT, make_controller
from custom_components.heatbalance.engine.diagnosis import Diagnoser, InletObservation
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.networks import builtin_path
from custom_components.heatbalance.engine.simulator import Simulator


def test_diagnosis_names_the_valve_fault_and_isolates_it() -> None:
    """A fault code replaces the mismatch the feedback alone would give; 0 clears it."""
    diag = Diagnoser(settle_s=0.0)

    def cycle(t: float, code: float | None, feedback: float) -> set[str]:
        signals = {} if code is None else {"fault_code": code}
        obs = InletObservation(command=0.8, feedback=feedback, flow_m3h=5.0, signals=signals)
        return {f.kind for f in diag.update(t, {"B001": obs})}

    assert cycle(0.0, 0, 0.8) == set()
    kinds = cycle(1800.0, 17, 0.2)  # feedback far from the command, and the valve says why
    assert kinds == {"valve_fault"}
    assert cycle(3600.0, 17, 0.2) == {"valve_fault"}
    finding = diag.findings()[0]
    assert finding.severity == "emergency"
    assert "fault code" in finding.message
    assert "valve_fault" not in cycle(5400.0, 0, 0.8)
    # without a code the same disagreement is judged from the feedback, as before
    assert cycle(7200.0, None, 0.2) == {"mismatch"}


@pytest.mark.parametrize("algorithm", ["model", "traditional"])
def test_controller_holds_a_valve_that_reports_a_fault(algorithm: str) -> None:
    network = load_network(builtin_path("estate12"))  # type: ignore[arg-type]
    plant = Simulator(network, outdoor_c=network.design.outdoor_c)
    controller = make_controller(network, ControllerConfig(algorithm=algorithm, target="flow"))
    meas = Measurements.from_plant(plant.state())
    meas.inlets["B001"].fault_code = 4.0
    cmds = controller.step(meas)
    assert "B001" not in cmds.openings
    assert VALVE_FAULT in cmds.faults["B001"]
    assert len(cmds.openings) > 3  # the others are regulated
    meas = Measurements.from_plant(plant.state())
    meas.inlets["B001"].fault_code = 0.0
    cmds = controller.step(meas)
    assert "B001" not in cmds.faults
