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

A sensor with a ``state_class`` only ever *states* a measurement the engine trusts: Home
Assistant compiles every numeric state of such a sensor into its long-term statistics (the
recorder cannot leave single states out, and a ``state_class`` that comes and goes raises
its "state class removed" repair and still mixes the states of the 5-minute period). So
where the value is the engine's, the state is unknown and the value stands in the
``estimate`` attribute (``estimated: true``); a reading the engine rejected (cleaning, a
frozen or dead meter, a swapped pair) is unknown too, kept in ``rejected`` with its
``rejected_reason``. The panel, diagnostics, export and archive show the same values
with the same flags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .reading import Reading

ATTR_ESTIMATED = "estimated"
ATTR_ESTIMATE = "estimate"
ATTR_REJECTED = "rejected"
ATTR_REJECTED_REASON = "rejected_reason"
ATTR_LEFT_OUT = "inlets_left_out"  # a sum's inlets with neither a reading nor an estimate


def is_estimated(name: str, reading: Reading, filled: Mapping[str, float]) -> bool:
    """Whether the value shown for ``name`` is the engine's, not an instrument's."""
    return name in filled or name in reading.estimated


def rejected(
    name: str, reading: Reading, flagged: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...] | None:
    """Why the engine did not trust the value read for ``name``; None when it trusts it or
    nothing was read (a lost reading's verdict, e.g. ``gap_too_long``, rejects no value)."""
    why = flagged.get(name)
    return None if why is None or getattr(reading, name, None) is None else why


def stated(
    value: float | None,
    estimated: bool,
    rejected: tuple[str, ...] | None = None,
    estimate: float | None = None,
) -> tuple[float | None, dict[str, Any]]:
    """A sensor's state and attributes for ``value``: the value itself only when it is a
    trusted measurement, else unknown with the value in ``estimate`` (the engine's) or in
    ``rejected`` (a reading the engine did not trust, with why; the engine's ``estimate``
    of it beside, where its filter has one)."""
    if rejected:
        attrs: dict[str, Any] = {
            ATTR_ESTIMATED: estimate is not None,
            ATTR_REJECTED: _rounded(value),
            ATTR_REJECTED_REASON: list(rejected),
        }
        if estimate is not None:
            attrs[ATTR_ESTIMATE] = _rounded(estimate)
        return None, attrs
    if estimated and value is not None:
        return None, {ATTR_ESTIMATED: True, ATTR_ESTIMATE: _rounded(value)}
    return value, {ATTR_ESTIMATED: estimated}  # flagged without a value: unknown, flagged


def _rounded(value: float | None) -> float | None:
    """An attribute's number to 3 decimals (a state's precision is the entity's display
    precision; an attribute is shown as stored: 1.4999999999999 reads badly); a rejected
    NaN or infinity is no number to show (JSON has neither): None, its reason beside it."""
    return None if value is None or not math.isfinite(value) else round(value, 3)
