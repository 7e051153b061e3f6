"""Online identification of each inlet's hydraulic response (§3.0.7-1/3: self-learning).

The model-based controller sizes valves from a hydraulic model; the plant differs from it
(a valve's real Kv, a clogged strainer, a radiator circuit nobody measured). Each inlet's
branch obeys ``Δp = R·Q²`` with

    R(opening) = c0·a0 + c1·x(opening),     x = 100 / Kv_nominal(opening)²   [kPa/(m³/h)²]

where ``a0`` is the circuit resistance the network file states and ``Kv_nominal`` the valve
characteristic. The two factors ``c0`` (circuit) and ``c1`` (valve: a blockage to 30 % Kv is
``c1 = 1/0.3²``) are estimated by recursive least squares with exponential forgetting, from
whatever is measured: the branch equation ``Δp_available/Q² = c0·a0 + c1·x`` and, where a
valve ΔP is read, the valve equation ``Δp_valve/Q² = c1·x``. Both are normalised by the prior
resistance so the parameters are near 1 and equally scaled.

Forgetting lets the estimate follow a real change; *innovation gating* keeps a single spike
out: a sample that disagrees with the prediction by more than ``gate`` is rejected (and the
inlet held for that step) unless the disagreement repeats, which is a real change — then the
covariance is reset and the estimate jumps to the new plant.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..diagnosis import stored_count, stored_number

if TYPE_CHECKING:
    from .model_based import ModelBased
    from .planner import HydraulicPlanner

_LOGGER = logging.getLogger(__name__)
FACTOR_RANGE = (0.02, 200.0)  # a factor outside this is not a plant, it is a broken meter
P_PRIOR = 0.1  # prior variance over measurement variance: the file counts like ten readings
P_RESET = 1e4  # after a confirmed change: the old estimate is no longer trusted
P_MAX = 1e5  # bound on the covariance: forgetting without excitation must not blow it up
ACCEPT, REJECT, SKIP = "accepted", "rejected", "skipped"


@dataclass
class BranchIdentifier:
    """RLS estimate of one inlet's circuit and valve factors (serialisable state)."""

    a0: float
    forgetting: float = 0.95
    gate: float = 0.15
    confirm: int = 2
    theta: list[float] = field(default_factory=lambda: [1.0, 1.0])
    p: list[list[float]] = field(default_factory=lambda: [[P_PRIOR, 0.0], [0.0, P_PRIOR]])
    rejected: int = 0
    samples: int = 0

    # --- model ---------------------------------------------------------------------------
    @property
    def circuit_factor(self) -> float:
        """c0: measured circuit resistance over the network file's."""
        return self.theta[0]

    @property
    def valve_factor(self) -> float:
        """c1: measured valve resistance over the characteristic's (1/Kv-factor²)."""
        return self.theta[1]

    def resistance(self, x: float) -> float:
        """Predicted branch resistance (kPa/(m³/h)²) at valve term ``x``."""
        return self.theta[0] * self.a0 + self.theta[1] * x

    def flow_valve_factor(self, x: float, ratio: float, rest: float | None = None) -> float:
        """The valve factor c1 at which this branch passes ``ratio`` × the flow the model's
        branch (valve at its characteristic) passes at the same offered pressure.

        ``x`` is the valve term at the read opening, ``rest`` the resistance in series with
        the valve as the model has it (default: the circuit, c0·a0; a building feeding
        households: its households as one resistance). Where no ΔP is read, the branch
        equation has no left-hand side: what is left is the measured flow against the
        network model's at the read opening (§5.3.7-3). The whole excess resistance is put
        on the valve — the one part of the branch the controller moves — never below the
        characteristic (c1 ≥ 1).
        """
        rest = self.theta[0] * self.a0 if rest is None else rest
        if not (ratio > 0 and x > 0 and math.isfinite(x) and math.isfinite(rest)):
            return self.theta[1]
        square = ratio**2
        if not square > 0.0:  # a ratio so small its square rounds to 0: the valve passes nothing
            return FACTOR_RANGE[1]
        return max(1.0, ((rest + x) / square - rest) / x)

    def refine_valve_factor(self, x: float, ratio: float, rest: float | None = None) -> None:
        """Correct the valve factor learnt without ΔP by the flow measured over the flow the
        model gives with it (``ratio``; ``x``, ``rest`` as in :meth:`flow_valve_factor`).

        Judged against the valve at its characteristic, a blocked valve's factor comes out
        low: its building draws less, so the pipes lose less on its way and it is offered
        more pressure than the model's at the file's flows (gen10x8, Kv × 0.3: 8 for 11).
        Against the model with the factor learnt so far, the fixed point is the factor that
        explains the flow at the pressure the network really offers.
        """
        c1 = self.theta[1]
        self.take_valve_factor(c1 * self.flow_valve_factor(c1 * x, ratio, rest))

    def take_valve_factor(self, factor: float) -> None:
        """Adopt a valve factor learnt without ΔP (:meth:`flow_valve_factor`): never below
        the characteristic's, never beyond :data:`FACTOR_RANGE`."""
        self.theta = [self.theta[0], min(max(factor, 1.0), FACTOR_RANGE[1])]

    # --- update --------------------------------------------------------------------------
    def update(
        self, flow_m3h: float, x: float, dp_kpa: float | None, valve_dp_kpa: float | None
    ) -> str:
        """Feed one measurement; returns ``accepted``, ``rejected`` (gated) or ``skipped``.

        ``x`` is the valve term at the measured opening; ``dp_kpa`` the pressure available
        to the branch (measured or model-predicted), ``valve_dp_kpa`` the measured valve
        drop. Nothing usable (no flow, no pressure): skipped.
        """
        rows = self._rows(flow_m3h, x, dp_kpa, valve_dp_kpa)
        if not rows:
            return SKIP
        if self._inconsistent(rows):
            self.rejected += 1
            if self.rejected < self.confirm:
                return REJECT
            self.p = [[P_RESET, 0.0], [0.0, P_RESET]]  # a real change: start learning anew
        self.rejected = 0
        self._rls_rows(rows)
        self.samples += 1
        return ACCEPT

    def _rows(
        self, q: float, x: float, dp: float | None, valve_dp: float | None
    ) -> list[tuple[tuple[float, float], float]]:
        """Normalised regression rows (φ, y) from whatever was measured."""
        if not (q > 1e-6 and math.isfinite(x) and x >= 0):
            return []
        rows: list[tuple[tuple[float, float], float]] = []
        prior = self.a0 + x
        if dp is not None and dp > 0 and prior > 0:
            rows.append(((self.a0 / prior, x / prior), dp / q**2 / prior))
        if valve_dp is not None and valve_dp > 0 and x > 0:
            rows.append(((0.0, 1.0), valve_dp / q**2 / x))
        return rows

    def _inconsistent(self, rows: list[tuple[tuple[float, float], float]]) -> bool:
        """Whether any row disagrees with the prediction by more than the gate."""
        t0, t1 = self.theta
        for (f0, f1), y in rows:
            predicted = f0 * t0 + f1 * t1
            if predicted <= 0 or abs(y - predicted) > self.gate * predicted:
                return True
        return False

    def _rls_rows(self, rows: list[tuple[tuple[float, float], float]]) -> None:
        """One RLS step with forgetting, bounded covariance and bounded factors per row, in
        order; the state stays in locals between rows (two rows per inlet, 23,870 inlets
        a cycle at 23k).

        Two parameters: written out in floats (numpy's per-call overhead on 2×2 arrays was
        most of the identification's time on a 1,240-inlet network).
        """
        (p00, p01), (p10, p11) = self.p
        t0, t1 = self.theta
        lam = self.forgetting
        lo, hi = FACTOR_RANGE
        for (f0, f1), y in rows:
            pf0, pf1 = p00 * f0 + p01 * f1, p10 * f0 + p11 * f1  # P φ
            fp0, fp1 = f0 * p00 + f1 * p10, f0 * p01 + f1 * p11  # φᵀ P
            denom = lam + (fp0 * f0 + fp1 * f1)
            g0, g1 = pf0 / denom, pf1 / denom
            err = y - (f0 * t0 + f1 * t1)
            t0, t1 = t0 + g0 * err, t1 + g1 * err
            p00, p01 = (p00 - g0 * fp0) / lam, (p01 - g0 * fp1) / lam
            p10, p11 = (p10 - g1 * fp0) / lam, (p11 - g1 * fp1) / lam
            p01 = p10 = 0.5 * (p01 + p10)
            p00, p11 = 0.5 * (p00 + p00), 0.5 * (p11 + p11)
            trace = p00 + p11
            if trace > P_MAX:
                scale = P_MAX / trace
                p00, p01, p10, p11 = p00 * scale, p01 * scale, p10 * scale, p11 * scale
            t0, t1 = min(max(t0, lo), hi), min(max(t1, lo), hi)
        self.theta = [t0, t1]
        self.p = [[p00, p01], [p10, p11]]

    # --- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "a0": self.a0,
            "forgetting": self.forgetting,
            "gate": self.gate,
            "confirm": self.confirm,
            "theta": list(self.theta),
            "p": [list(r) for r in self.p],
            "rejected": self.rejected,
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BranchIdentifier:
        """Read back :meth:`to_dict`; a corrupt θ or P falls back to the prior, a damaged
        setting or count raises ValueError (:meth:`ModelBased.load` restarts the inlet).
        Before, ``float``/``int`` took them unchecked: a forgetting of 0 divided by zero in
        the next :meth:`update`, NaN made θ NaN, a NaN gate never rejected a sample."""
        out = cls(
            a0=stored_number(data["a0"], 0.0),
            forgetting=stored_number(data.get("forgetting", 0.95), 0.0, 1.0),
            gate=stored_number(data.get("gate", 0.15), 0.0),
            confirm=stored_count(data.get("confirm", 2)),
        )
        if out.forgetting == 0.0 or out.gate == 0.0:
            raise ValueError(f"a stored identifier's settings: {data!r}")
        theta = [float(t) for t in data.get("theta", out.theta)]
        p = [[float(v) for v in row] for row in data.get("p", out.p)]
        # numpy on two-element lists cost ≈10 µs per call, 23,870 identifiers at a restart:
        # the same checks and clip in Python (min/max pick the same float np.clip does)
        lo, hi = FACTOR_RANGE
        if len(theta) == 2 and all(math.isfinite(t) for t in theta):
            out.theta = [min(max(t, lo), hi) for t in theta]
        if len(p) == 2 and all(len(row) == 2 for row in p):  # the stored 2 × 2
            if all(math.isfinite(v) for row in p for v in row):
                out.p = p
        elif np.shape(p) == (2, 2) and np.all(np.isfinite(p)):  # anything else as before
            out.p = p
        out.rejected = stored_count(data.get("rejected", 0))
        out.samples = stored_count(data.get("samples", 0))
        return out


PIPE_FACTOR_RANGE = (0.2, 5.0)  # a drawing further off than this is a different network
PIPE_FORGETTING = 0.8  # the pipes do not change; forgetting only sheds the first, noisy steps
PIPE_SIGNIFICANCE = 3.0  # standard errors the estimate must be off before the model follows it
# A smaller correction changes flows by under 1 % (pipe drops are part of the path), while each
# adoption restarts the per-inlet pressure residuals: measured, a late 1 % adoption dipped a
# far inlet 0.4–1 % below its band for two steps.
PIPE_MIN_CHANGE = 0.02
MIN_LOSS_SPREAD = 0.05  # path losses must differ by 5 % of their mean to tell pipes from pump
# Prior spread of one pipe line's factor around the network's common one: a drawing is
# rarely wrong by more than half on one line alone. And the common factor's around the file.
GROUP_PRIOR_SD = 0.3
COMMON_PRIOR_SD = 1.0
# Steps pooled before the lines are learnt apart: one step from the unbalanced start (flows
# at −40…+150 %) made one line 0.74 on a correct drawing; until then, one common factor.
MIN_GROUP_STEPS = 3
RIDGE_ROUNDS = 6  # the scatter, re-estimated from each fit, settles within a few rounds


@dataclass
class PipeIdentifier:
    """Least-squares estimate of the network file's pipe-resistance errors (§3.0.7-3).

    At the measured flows the model offers every street-level inlet ``S − Σ_g α_g·L_gk``:
    the source pressure (pump and heat exchanger, the same for all) minus the pressure lost
    on its path in each pipe group ``g`` (a line of pipes, :func:`~.planner.pipe_lines`) as
    drawn, times the unknown factor ``α_g`` by which the drawing is wrong there. Measured ΔPs
    regressed on the ``L_gk`` *within* one step (centred, so the common source term — and
    any pump error — drops out) give the ``α_g``; steps are pooled with forgetting. Near and
    far inlets must differ, or nothing is learned.

    Lines with thin data are not guessed: every line is pulled toward the common factor
    (prior spread :data:`GROUP_PRIOR_SD`, weighed against the ΔP scatter the data show) and
    the common factor weakly toward the file. With one group, or little spread between the
    lines' data, this is the one network-wide factor. The model follows the estimate only
    when some line is significantly off (see :meth:`update`); what the factors do not
    explain stays for the per-inlet pressure residuals.
    """

    factors: list[float] = field(default_factory=lambda: [1.0])  # adopted, per group
    xtx: list[list[float]] = field(default_factory=lambda: [[0.0]])
    xty: list[float] = field(default_factory=lambda: [0.0])
    yty: float = 0.0
    points: float = 0.0  # pooled degrees of freedom of the centred samples (with forgetting)
    steps: int = 0

    @property
    def factor(self) -> float:
        """The network-wide factor: the groups' factors weighed by the pressure lost in them
        (the one factor when there is one group)."""
        weights = np.diag(np.asarray(self.xtx, dtype=float))
        theta = np.asarray(self.factors, dtype=float)
        if weights.sum() <= 0 or len(weights) != len(theta):
            return float(np.mean(theta))
        return float(weights @ theta / weights.sum())

    def update(
        self,
        modelled_kpa: np.ndarray,
        measured_kpa: np.ndarray,
        losses: np.ndarray | None = None,
        flow_noise: float = 0.0,
    ) -> bool:
        """Learn from one step's offered pressures (model at ``factors``) and measured ones.

        Arrays hold the street-level inlets; ``losses`` (inlets × groups, kPa) the pressure
        lost in each pipe group on the way to each inlet as the model has the pipes now
        (default: one group, from ``modelled_kpa``). Returns whether the adopted factors
        changed: some group's estimate must differ from its factor by more than
        :data:`PIPE_MIN_CHANGE` and by :data:`PIPE_SIGNIFICANCE` standard errors (then the
        model's pipes are rescaled).

        ``flow_noise`` is the common relative error of the measured flows the losses were
        computed at (σ/√n of the meters): the losses are quadratic in flow, so every
        factor is uncertain by at least twice that, pooled over the steps. Errors in the
        regressors do not show in the fit's scatter: a correct estate12 drawing got a
        factor of 0.967 adopted in the first step at 1 % meter noise (pump 0.8 % slow, the
        critical inlet 0.6 % short).
        """
        ok = np.isfinite(modelled_kpa) & np.isfinite(measured_kpa)
        if losses is None:
            losses = -modelled_kpa[:, None]  # the path loss, up to the common source term
        if losses.ndim != 2 or len(losses) != len(ok):
            return False
        ok &= np.all(np.isfinite(losses), axis=1)
        if ok.sum() < 2:
            return False
        self._fit_groups(losses.shape[1])
        drawn = losses[ok] / np.asarray(self.factors)  # as drawn, at these flows
        total = drawn.sum(axis=1)
        if np.ptp(total) <= MIN_LOSS_SPREAD * max(float(np.mean(np.abs(modelled_kpa[ok]))), 1e-9):
            return False
        x = -(drawn - drawn.mean(axis=0))
        y = measured_kpa[ok] - measured_kpa[ok].mean()
        f = PIPE_FORGETTING
        self.xtx = (f * np.asarray(self.xtx) + x.T @ x).tolist()
        self.xty = (f * np.asarray(self.xty) + x.T @ y).tolist()
        self.yty = f * self.yty + float(y @ y)
        self.points = f * self.points + float(ok.sum() - 1)
        self.steps += 1
        new, se = self.estimate()
        steps = self.points / max(float(ok.sum() - 1), 1.0)  # pooled steps, forgetting
        se = np.maximum(se, 2.0 * flow_noise * np.abs(new) / math.sqrt(max(steps, 1.0)))
        old = np.asarray(self.factors)
        off = np.abs(new - old)
        if not np.any((off > PIPE_SIGNIFICANCE * se) & (off > PIPE_MIN_CHANGE * old)):
            return False
        self.factors = new.tolist()
        return True

    def _fit_groups(self, groups: int) -> None:
        """Start over at the present network-wide factor when the grouping changed."""
        if len(self.factors) == groups and np.shape(self.xtx) == (groups, groups):
            return
        common = self.factor if len(self.factors) else 1.0
        self.factors = [common] * groups
        self.xtx = np.zeros((groups, groups)).tolist()
        self.xty = [0.0] * groups
        self.yty = self.points = 0.0

    def threshold(self) -> float:
        """Standard errors a line must be off the common level to keep its own factor: 3 for
        two lines, a little more for many (so one of many noisy lines crossing by chance
        does not bend the model)."""
        return math.sqrt(PIPE_SIGNIFICANCE**2 + 2.0 * math.log(len(self.factors)))

    def estimate(self) -> tuple[np.ndarray, np.ndarray]:
        """Pooled estimate of every group's factor and its standard error.

        First one common factor (the pooled slope over all groups). After
        :data:`MIN_GROUP_STEPS` steps, a ridge regression toward the groups' common level
        (itself free, weakly pulled to the file; the prior's weight is the ΔP scatter over
        the prior spread, the scatter taken from the fit itself). A line keeps its own
        factor only where it is :meth:`threshold` standard errors away from the shared
        level (tested again each time lines leave it); the others share one factor fitted
        together with the lines apart — the model stays with one factor while the data
        agree with it.
        """
        xtx = np.asarray(self.xtx, dtype=float)
        xty = np.asarray(self.xty, dtype=float)
        g = len(xty)
        ones = np.ones(g)
        sxx, sxy = float(ones @ xtx @ ones), float(ones @ xty)
        if sxx <= 0.0 or self.points <= 1.0:
            return np.asarray(self.factors, dtype=float), np.full(g, math.inf)
        floor = 1e-12 * self.yty / self.points
        var = max(max(self.yty - sxy**2 / sxx, 0.0) / (self.points - 1.0), floor)
        theta, se = np.full(g, sxy / sxx), np.full(g, math.sqrt(var / sxx))
        if g > 1 and self.steps >= MIN_GROUP_STEPS:
            fitted = self._ridge(xtx, xty, var)
            if fitted is not None:
                lines, errors = fitted
                apart = np.zeros(g, dtype=bool)
                for _ in range(g):  # the shared level moves as lines leave it: test again
                    more = ~apart & (np.abs(lines - theta) > self.threshold() * errors)
                    if not more.any():
                        break
                    apart |= more
                    theta, se = self._restricted(xtx, xty, apart)
        return np.clip(theta, *PIPE_FACTOR_RANGE), se

    def _restricted(
        self, xtx: np.ndarray, xty: np.ndarray, apart: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Least squares with one factor per line ``apart`` and one shared by the rest."""
        g = len(xty)
        columns = [~apart] + [np.arange(g) == k for k in np.flatnonzero(apart)]
        m = np.column_stack(columns).astype(float)
        m = m[:, m.any(axis=0)]
        a, b = m.T @ xtx @ m, m.T @ xty
        try:
            inverse = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            return np.asarray(self.factors, dtype=float), np.full(g, math.inf)
        params = inverse @ b
        rss = max(self.yty - params @ b, 0.0)
        var = max(rss / max(self.points - len(b), 1.0), 1e-12 * self.yty / self.points)
        return m @ params, m @ np.sqrt(np.maximum(np.diag(var * inverse), 0.0))

    def _ridge(
        self, xtx: np.ndarray, xty: np.ndarray, var: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Every line's factor pulled toward the lines' common level, with standard errors;
        the scatter re-estimated from each fit. None if the system is singular."""
        g = len(xty)
        centring = np.eye(g) - 1.0 / g
        floor = 1e-12 * self.yty / self.points
        theta = cov = None
        for _ in range(RIDGE_ROUNDS):
            a = xtx + var * (centring / GROUP_PRIOR_SD**2 + np.eye(g) / COMMON_PRIOR_SD**2)
            b = xty + var / COMMON_PRIOR_SD**2 * np.ones(g)
            try:
                inverse = np.linalg.inv(a)
            except np.linalg.LinAlgError:
                return None
            theta, cov = inverse @ b, var * inverse
            rss = max(self.yty - 2.0 * theta @ xty + theta @ xtx @ theta, 0.0)
            used = float(np.trace(xtx @ inverse))  # degrees of freedom the fit spends
            var = max(rss / max(self.points - used, 1.0), floor)
        if theta is None or cov is None:
            return None
        return theta, np.sqrt(np.maximum(np.diag(cov), 0.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "factors": list(self.factors),
            "xtx": [list(r) for r in self.xtx],
            "xty": list(self.xty),
            "yty": self.yty,
            "points": self.points,
            "steps": self.steps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipeIdentifier:
        """Read back :meth:`to_dict` (or the one-factor state of earlier versions); a corrupt
        state falls back to the drawing (α = 1), logged. Every number by the loop's one
        rule (:func:`.diagnosis.stored_number`): ``float`` took numeric text and True."""
        try:
            if "factors" in data:
                factors = [stored_number(v) for v in data["factors"]]
                xtx = [[stored_number(v) for v in row] for row in data.get("xtx", [])]
                xty = [stored_number(v) for v in data.get("xty", [])]
            else:  # one network-wide factor
                factors = [stored_number(data.get("factor", 1.0))]
                sxx, sxy = stored_number(data.get("sxx", 0.0)), stored_number(data.get("sxy", 0.0))
                xtx, xty = [[sxx]], [-sxy]
            out = cls(
                factors=factors,
                xtx=xtx,
                xty=xty,
                yty=stored_number(data.get("yty", data.get("syy", 0.0)), 0.0),
                points=stored_number(data.get("points", 0.0), 0.0),
                steps=stored_count(data.get("steps", 0)),  # int() took −1, 2.5 and True
            )
            g = len(out.factors)
            if g == 0 or np.shape(out.xtx) != (g, g) or len(out.xty) != g:
                raise ValueError("the pipes' fit of the wrong shape")
        except (TypeError, ValueError, OverflowError) as err:  # 10**400: OverflowError
            _LOGGER.warning("Stored pipe identification damaged, restarted (α = 1): %s", err)
            return cls()
        out.factors = np.clip(out.factors, *PIPE_FACTOR_RANGE).tolist()
        return out


# Below this share of the offered pressure a change of the learnt pipes is within one ΔP
# reading's noise: the residual is carried over it, not restarted.
CARRY_SHARE = 0.02


def carry_residuals(
    residuals: dict[str, float], planner: HydraulicPlanner, old: np.ndarray, new: np.ndarray
) -> np.ndarray:
    """Carry the per-inlet pressure residuals over a change of the learnt pipes; returns ``new``.

    At this step's flows the old pipes offered ``old`` and the new ones offer ``new`` (kPa
    per inlet). Where they differ by less than :data:`CARRY_SHARE` the residual moves by the
    difference, so model plus residual still say what was measured: restarting it from one
    noisy sample re-planned every valve (district120, rougher pipes: 56 moves and two
    inlets just below the band after a 2 % adoption). A larger change restarts it from this
    step's reading: a residual smoothed over steps at other flows and other pipes is stale
    (carrying those made ×1.5 drawings take 8–12 steps instead of 2–7).
    """
    for iid in list(residuals):
        k = planner.index.get(iid)
        change = float(old[k] - new[k]) if k is not None else math.nan
        if math.isfinite(change) and abs(change) <= CARRY_SHARE * abs(float(new[k])):  # type: ignore[index]
            residuals[iid] += change
        else:
            del residuals[iid]
    return new


def residual_sample_variance(
    measured_kpa: float, modelled_kpa: float, shutoff_kpa: float, flow_count: float, noise: float
) -> float:
    """Variance of one pressure-residual sample (kPa²): the ΔP reading's noise plus what the
    noisy flows do to the model's pressure.

    The model's offered pressure is the pump's shut-off pressure minus everything lost on
    the way at the measured flows (pump curve, pipes): all of it quadratic in flow, so a
    common relative flow error ε moves it by ``2·ε·(shut-off − offered)``. Independent
    meter errors σ on ``flow_count`` equal flows give a common error σ/√n. From the
    unbalanced start (estate12: 5× the offered pressure lost on the way) one cycle's 1 %
    meter noise made the residuals 1–5 % of ΔP, 3–4× the ΔP reading's own noise.
    """
    lost = max(shutoff_kpa - modelled_kpa, 0.0)
    common = noise / math.sqrt(max(flow_count, 1.0))
    return (noise * measured_kpa) ** 2 + (2.0 * common * lost) ** 2


@dataclass
class ResidualScatter:
    """How sure one inlet's smoothed pressure residual is: its variance (kPa²).

    The residual is an exponential smoothing of samples of known variance, so its own
    variance follows the same recursion with the weights squared.
    """

    var: float

    def observe(self, sample_var: float, smoothing: float) -> None:
        """A new sample of variance ``sample_var`` smoothed in with weight ``smoothing``."""
        self.var = (1.0 - smoothing) ** 2 * self.var + smoothing**2 * sample_var

    def shrunk(self, mean: float) -> float:
        """The residual the plan uses: ``mean·max(0, 1 − var/mean²)``.

        A residual as large as its own uncertainty is mostly noise — on a correct drawing
        at 1 % meter noise the first cycle's residuals moved the first plan's flows by
        0.33 % σ across inlets, the largest part of the plan's error — so it is pulled
        toward the network model in proportion (positive-part James–Stein); a residual
        many standard errors off, a real error of pipes or pump there, is used nearly as is.
        """
        if not math.isfinite(self.var):
            return 0.0
        if mean == 0.0:
            return mean
        return mean * max(0.0, 1.0 - self.var / mean**2)


def learned_corrections(model: ModelBased) -> dict[str, Any]:
    """What the self-learning model corrected in the network file, as plain data (§3.0.7-3).

    For the operator (CLI ``balance``, the integration's diagnostics): the pipe-resistance
    factor the measured pressures imply (network-wide, and per pipe line where the lines
    differ), per-inlet pressure residuals left after it (kPa,
    what pipes or pump still get wrong there), and per branch the circuit and valve factors
    (``kv_factor`` = the valve's real Kv over its characteristic's: 0.3 for a blockage to
    30 %) with the number of samples each rests on. Only branches that learnt something
    appear; values are rounded for display. Where no ΔP is read, the valve factors an
    inlet's own drawing error needs (its Kvs or its place in the file, learnt from its
    flow: ``drawing_valve_factors``, 0.25 for a valve whose real Kvs is twice the file's),
    and the resistance in series with its valve that its pipes or its place in the file add
    (``drawing_series_resistances``, kPa/(m³/h)², negative where the file draws too much).
    Inlets a learnt pipe part's factor may stand for — drawn in the wrong place, their flow
    fitting no pipe correction when it was adopted — with those parts' factors
    (``suspected_drawings``, :meth:`~.model_based.ModelBased.drawing_suspects`).
    """
    branches = {
        iid: {
            "circuit_factor": round(ident.circuit_factor, 4),
            "valve_factor": round(ident.valve_factor, 4),
            "kv_factor": round(1.0 / math.sqrt(ident.valve_factor), 4),
            "samples": ident.samples,
        }
        for iid, ident in model.identifiers.items()
        if ident.samples > 0
    }
    return {
        "pipe_resistance_factor": round(model.pipes.factor, 4),
        "pipe_samples": model.pipes.steps,
        "pipe_groups": pipe_group_factors(model),
        "pressure_residuals_kpa": {k: round(v, 2) for k, v in model.residuals.items()},
        "branches": branches,
        "target_multipliers": {k: round(v, 4) for k, v in model.multipliers.items() if v != 1.0},
        "drawing_valve_factors": {k: round(v, 4) for k, v in model.drawing.items()},
        "drawing_series_resistances": {k: round(v, 4) for k, v in model.series.items()},
        "suspected_drawings": model.drawing_suspects(),
    }


def pipe_group_factors(model: ModelBased) -> dict[str, dict[str, float | None]]:
    """Each pipe line's adopted resistance factor over the file's, with the standard error
    of the present estimate (None: no data yet); empty until the lines were learnt apart."""
    pipes, names = model.pipes, model.pipe_part_names()
    if len(pipes.factors) != len(names) or len(names) < 2:
        return {}
    errors = pipes.estimate()[1]
    return {
        name: {
            "factor": round(float(f), 4),
            "std_error": round(float(se), 4) if math.isfinite(se) else None,
        }
        for name, f, se in zip(names, pipes.factors, errors, strict=True)
    }
