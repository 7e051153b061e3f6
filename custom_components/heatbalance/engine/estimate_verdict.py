"""The band verdict on the estimates, shown beside the verdict on the readings (issue 9 item 1).

§8.2.2–§8.2.4 judge an inlet's *actual* flow or temperature. A reading is the actual value
plus its instrument's noise: at 2 % meter noise against the advanced band's 5 % width a
balanced inlet reads outside the band in many cycles, so a verdict on raw readings
flickers — through Home Assistant the network first showed every inlet in band after 5–16
cycles, or never in 16 (households1200), while the plant held from step 1–6 (sixteenth
session, bench_product --noise 2). The controller's filters (``control/estimator_bank.py``)
estimate every signal with its standard error; the verdict here judges those estimates,
with each value's ±2 σ (``SIGNIFICANCE_Z``) beside its deviation. A signal whose estimate
no longer stands in for its readings (none yet, or lost longer than ``MAX_ESTIMATE_AGE``)
is missing here: its inlet has no verdict on estimates, never the reading's in its place.
"""

from __future__ import annotations

import math
from dataclasses import replace

from .control.base import InletReading, Measurements
from .control.controller import MAX_ESTIMATE_AGE, SIGNIFICANCE_Z
from .control.estimation import SIGNALS, reading_of
from .control.estimator_bank import EstimatorBank

_COLUMN = {name: SIGNALS.index(name) for name in ("flow_m3h", "supply_c", "return_c", "room_c")}
_TARGET_SIGNAL = {"flow": "flow_m3h", "return": "return_c", "room": "room_c"}


def estimated_readings(
    bank: EstimatorBank, meas: Measurements, ids: list[str], target: str
) -> tuple[Measurements, dict[str, float]]:
    """This cycle's estimates as readings of ``ids`` (network figures as ``meas`` has them),
    and per inlet the ±2 σ of the ``target``'s value where it has an estimate (m³/h or K:
    :func:`~.evaluation.evaluate`'s ``uncertainty``). Call it after the controller's step
    (its filters have then taken this cycle's readings)."""
    values, stds = bank.standing(bank.rows(ids), MAX_ESTIMATE_AGE)
    inlets: dict[str, InletReading] = {}
    spreads: dict[str, float] = {}
    for k, iid in enumerate(ids):
        inlets[iid] = reading_of(values[k], None, ())
        sigma = _target_sigma(stds[k], target)
        if sigma is not None:
            spreads[iid] = SIGNIFICANCE_Z * sigma
    return replace(meas, inlets=inlets), spreads


def _target_sigma(stds: list[float | None], target: str) -> float | None:
    """σ of the target's value from its signals' standard errors (the mean temperature is
    (supply + return)/2, §4.1.1; their errors taken as independent)."""
    if target == "mean":
        supply, ret = stds[_COLUMN["supply_c"]], stds[_COLUMN["return_c"]]
        return None if supply is None or ret is None else math.hypot(supply, ret) / 2.0
    return stds[_COLUMN[_TARGET_SIGNAL[target]]]
