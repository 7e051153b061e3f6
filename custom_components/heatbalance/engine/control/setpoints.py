"""The static model: setpoints from outdoor temperature and design data (§3.0.6, §5.3.6-5).

Intermediate-level regulation "by a predefined static model" needs, for every inlet and
every control target (§4.1.1), a setpoint that follows the weather:

* **flow** — the design flow (design load over design ΔT); it does not depend on the
  weather under quality regulation (constant flow, supply temperature by heating curve);
* **return temperature** — the heating curve's return branch: at design flow the inlet's
  temperature drop is its design ΔT times the load fraction
  ``φ = (room setpoint − outdoor) / (design room − design outdoor)``, so the setpoint is the
  substation supply temperature minus ``ΔT_design·φ``. That holds only while the supply
  follows a heating curve (quality regulation). When it does not — a fixed supply
  temperature, no curve, an outdoor temperature beyond the curve's points (where the curve
  is flat), or a supply more than :data:`CURVE_TOLERANCE_K` off the curve —
  the setpoint comes from the *actual* supply temperature and the emitter: the return at
  which the emitter gives the room its share ``φ`` of the design heat,
  ``LMTD(T_s, T_r) = LMTD_design·φ^(1/n)`` (the emitter law the simulator uses). A fixed
  60 °C supply on a colder day then asks for a *warmer* return, i.e. more flow, instead of
  the curve formula's colder one that would starve the rooms. The substation's supply
  temperature is used, not the inlet's, as §4.1.1 says return targets ignore supply-pipe
  losses;
* **mean temperature** — the mean of the inlet's supply and that return setpoint
  (``supply − ΔT_design·φ/2``), which does account for the supply losses of a long network;
* **room temperature** — the inlet's room setpoint.

Manual weighting (§5.3.6-5) raises a special building's share: a weight ``w`` multiplies its
flow setpoint; the temperature setpoints follow from that flow (the same heat at ``w`` times
the flow drops ``1/w`` of the ΔT, so the return setpoint rises); a room setpoint rises by
:data:`ROOM_K_PER_WEIGHT` K per unit of weight above 1 (w = 1.1 → +1 K).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..model import Inlet, Network

ROOM_K_PER_WEIGHT = 10.0
MAX_LOAD_FRACTION = 1.5  # colder than design: the curve is extrapolated this far, no further
MIN_RETURN_ABOVE_ROOM_K = 1.0  # a return setpoint at or below room temperature is unreachable
CURVE_TOLERANCE_K = 2.0  # a supply further than this from the heating curve does not follow it
MAX_LMTD_SHARE = 0.98  # supply too cold for the load: ask for the return of a very big flow
_BISECTIONS = 60


def load_fraction(network: Network, outdoor_c: float, room_c: float | None = None) -> float:
    """Share of the design heat load at ``outdoor_c`` (0 when no heating is needed)."""
    design = network.design
    room = design.room_c if room_c is None else room_c
    span = design.room_c - design.outdoor_c
    if span <= 0:
        return 1.0
    return min(max((room - outdoor_c) / span, 0.0), MAX_LOAD_FRACTION)


def flow_setpoint(inlet: Inlet, weight: float = 1.0) -> float:
    """Set flow of an inlet (m³/h): design flow times its weight."""
    return inlet.design_flow_m3h * weight


def follows_curve(network: Network, outdoor_c: float, supply_c: float) -> bool:
    """Whether the substation supply is on its heating curve (quality regulation, §3.0.6).

    Outside its points the curve is flat: the supply stops rising with the load, so the
    curve's return branch (drop ``ΔT_design·φ`` at design flow) no longer holds there even
    when the supply matches. A fixed 60 °C supply at 10 K below the coldest point would
    otherwise read as "on the curve" and get a colder return setpoint (less flow) instead
    of the emitter's warmer one.
    """
    curve = network.substation.heating_curve
    if curve is None:
        return False
    outdoors = [x for x, _ in curve.points]
    if not min(outdoors) <= outdoor_c <= max(outdoors):
        return False
    return abs(curve.supply_c(outdoor_c) - supply_c) <= CURVE_TOLERANCE_K


def return_setpoint(
    network: Network, inlet: Inlet, outdoor_c: float, supply_c: float, weight: float = 1.0
) -> float:
    """Return-temperature setpoint (°C): heating curve's return branch, else the emitter's."""
    phi = load_fraction(network, outdoor_c, inlet.room_setpoint_c)
    if follows_curve(network, outdoor_c, supply_c):
        drop = inlet.design_dt_k * phi
    else:
        drop = supply_c - emitter_return(inlet, supply_c, phi)
    value = supply_c - drop / weight
    return max(value, inlet.room_setpoint_c + MIN_RETURN_ABOVE_ROOM_K)


def emitter_return(inlet: Inlet, supply_c: float, phi: float) -> float:
    """Return (°C) at which the inlet's emitter gives share ``phi`` of its design heat.

    Emitter law ``Q/Q_d = (LMTD/LMTD_d)^n`` at the room setpoint, solved for the return
    with the supply fixed (LMTD grows monotonically with the return, so bisection).
    """
    room = inlet.room_setpoint_c
    theta_s = supply_c - room
    if phi <= 0 or theta_s <= 0:
        return room
    wanted = min(lmtd_needed(inlet, phi), MAX_LMTD_SHARE * theta_s)
    low, high = 0.0, theta_s
    for _ in range(_BISECTIONS):
        mid = 0.5 * (low + high)
        if _lmtd(theta_s, mid) < wanted:
            low = mid
        else:
            high = mid
    return room + 0.5 * (low + high)


def lmtd_needed(inlet: Inlet, phi: float) -> float:
    """Mean temperature excess (K) at which the inlet's emitter gives share ``phi`` of its
    design heat: ``LMTD_design·φ^(1/n)``, the emitter law the simulator uses."""
    em = inlet.emitter
    wanted = _lmtd(em.design_supply_c - em.design_room_c, em.design_return_c - em.design_room_c)
    share: float = max(phi, 0.0) ** (1.0 / max(em.exponent, 1e-6))
    return wanted * share


def supply_needed(network: Network, inlet: Inlet, outdoor_c: float) -> float | None:
    """Lowest supply temperature (°C) at which some flow gives the inlet's rooms their heat
    at ``outdoor_c`` (None: no heat needed).

    The emitter's mean excess can never reach the supply's own excess over the room, however
    large the flow; :func:`emitter_return` asks for the return of a very big flow once the
    need passes :data:`MAX_LMTD_SHARE` of it. Below this supply that capped return setpoint,
    the room band (§8.2.4-4) and the return band (§8.2.3-2, §8.2.4-2) are out of reach of any
    valve or pump: the supply is too cold for the load (a fixed supply on a day colder than
    it was set for, §4.1.1), which only the heat source can mend.
    """
    phi = load_fraction(network, outdoor_c, inlet.room_setpoint_c)
    if phi <= 0:
        return None
    return inlet.room_setpoint_c + lmtd_needed(inlet, phi) / MAX_LMTD_SHARE


@dataclass(frozen=True)
class SupplyShort:
    """The substation supply is too cold for the load (:func:`supply_too_cold`)."""

    supply_c: float  # the supply read
    needed_c: float  # the lowest supply every heated inlet can get its heat from
    outdoor_c: float
    inlets: tuple[str, ...]  # the heated inlets whose rooms no flow can heat


class SupplyCheck:
    """Whether the substation supply is too cold for the load (:func:`supply_needed`).

    Built once per network: inlets with the same room setpoint and emitter need the same
    supply, so each such group is computed once a cycle (a 23,000-household network has a
    handful of groups, not 23,000 inlets to run through the emitter law)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        groups: dict[tuple[float, ...], list[str]] = {}
        for inlet in network.terminal_inlets():
            em = inlet.emitter
            key = (
                inlet.room_setpoint_c,
                em.design_supply_c,
                em.design_return_c,
                em.design_room_c,
                em.exponent,
            )
            groups.setdefault(key, []).append(inlet.id)
        self._groups = [(network.inlets[ids[0]], tuple(ids)) for ids in groups.values()]

    def __call__(self, outdoor_c: float, supply_c: float) -> SupplyShort | None:
        """The heated inlets whose rooms no flow can heat at this supply, else None."""
        short: list[str] = []
        needed = -math.inf
        for inlet, ids in self._groups:
            need = supply_needed(self.network, inlet, outdoor_c)
            if need is None:
                continue
            needed = max(needed, need)
            if need > supply_c:
                short.extend(ids)
        if not short:
            return None
        return SupplyShort(supply_c, needed, outdoor_c, tuple(sorted(short)))

    def flow_margin(
        self, outdoor_c: float, supply_c: float, flow_up: float, return_slack_k: float
    ) -> SupplyLow | None:
        """How far (K) the supply stands above the lowest one at which the flow band and the
        return band agree (:func:`supply_for_flow`), for the group with the least margin;
        None where the two cannot contradict: the supply follows its heating curve (the
        curve's return branch is the design flow's), no heat is needed, or the supply is
        too cold for any flow (:meth:`__call__`'s condition, which names that case)."""
        if follows_curve(self.network, outdoor_c, supply_c):
            return None
        worst: SupplyLow | None = None
        for inlet, ids in self._groups:
            phi = load_fraction(self.network, outdoor_c, inlet.room_setpoint_c)
            need = supply_needed(self.network, inlet, outdoor_c)
            if need is None or phi <= 0:
                continue
            if need > supply_c:
                return None
            edge = supply_for_flow(inlet, phi, 1.0 + flow_up, return_slack_k)
            low = SupplyLow(
                supply_c=supply_c,
                needed_c=supply_for_flow(inlet, phi, 1.0, 0.0),
                flow_share=flow_share_needed(inlet, phi, supply_c),
                outdoor_c=outdoor_c,
                margin_k=supply_c - edge,
                inlets=ids,
            )
            if worst is None or low.margin_k < worst.margin_k:
                worst = low
            elif low.margin_k == worst.margin_k:
                worst = replace(worst, inlets=worst.inlets + ids)
        return worst


@dataclass(frozen=True)
class SupplyLow:
    """The supply heats the rooms only with more water than the flow band allows
    (:meth:`SupplyCheck.flow_margin`): the flow band and the return band contradict."""

    supply_c: float  # the supply read
    needed_c: float  # the supply at which the set flow gives the rooms their heat
    flow_share: float  # the flow the return setpoint needs, share of the set flow
    outdoor_c: float
    margin_k: float  # supply above the lowest at which both bands can hold (< 0: cannot)
    inlets: tuple[str, ...]  # the inlets of the group with the least margin


def flow_share_needed(inlet: Inlet, phi: float, supply_c: float, slack_k: float = 0.0) -> float:
    """Share of the set flow that carries the rooms' heat (``φ`` of the design load) with
    the return ``slack_k`` below the emitter's return setpoint (:func:`emitter_return`):
    the heat balance ``φ·ΔT_design = share·(supply − return)``. The set flow is design ×
    weight and the weighted return setpoint drops ``1/w`` of the ΔT, so the share does not
    depend on the weight (``slack_k`` 0)."""
    drop = supply_c - emitter_return(inlet, supply_c, phi) + slack_k
    return inlet.design_dt_k * phi / drop if drop > 0 else math.inf


def supply_for_flow(inlet: Inlet, phi: float, share: float, slack_k: float = 0.0) -> float:
    """Lowest supply (°C) at which ``share`` of the set flow carries the rooms' heat with the
    return at most ``slack_k`` below its setpoint (:func:`flow_share_needed` falls as the
    supply rises: a warmer supply gives the emitter its mean excess at a bigger drop)."""
    low = inlet.room_setpoint_c + lmtd_needed(inlet, phi) / MAX_LMTD_SHARE
    high = low + 200.0
    for _ in range(_BISECTIONS):
        mid = 0.5 * (low + high)
        if flow_share_needed(inlet, phi, mid, slack_k) > share:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def supply_too_cold(network: Network, outdoor_c: float, supply_c: float) -> SupplyShort | None:
    """:class:`SupplyCheck` of ``network`` at one outdoor and supply temperature."""
    return SupplyCheck(network)(outdoor_c, supply_c)


def _lmtd(hot: float, cold: float) -> float:
    """Logarithmic mean of two excess temperatures (K; 0 when one of them is 0)."""
    if cold <= 0 or hot <= 0:
        return 0.0
    if abs(hot - cold) < 1e-9 * hot:
        return hot
    return (hot - cold) / math.log(hot / cold)


def mean_setpoint(
    network: Network,
    inlet: Inlet,
    outdoor_c: float,
    supply_c: float,
    weight: float = 1.0,
    inlet_supply_c: float | None = None,
) -> float:
    """Mean supply/return temperature setpoint (°C) at the inlet."""
    drop = supply_c - return_setpoint(network, inlet, outdoor_c, supply_c, weight)
    here = supply_c if inlet_supply_c is None else inlet_supply_c
    return here - 0.5 * drop


def room_setpoint(inlet: Inlet, weight: float = 1.0) -> float:
    """Room-temperature setpoint (°C), raised for weighted buildings."""
    return inlet.room_setpoint_c + ROOM_K_PER_WEIGHT * (weight - 1.0)


def setpoint(
    network: Network,
    inlet_id: str,
    target: str,
    *,
    outdoor_c: float | None,
    supply_c: float | None,
    weight: float = 1.0,
    inlet_supply_c: float | None = None,
) -> float | None:
    """The static model's setpoint of one inlet in its target's unit; None without data."""
    inlet = network.inlets[inlet_id]
    if target == "flow":
        return flow_setpoint(inlet, weight)
    if target == "room":
        return room_setpoint(inlet, weight)
    if outdoor_c is None or supply_c is None:
        return None
    if target == "return":
        return return_setpoint(network, inlet, outdoor_c, supply_c, weight)
    if target == "mean":
        return mean_setpoint(network, inlet, outdoor_c, supply_c, weight, inlet_supply_c)
    raise ValueError(f"unknown target {target!r}")
