"""Control targets (§4.1.1): setpoint, measured value and a normalised error per inlet.

Both controllers steer on one number per inlet: the *error*, positive when the inlet needs
more water. It is normalised so one gain fits every target:

* **flow** — ``ln(Q*/Q)``: a relative error, symmetric for too much and too little;
* **return** — ``(T_set − T_return)/ΔT_design``: a return colder than its setpoint means the
  water stays too long in the building, so the inlet needs more flow;
* **mean** — the same on the mean supply/return temperature, over half the design ΔT;
* **room** — ``(T_set − T_room)/ROOM_SCALE_K``.

Setpoints come from the static model in :mod:`.setpoints` (§3.0.6): weather-dependent for
temperatures, design flow times the manual weight (§5.3.6-5) for flow. Every reading goes
through :meth:`InletReading.get`, so a missing, flagged or implausible value gives no error
at all (None) and the inlet is held, never guessed (§3.0.7-1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..model import Network
from .base import MAX_FLOW_RATIO, InletReading, Measurements, plausible_temperature, usable
from .setpoints import setpoint

ROOM_SCALE_K = 30.0  # rooms answer over many hours: 1 K off moves the flow ~3 % per step
MIN_FLOW_SHARE = 0.01  # a zero reading is taken as 1 % of setpoint: "open up", not −∞
POOL_MIN = 2  # inlets before their flow estimates are judged together (see worst_lower_bound)
SIMULTANEOUS = 0.05  # chance that some inlet's true flow lies below the network's bound
OUTLIER_SD = 3.0  # an estimate this far from the others (at least) is judged on its own
SPREAD_Z = 2.0  # the spread of the true flows is taken at its upper 2 σ (few inlets: wide)
POOL_CAP_Z = 1.0  # pooling lifts an inlet's bound at most to its estimate less this many σ
POOL_TAIL_MIN = 500  # from this many inlets the prior has a tail instead of the caps (23b) …
OFF_COUNT = 2.0  # … expecting this many inlets landed off the others' scatter …
OFF_WIDTH = 4.0  # … by a spread this many rms σ of the estimates wider
JOINT_BISECTIONS = 24  # the joint bound found to 6e-8 of its bracket (a few σ: ≈ 1e-9 of flow)


@dataclass
class TargetError:
    """What one inlet should have, what it has, and the normalised error."""

    target: str
    setpoint: float
    measured: float
    error: float


def inlet_setpoint(
    network: Network,
    inlet_id: str,
    target: str,
    measurements: Measurements,
    weight: float,
    aim: float,
) -> float | None:
    """The static model's setpoint for one inlet (flow already placed in the band by ``aim``)."""
    reading = measurements.inlets.get(inlet_id) or InletReading()
    supply = None
    if not measurements.substation_flagged:
        supply = plausible_temperature(usable(measurements.supply_c))
    value = setpoint(
        network,
        inlet_id,
        target,
        outdoor_c=usable(measurements.outdoor_c),
        supply_c=supply,
        weight=weight,
        inlet_supply_c=plausible_temperature(reading.get("supply_c")),
    )
    if value is None:
        return None
    return value * aim if target == "flow" else value


def measured_value(
    network: Network, inlet_id: str, target: str, reading: InletReading
) -> float | None:
    """The inlet's reading in its target's unit; None when it cannot be trusted."""
    if target == "flow":
        flow = reading.get("flow_m3h")
        design = network.inlets[inlet_id].design_flow_m3h
        if flow is None or flow < 0 or flow > MAX_FLOW_RATIO * design:
            return None  # negative or absurd flow: a meter fault, not the plant
        return flow
    if target == "room":
        return plausible_temperature(reading.get("room_c"))
    ret = plausible_temperature(reading.get("return_c"))
    if target == "return" or ret is None:
        return ret
    sup = plausible_temperature(reading.get("supply_c"))
    return None if sup is None else 0.5 * (sup + ret)


def target_error(
    network: Network,
    inlet_id: str,
    target: str,
    measurements: Measurements,
    weight: float,
    aim: float,
) -> TargetError | None:
    """Setpoint, measurement and normalised error of one inlet, or None (hold)."""
    reading = measurements.inlets.get(inlet_id)
    if reading is None:
        return None
    wanted = inlet_setpoint(network, inlet_id, target, measurements, weight, aim)
    got = measured_value(network, inlet_id, target, reading)
    if wanted is None or got is None:
        return None
    inlet = network.inlets[inlet_id]
    if target == "flow":
        if wanted <= 0:
            return None
        error = math.log(wanted / max(got, MIN_FLOW_SHARE * wanted))
    elif target == "room":
        error = (wanted - got) / ROOM_SCALE_K
    elif target == "return":
        error = (wanted - got) / inlet.design_dt_k
    else:
        error = (wanted - got) / (0.5 * inlet.design_dt_k)
    return TargetError(target, wanted, got, error)


def worst_lower_bound(ratios: Sequence[tuple[float, float]], z: float) -> float | None:
    """The lowest true flow over set flow the inlets' estimates allow together (§8.2.4).

    ``ratios``: per inlet its estimated flow over its set flow (design × weight, §5.3.6-5)
    and that estimate's σ, both relative to set flow. Each inlet alone allows its estimate
    less ``z`` σ; but over N inlets the lowest estimate is mostly the one whose meter noise
    fell lowest (the expected minimum of N standard normals: 1.6 σ at 12 inlets, 3.2 σ at
    1,200), so a pump slowed to the lowest own bound keeps every flow ≈ (z + 3) σ above set
    flow (households1200 at 1 % meters: +1.5 %). The estimates are judged together
    instead (empirical Bayes): the true ratios scatter around the network's median by a
    spread τ learnt from the estimates' own scatter less their noise (taken at its upper
    ``SPREAD_Z`` bound, wide with few inlets), each estimate is weighted toward that median
    by its precision τ²/(τ² + σ²), and the bound asks all inlets at once (``SIMULTANEOUS``
    chance that any is below, spread over the inlets by how near each is to the edge,
    :func:`joint_bound`; split evenly, α/n apiece, district120 at 1 % meters kept its pump
    at the landing's aim). That prior is wrong for an inlet truly off the others
    (gen10x8-households at 2 % noise: a household the plan landed 0.7 % low, weighted
    toward them, was slowed to 0.994 — 4 of 10 seeds held the band, was 10), so the
    pooling is *limited* (Efron–Morris limited translation): it may lift an inlet's bound
    to its own estimate less ``POOL_CAP_Z`` σ, never further — a truly low inlet keeps
    that much of its own protection (at 0 σ: 5 of 10 seeds). Its estimate can also lag its
    true flow after the neighbours' moves (gen24-spread10 at 2 % noise, 5 Dec: a building
    estimated 1.8 σ above its true flow; pooled and limited at 1 σ, 7 of 10 seeds held the
    band, 9 without pooling), so until 6 Dec fewer than 50 inlets were each judged on their
    own. Measured again after the estimates' fixes since (6 Dec, 9p), pooling on every
    network costs no seed (gen24-spread10 and estate12 at 2 % noise 10/10 either way) and
    takes the lowest-draw bias the small networks have too (1.6 σ at 12, 2 σ at 30:
    gen30-loop's binding inlet sat 2.6 σ under its true flow), so ``POOL_MIN`` is two, the
    fewest that can be pooled. An estimate further from the
    others than the most extreme of n draws reaches (the simultaneous z, at least
    ``OUTLIER_SD``: 3.9 at 1,240 inlets) is judged on its own (a far inlet the plan lands
    short); at a fixed 3 σ the lowest estimates of households1200 (3.7 σ low by chance)
    were, and the loop never slowed the pump there. None without inlets.

    From ``POOL_TAIL_MIN`` inlets on the caps are dropped and the prior gets a tail instead
    (:func:`_two_part`). There the lowest of n estimates lies ≥ 3 σ low by its noise alone,
    so the cap on it kept the bound ≈ 1 % under the lowest true flow (households1200 at 1 %
    meters: 1.036× the oracle's pump power). Lifting the cap by the rank's order statistic
    (22b) gave the truly low inlet away (households1200 s1: B006H15, a part-open valve 5 τ
    below the others, lost the band): the normal prior did not hold in the landing scatter's
    tail. With the tail, each estimate is the others' scatter (chance 1 − ``OFF_COUNT``/n)
    or a landing ``OFF_WIDTH`` rms σ wider (``OFF_COUNT``/n), weighted by how likely its
    deviation is under each, and :func:`joint_bound` sums both parts' tails: a low estimate
    is protected by the wide part as far as its data make it likely off, not by its own
    lowest draw (households1200: 1.028× with no cycle below set flow, B006H15 kept). Fewer
    inlets keep the caps: there the lowest draw lies only 1.6–2.5 σ low, and the tail's
    weight c/n cost more than the cap (estate12, loop8, gen15-comb1500m and gen24-spread10
    slowed less, and the walking plant lost 6 more cycles below set flow; docs/
    benchmark-balance.md, 23b).
    """
    n = len(ratios)
    if n == 0:
        return None
    if n < POOL_MIN:
        return min(r - z * s for r, s in ratios)
    values = sorted(r for r, _ in ratios)
    mid = n // 2
    median = values[mid] if n % 2 else 0.5 * (values[mid - 1] + values[mid])
    noise = sum(s * s for _, s in ratios) / n
    spread = max(sum((r - median) * (r - median) for r in values) / n - noise, 0.0)
    spread += SPREAD_Z * math.sqrt(2.0 / n) * (spread + noise)
    median_var = 0.5 * math.pi * (spread + noise) / n
    z_all = NormalDist().inv_cdf(1.0 - SIMULTANEOUS / n)
    outlier = max(OUTLIER_SD, z_all)  # beyond what the most extreme of n draws reaches
    lowest = math.inf  # over the inlets judged on their own
    posts: list[tuple[float, ...]] = []  # pooled inlets: posterior mean, σ (, chance) …
    limits: list[tuple[float, float]] = []  # … own bound, and how far pooling may lift it
    tail = n >= POOL_TAIL_MIN
    for r, s in ratios:
        var = s * s
        alone = r - z * s
        if (r - median) * (r - median) > outlier * outlier * (spread + var + median_var):
            lowest = min(lowest, alone)
            continue
        if tail:
            for m, sd, chance in _two_part(r - median, var, spread, noise, median_var, n):
                posts.append((median + m, sd, chance))
            limits.append((alone, math.inf))
            continue
        weight = spread / (spread + var) if spread + var > 0 else 0.0
        post = weight * var + (1.0 - weight) ** 2 * median_var
        posts.append((median + weight * (r - median), math.sqrt(post)))
        limits.append((alone, r - POOL_CAP_Z * s))
    if posts:
        pooled = joint_bound(posts, z_all)
        for own, cap in limits:
            lowest = min(lowest, max(own, min(pooled, cap)))
    return lowest


def _two_part(
    dev: float, var: float, spread: float, noise: float, median_var: float, n: int
) -> list[tuple[float, float, float]]:
    """An estimate's posterior under the prior with a tail, as (deviation from the median,
    σ, chance) per part: the others' scatter ``spread`` (chance 1 − ``OFF_COUNT``/n) or a
    landing ``OFF_WIDTH`` rms σ (``noise``: the mean σ²) wider (``OFF_COUNT``/n), each
    part's chance after the estimate by how likely its deviation ``dev`` is under it.
    Within a part the estimate is weighted toward the median by its precision."""
    off = min(OFF_COUNT / n, 0.5)
    parts = []
    for tau2, prior in ((spread, 1.0 - off), (spread + OFF_WIDTH**2 * noise, off)):
        total = tau2 + var
        if total <= 0:
            parts.append((0.0, math.sqrt(median_var), prior))
            continue
        weight = tau2 / total
        post = weight * var + (1.0 - weight) ** 2 * median_var
        like = prior * math.exp(-0.5 * dev * dev / total) / math.sqrt(total)
        parts.append((weight * dev, math.sqrt(post), like))
    norm = parts[0][2] + parts[1][2]
    if norm <= 0:  # both likelihoods below a float: the priors' chances
        return [(parts[0][0], parts[0][1], 1.0 - off), (parts[1][0], parts[1][1], off)]
    return [(m, sd, c / norm) for m, sd, c in parts]


def joint_bound(posts: Sequence[tuple[float, ...]], z_each: float) -> float:
    """The flow level below which any of the pooled inlets' true flows lies with chance
    ``SIMULTANEOUS`` at most, from their posteriors (mean, σ[, chance of that part, 1 when
    not given]): Σ cᵢ Φ((x − mᵢ)/σᵢ) = α.

    Each inlet at ``z_each`` (α/n apiece, Bonferroni) spent the network's α evenly, also on
    inlets far above the band's edge that could never be below it; the union bound holds
    with the α spread by how near each is (the sum itself ≤ α), so the binding inlets take
    the share the others leave (§8.2.4: the band's lower edge with the estimates'
    uncertainty, jointly). Never below the even split's bound, never above the lowest
    mean of a part likely enough (chance > 2α) that its mean alone passes α. Found by
    bisection on numpy arrays (23,777 inlets: a few ms).
    """
    m = np.fromiter((p[0] for p in posts), float, len(posts))
    sd = np.fromiter((p[1] for p in posts), float, len(posts))
    chance = np.fromiter((p[2] if len(p) > 2 else 1.0 for p in posts), float, len(posts))
    lo = float(np.min(m - z_each * sd))
    likely = chance > 2.0 * SIMULTANEOUS
    hi = float(np.min(m[likely] if likely.any() else m))
    m, sd, chance = m[sd > 0], sd[sd > 0], chance[sd > 0]
    if m.size == 0 or hi <= lo:
        return lo
    for _ in range(JOINT_BISECTIONS):
        x = 0.5 * (lo + hi)
        u = (m - x) / sd
        tail = _upper_tail(np.abs(u))
        below = np.where(u >= 0.0, tail, 1.0 - tail)  # a part whose mean lies below x
        if float(np.sum(chance * below)) > SIMULTANEOUS:
            hi = x
        else:
            lo = x
    return lo


def _upper_tail(u: np.ndarray) -> np.ndarray:
    """1 − Φ(u) for u ≥ 0 (Börjesson–Sundberg 1979: relative error < 0.3 %; numpy has no
    erfc, and ``math.erfc`` per inlet cost 0.24 s a cycle at 23,777 inlets)."""
    a, b = 0.339, 5.51
    density = np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
    tail: np.ndarray = density / ((1.0 - a) * u + a * np.sqrt(u * u + b))
    return tail
