"""Pipe friction: Darcy–Weisbach with Colebrook–White, laminar below Re 2,000.

The solver needs a pipe's pressure drop *and* its derivative with respect to flow (Newton),
so this module returns the friction factor together with its elasticity
``s = d ln λ / d ln Re``; with it the Jacobian is exact and Newton converges quadratically.
"""

from __future__ import annotations

import math

import numpy as np

LAMINAR_RE = 2000.0  # below: λ = 64/Re (Hagen–Poiseuille)
TURBULENT_RE = 4000.0  # above: Colebrook–White; in between λ is interpolated linearly in Re
ROUGHNESS_DIVISOR = 3.7  # ε/(3.7·d) as Colebrook wrote it (pandapipes uses 3.71; see docs)
_COLEBROOK_STEPS = 2
_BETA = 2.0 * 2.51 / math.log(10.0)


def friction_factor(reynolds: np.ndarray, rel_roughness: np.ndarray) -> np.ndarray:
    """Darcy friction factor: laminar 64/Re, Colebrook–White above Re 4,000, blended between.

    Colebrook is solved by Newton's method from the Swamee–Jain explicit estimate.
    """
    return friction_with_slope(reynolds, rel_roughness)[0]


def friction_with_slope(
    reynolds: np.ndarray, rel_roughness: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Friction factor λ and its elasticity ``d ln λ / d ln Re`` (−1 laminar, ≈−0.25…0 turbulent).

    The transition band is a straight line in Re between the laminar value at 2,000 and the
    Colebrook value at 4,000, so λ is continuous and Newton never meets a jump.
    """
    re = np.maximum(np.asarray(reynolds, dtype=float), 1e-300)
    rough = np.asarray(rel_roughness, dtype=float) / ROUGHNESS_DIVISOR
    if re.size and re.min() >= TURBULENT_RE:  # the usual case: every pipe turbulent
        return _colebrook(re, rough)
    lam_t, slope_t = _colebrook(np.maximum(re, TURBULENT_RE), rough)
    lam_edge = 64.0 / LAMINAR_RE
    blend = (re - LAMINAR_RE) / (TURBULENT_RE - LAMINAR_RE)
    lam_mid = lam_edge + blend * (lam_t - lam_edge)
    laminar = re < LAMINAR_RE
    middle = ~laminar & (re < TURBULENT_RE)
    lam = np.where(laminar, 64.0 / re, np.where(middle, lam_mid, lam_t))
    slope_mid = re / (TURBULENT_RE - LAMINAR_RE) * (lam_t - lam_edge) / lam_mid
    slope = np.where(laminar, -1.0, np.where(middle, slope_mid, slope_t))
    return lam, slope


def _colebrook(re: np.ndarray, rough: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colebrook–White λ and d ln λ/d ln Re for ``re`` ≥ 4,000 and ``rough`` = ε/(3.7·d).

    In y = 1/√λ the equation is G(y) = y + 2·log10(rough + 2.51·y/Re) = 0 with
    G'(y) = 1 + β, β = 2·2.51/(ln 10·Re·u), u = rough + 2.51·y/Re. Newton from the
    Swamee–Jain estimate (within ~1 %) is quadratic: one step leaves 1.4e-5, two leave
    5e-12 relative over Re 4,000…1e8 and ε/d 0…0.05. Swamee–Jain alone moves far inlets'
    flows by ~0.5 % on long networks. Differentiating G(y(Re), Re) = 0 gives
    d ln λ/d ln Re = −2β/(1+β).
    """
    y = -2.0 * np.log10(rough + 5.74 * re**-0.9)
    c = _BETA / re
    for _ in range(_COLEBROOK_STEPS):
        u = rough + 2.51 * y / re
        y -= (y + 2.0 * np.log10(u)) / (1.0 + c / u)
    beta = c / (rough + 2.51 * y / re)
    return y**-2, -2.0 * beta / (1.0 + beta)


def pipe_law(
    q: np.ndarray, k_friction: np.ndarray, k_minor: np.ndarray, q_per_re: np.ndarray, rr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pressure drop ``F(Q)`` (Pa) of pipes at flows ``q`` (m³/s) and its derivative ``dF/dQ``.

    ``F = (λ·L/d + ζ)·ρ/(2A²)·Q·|Q|`` with ``k_friction = L/d·ρ/(2A²)``,
    ``k_minor = ζ·ρ/(2A²)``, ``q_per_re = ν·A/d`` (the flow at Re = 1) and ``rr = ε/d``.
    λ·|Q| is formed as (λ·Re)·q_per_re so zero flow gives the finite laminar slope
    (Hagen–Poiseuille) instead of 0·∞.
    """
    absq = np.abs(q)
    re = absq / q_per_re
    lam, slope = friction_with_slope(re, rr)
    lam_re = np.where(re < LAMINAR_RE, 64.0, lam * re)
    friction = k_friction * lam_re * q_per_re  # = k_friction·λ·|Q|
    value = (friction + k_minor * absq) * q
    deriv = friction * (2.0 + slope) + 2.0 * k_minor * absq
    return value, deriv
