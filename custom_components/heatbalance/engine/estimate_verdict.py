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
is missing here: its inlet has no verdict on estimates, never the reading's in its place —
except an inlet the controller plans without a flow reading (``Commands.open_loop``), whose
flow the plan it was sent stands in for, as uncertain as that plan proved on the inlets that
were read (:func:`plan_stand_in`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from .control.base import InletReading, Measurements
from .control.controller import MAX_ESTIMATE_AGE, SIGNIFICANCE_Z
from .control.estimation import PREDICTION_FLOOR, SIGNALS, reading_of
from .control.estimator_bank import EstimatorBank

_COLUMN = {name: SIGNALS.index(name) for name in ("flow_m3h", "supply_c", "return_c", "room_c")}
_TARGET_SIGNAL = {"flow": "flow_m3h", "return": "return_c", "room": "room_c"}
# a plan stands in for unread inlets once it was checked on this many inlets that were read
MIN_PLAN_CHECKS = 3
# … on inlets it gave at least this flow (m³/h): a relative miss of a plan that shuts an inlet
# tells nothing (and a read 1.0 over a planned 6e-296 overflowed ``** 2``: the loop's
# safety property test, hypothesis)
CHECKABLE_FLOW = 1e-6


@dataclass(frozen=True)
class PlanStandIn:
    """The flows (m³/h) a sent plan predicted for inlets planned without a flow reading,
    and their relative σ (:func:`plan_stand_in`)."""

    flows: Mapping[str, float]
    sigma: float


def plan_stand_in(
    predicted: Mapping[str, float], read: Mapping[str, float], unread: Collection[str]
) -> PlanStandIn | None:
    """The sent plan's ``predicted`` flows as the estimates of the ``unread`` inlets (the
    controller's ``open_loop``: planned without a flow reading), σ the plan's relative
    root-mean-square miss on the inlets ``read`` this cycle, at least ``PREDICTION_FLOOR``
    (what the filters take a plan's prediction as); None below ``MIN_PLAN_CHECKS`` checks.

    Why (issue 10, §8.2.4): an inlet whose readings were lost since the start has no
    estimate, so the network's shown verdict was unknown — not in band — while the
    model-based controller had planned it into the band with the rest: through the
    entities source with 30 % lost (1 % noise, seeds 0–2, five networks) every cycle the
    AI controller was shown in band after the plant (1–6 cycles, 30 in 15 runs) was one
    of these (gen60 s1 B056 lost 7 cycles: shown 7, plant 1). The plan is judged as any
    estimate, on its more likely side (:func:`~.evaluation.chance_in_band`): a plan that
    missed the inlets it can be checked on stands in for none with any confidence."""
    misses = [
        (read[iid] / flow - 1.0) * (read[iid] / flow - 1.0)
        for iid, flow in predicted.items()
        if iid in read and iid not in unread and flow > CHECKABLE_FLOW
    ]
    flows = {iid: predicted[iid] for iid in unread if predicted.get(iid, 0.0) > 0}
    if len(misses) < MIN_PLAN_CHECKS or not flows:
        return None
    return PlanStandIn(flows, max(PREDICTION_FLOOR, math.sqrt(sum(misses) / len(misses))))


def estimated_readings(
    bank: EstimatorBank,
    meas: Measurements,
    ids: list[str],
    target: str,
    plan: PlanStandIn | None = None,
) -> tuple[Measurements, dict[str, float]]:
    """This cycle's estimates as readings of ``ids`` (network figures as ``meas`` has them),
    and per inlet the ±2 σ of the ``target``'s value where it has an estimate (m³/h or K:
    :func:`~.evaluation.evaluate`'s ``uncertainty``); ``plan``: the flow of an inlet
    without a flow estimate where the sent plan stands in for it (:func:`plan_stand_in`).
    Call it after the controller's step (its filters have then taken this cycle's readings)."""
    values, stds = bank.standing(bank.rows(ids), MAX_ESTIMATE_AGE)
    inlets: dict[str, InletReading] = {}
    spreads: dict[str, float] = {}
    col = _COLUMN["flow_m3h"]
    for k, iid in enumerate(ids):
        if plan is not None and values[k][col] is None and iid in plan.flows:
            values[k][col] = plan.flows[iid]
            stds[k][col] = plan.sigma * plan.flows[iid]
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
