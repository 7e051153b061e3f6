"""Values the entities show where nothing was measured — always flagged as estimated.

Issue 10 item 3: an operator must see which figures are a measurement and which the engine
filled in. Three kinds exist:

* a lost reading the engine's Kalman filter predicts (``estimation.py``; it stands in for
  ``MAX_ESTIMATE_AGE`` cycles, then the value is unknown again);
* the assumed position of a valve without feedback (the last command it took, else the
  opening the network file states; ``Commands.assumed``);
* the available ΔP of a real inlet without pressure transmitters — the network model's
  (``Reading.estimated``, set by the plant).

Pure Python (no Home Assistant): the engine's loop says what it filled in
(``ControlLoop.filled_in``), the cycle collects it, the entities flag it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .reading import Reading

ATTR_ESTIMATED = "estimated"


def is_estimated(name: str, reading: Reading, filled: Mapping[str, float]) -> bool:
    """Whether the value shown for ``name`` is the engine's, not an instrument's."""
    return name in filled or name in reading.estimated
