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

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .model_based import ModelBased

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
        for phi, y in rows:
            self._rls(phi, y)
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

    def _rls(self, phi: tuple[float, float], y: float) -> None:
        """One RLS step with forgetting, bounded covariance and bounded factors.

        Two parameters: written out in floats (numpy's per-call overhead on 2×2 arrays was
        most of the identification's time on a 1,240-inlet network).
        """
        f0, f1 = phi
        (p00, p01), (p10, p11) = self.p
        lam = self.forgetting
        pf0, pf1 = p00 * f0 + p01 * f1, p10 * f0 + p11 * f1  # P φ
        fp0, fp1 = f0 * p00 + f1 * p10, f0 * p01 + f1 * p11  # φᵀ P
        denom = lam + (fp0 * f0 + fp1 * f1)
        g0, g1 = pf0 / denom, pf1 / denom
        t0, t1 = self.theta
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
        lo, hi = FACTOR_RANGE
        self.theta = [min(max(t0, lo), hi), min(max(t1, lo), hi)]
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
        """Read back :meth:`to_dict`; a corrupt state falls back to the prior."""
        out = cls(
            a0=float(data["a0"]),
            forgetting=float(data.get("forgetting", 0.95)),
            gate=float(data.get("gate", 0.15)),
            confirm=int(data.get("confirm", 2)),
        )
        theta = [float(t) for t in data.get("theta", out.theta)]
        p = [[float(v) for v in row] for row in data.get("p", out.p)]
        if len(theta) == 2 and all(math.isfinite(t) for t in theta):
            out.theta = [float(np.clip(t, *FACTOR_RANGE)) for t in theta]
        if np.shape(p) == (2, 2) and np.all(np.isfinite(p)):
            out.p = p
        out.rejected = int(data.get("rejected", 0))
        out.samples = int(data.get("samples", 0))
        return out


PIPE_FACTOR_RANGE = (0.2, 5.0)  # a drawing further off than this is a different network
PIPE_FORGETTING = 0.8  # the pipes do not change; forgetting only sheds the first, noisy steps
PIPE_SIGNIFICANCE = 3.0  # standard errors the estimate must be off before the model follows it
# A smaller correction changes flows by under 1 % (pipe drops are part of the path), while each
# adoption restarts the per-inlet pressure residuals: measured, a late 1 % adoption dipped a
# far inlet 0.4–1 % below its band for two steps.
PIPE_MIN_CHANGE = 0.02
MIN_LOSS_SPREAD = 0.05  # path losses must differ by 5 % of their mean to tell pipes from pump


@dataclass
class PipeIdentifier:
    """Least-squares estimate of the network file's pipe-resistance error (§3.0.7-3).

    At the measured flows the model offers every street-level inlet ``S − α·L₀ₖ``: the
    source pressure (pump and heat exchanger, the same for all) minus that inlet's path
    loss through the pipes ``L₀ₖ`` as drawn, times the unknown factor ``α`` by which the
    drawing is wrong. Measured ΔPs regressed on ``L₀ₖ`` *within* one step (centred, so the
    common source term — and any pump error — drops out) give ``−α`` as the slope; steps
    are pooled with forgetting. Near and far inlets must differ, or nothing is learned.
    What α does not explain stays for the per-inlet pressure residuals.
    """

    factor: float = 1.0  # adopted: what the planner's models use
    sxx: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0
    points: float = 0.0  # pooled degrees of freedom of the centred samples (with forgetting)
    steps: int = 0

    def update(self, modelled_kpa: np.ndarray, measured_kpa: np.ndarray) -> bool:
        """Learn from one step's offered pressures (model at ``factor``) and measured ones.

        Arrays hold the street-level inlets with a usable ΔP reading. Returns whether the
        adopted factor changed: the pooled estimate must differ from it by more than
        :data:`PIPE_MIN_CHANGE` and
        by :data:`PIPE_SIGNIFICANCE` standard errors (then the model's pipes are rescaled).
        """
        ok = np.isfinite(modelled_kpa) & np.isfinite(measured_kpa)
        if ok.sum() < 2:
            return False
        # Path loss as drawn, up to the common source term: L₀ₖ = (S − model_k)/α.
        loss = -modelled_kpa[ok] / self.factor
        x = loss - loss.mean()
        y = measured_kpa[ok] - measured_kpa[ok].mean()
        spread = float(np.ptp(loss))
        if spread <= MIN_LOSS_SPREAD * max(float(np.mean(np.abs(modelled_kpa[ok]))), 1e-9):
            return False
        self.sxx = PIPE_FORGETTING * self.sxx + float(x @ x)
        self.sxy = PIPE_FORGETTING * self.sxy + float(x @ y)
        self.syy = PIPE_FORGETTING * self.syy + float(y @ y)
        self.points = PIPE_FORGETTING * self.points + float(ok.sum() - 1)
        self.steps += 1
        new = float(np.clip(-self.sxy / self.sxx, *PIPE_FACTOR_RANGE))
        floor = PIPE_MIN_CHANGE * self.factor
        if abs(new - self.factor) <= max(PIPE_SIGNIFICANCE * self.std_error(), floor):
            return False
        self.factor = new
        return True

    def std_error(self) -> float:
        """Standard error of the pooled slope: noisy ΔPs (and what α does not explain) widen it.

        The factor is adopted only beyond a few of these, so meter noise does not make the
        planner's pipes — and with them every valve — wander from step to step.
        """
        if self.sxx <= 0.0 or self.points <= 1.0:
            return math.inf
        rss = max(self.syy - self.sxy**2 / self.sxx, 0.0)
        return math.sqrt(rss / (self.points - 1.0) / self.sxx)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "factor": self.factor,
            "sxx": self.sxx,
            "sxy": self.sxy,
            "syy": self.syy,
            "points": self.points,
            "steps": self.steps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipeIdentifier:
        """Read back :meth:`to_dict`; a corrupt state falls back to the drawing (α = 1)."""
        try:
            out = cls(
                factor=float(data.get("factor", 1.0)),
                sxx=float(data.get("sxx", 0.0)),
                sxy=float(data.get("sxy", 0.0)),
                syy=float(data.get("syy", 0.0)),
                points=float(data.get("points", 0.0)),
                steps=int(data.get("steps", 0)),
            )
        except (TypeError, ValueError):
            return cls()
        values = (out.factor, out.sxx, out.sxy, out.syy, out.points)
        if not all(math.isfinite(v) for v in values) or min(out.sxx, out.syy, out.points) < 0:
            return cls()
        out.factor = float(np.clip(out.factor, *PIPE_FACTOR_RANGE))
        return out


def learned_corrections(model: ModelBased) -> dict[str, Any]:
    """What the self-learning model corrected in the network file, as plain data (§3.0.7-3).

    For the operator (CLI ``balance``, the integration's diagnostics): the pipe-resistance
    factor the measured pressures imply, per-inlet pressure residuals left after it (kPa,
    what pipes or pump still get wrong there), and per branch the circuit and valve factors
    (``kv_factor`` = the valve's real Kv over its characteristic's: 0.3 for a blockage to
    30 %) with the number of samples each rests on. Only branches that learnt something
    appear; values are rounded for display.
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
        "pressure_residuals_kpa": {k: round(v, 2) for k, v in model.residuals.items()},
        "branches": branches,
        "target_multipliers": {k: round(v, 4) for k, v in model.multipliers.items() if v != 1.0},
    }
