"""Values the entities show where nothing was measured — always flagged as estimated.

Issue 10 item 3: an operator must see which figures are a measurement and which the engine
filled in. Three kinds exist:

* a lost reading the engine's Kalman filter predicts (``estimation.py``; it stands in for
  ``MAX_ESTIMATE_AGE`` cycles, then the value is unknown again);
* the assumed position of a valve without feedback (the last command it took, else the
  opening the network file states; ``Commands.assumed``);
* the available ΔP of a real inlet without pressure transmitters — the network model's
  (``Reading.estimated``, set by the plant).

Pure Python (no Home Assistant): the cycle collects them, the entities flag them.
"""

from __future__ import annotations

from collections.abc import Mapping

from .engine.control.controller import MAX_ESTIMATE_AGE, Controller
from .reading import Reading

PREDICTED = ("flow_m3h", "supply_c", "return_c", "room_c", "dp_available_kpa")
ATTR_ESTIMATED = "estimated"


def filled_in(
    controller: Controller, inlet_id: str, reading: Reading, assumed: Mapping[str, str]
) -> dict[str, float]:
    """Per reading field, the engine's value where the reading has none this cycle."""
    out: dict[str, float] = {}
    est = controller.estimators.get(inlet_id)
    if est is not None:
        for name in PREDICTED:
            value = est.value(name)
            age = est.age(name)
            if getattr(reading, name) is None and value is not None and 0 < age <= MAX_ESTIMATE_AGE:
                out[name] = value
    if reading.opening is None and inlet_id in assumed:
        position = controller.known_position(inlet_id)  # what the step limit starts from
        if position is not None:
            out["opening"] = position
    return out


def is_estimated(name: str, reading: Reading, filled: Mapping[str, float]) -> bool:
    """Whether the value shown for ``name`` is the engine's, not an instrument's."""
    return name in filled or name in reading.estimated
