"""Global gradient algorithm (Todini & Pilati 1988) on the expanded network.

Unknowns: the flow ``Q`` of every link and the pressure ``p`` of every free node. With
``F(Q)`` the link laws (``p_start − p_end = F(Q)``) and ``D = dF/dQ``, one Newton step is

    (A·D⁻¹·Aᵀ) p⁺ = Aᵀ·(Q − D⁻¹F)          (a weighted graph Laplacian, sparse, SPD)
    Q⁺ = Q − D⁻¹F + D⁻¹·(p⁺_start − p⁺_end)

so after every step mass balances exactly at every node and only a node-sized sparse system
is solved; loops cost nothing extra. The sparsity pattern never changes, so the position of
every link's four matrix entries is computed once and each step only scatters new weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .friction import pipe_law

NOISE = 1e-13  # relative rounding of node pressures a flow update may carry (~500 ulp)
STALL_DROP = 10.0  # a ``stall`` window must cut the worst step ratio at least this much


class Laplacian:
    """``A·W·Aᵀ`` over the free nodes, with its structure and elimination order fixed once.

    The matrix is symmetric positive definite (a connected weighted graph with one node
    grounded), so it is factorised without pivoting, in reverse Cuthill–McKee order computed
    once on the structure. On these tree-like graphs that order fills in no more than SuperLU's
    own minimum-degree ordering, and not re-ordering every Newton step saves a third of the
    factorisation time.
    """

    def __init__(self, start: np.ndarray, end: np.ndarray, n_nodes: int, fixed: int) -> None:
        from scipy.sparse import csc_matrix, csr_matrix
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        free = np.ones(n_nodes, dtype=bool)
        free[fixed] = False
        self.free = free
        self.n = n = int(free.sum())
        index = np.cumsum(free) - 1
        links = np.arange(len(start))
        fs, fe = free[start], free[end]
        both = fs & fe
        s, e = index[start], index[end]
        rows = np.concatenate([s[fs], e[fe], s[both], e[both]])
        cols = np.concatenate([s[fs], e[fe], e[both], s[both]])
        self.link = np.concatenate([links[fs], links[fe], links[both], links[both]])
        self.sign = np.concatenate([np.ones(fs.sum() + fe.sum()), -np.ones(2 * both.sum())])
        # Unique entries in column order: the CSC (= CSR, it is symmetric) pattern.
        keys, first = np.unique(cols * n + rows, return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // n, minlength=n))])
        indptr = indptr.astype(np.int32)
        pattern = csr_matrix((np.ones(len(keys)), (keys % n).astype(np.int32), indptr), (n, n))
        order = reverse_cuthill_mckee(pattern, symmetric_mode=True).astype(np.int64)
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        moved = position[keys // n] * n + position[keys % n]
        sort = np.argsort(moved)
        rank = np.empty(len(keys), dtype=np.int64)
        rank[sort] = np.arange(len(keys))
        self.slot = rank[first]
        self.nnz = len(keys)
        keys = moved[sort]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // n, minlength=n))])
        indices = (keys % n).astype(np.int32)
        self.matrix = csc_matrix((np.zeros(self.nnz), indices, indptr.astype(np.int32)), (n, n))
        self.free_nodes = np.flatnonzero(free)[order]

    def solve(self, w: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A·diag(w)·Aᵀ x = rhs`` (rhs and result over all nodes; fixed node → 0)."""
        from scipy.sparse.linalg import splu

        out = np.zeros(len(self.free))
        if not self.n:
            return out
        self.matrix.data[:] = np.bincount(
            self.slot, weights=w[self.link] * self.sign, minlength=self.nnz
        )
        lu = splu(
            self.matrix,
            permc_spec="NATURAL",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
        out[self.free_nodes] = lu.solve(rhs[self.free_nodes])
        return out


@dataclass
class PipeData:
    """Constants of the pipe links (the first ``2·pipes`` links) for :func:`~.friction.pipe_law`."""

    area: np.ndarray  # m²
    k_friction: np.ndarray
    k_minor: np.ndarray
    q_per_re: np.ndarray
    rel_roughness: np.ndarray


@dataclass
class LinkLaws:
    """Every link's law for one solve: ``F(Q) = a·Q|Q| − g [+ K·(Q − Q_t)⁺]``, pipes aside."""

    pipes: PipeData
    a: np.ndarray  # Pa/(m³/s)² (0 on pipe links: their law is pipe_law)
    g: np.ndarray  # Pa
    q_floor: np.ndarray  # m³/s: below it the derivative is taken at this flow (never 0)
    d_min: float  # Pa/(m³/s): no link's derivative is taken below this (see ``newton``)
    regulated: np.ndarray  # link indices with a regulating (steep) part
    target: np.ndarray  # m³/s, aligned with ``regulated``
    steep: np.ndarray  # Pa/(m³/s), aligned with ``regulated``

    def evaluate(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``F(Q)`` in Pa and ``dF/dQ`` in Pa/(m³/s) for every link."""
        absq = np.abs(q)
        value = self.a * q * absq - self.g
        deriv = 2.0 * self.a * np.maximum(absq, self.q_floor)
        n = len(self.pipes.k_friction)
        pd = self.pipes
        value[:n], deriv[:n] = pipe_law(
            q[:n], pd.k_friction, pd.k_minor, pd.q_per_re, pd.rel_roughness
        )
        if len(self.regulated):
            over = q[self.regulated] - self.target
            value[self.regulated] += self.steep * np.maximum(over, 0.0)
            deriv[self.regulated] += np.where(over > 0.0, self.steep, 0.0)
        return value, np.maximum(deriv, self.d_min)

    def invert(self, links: np.ndarray, dp: np.ndarray) -> np.ndarray:
        """Flow of non-pipe ``links`` under pressure drop ``dp`` (exact inverse of their law).

        Used for warm starts: a valve that just closed starts at its new small flow instead
        of its old one, which would cost Newton a dozen halvings.
        """
        a = self.a[links]
        x = dp + self.g[links]
        q = np.sign(x) * np.sqrt(np.abs(x) / a)
        if len(self.regulated):
            pos = np.searchsorted(self.regulated, links)
            pos = np.minimum(pos, len(self.regulated) - 1)
            hit = self.regulated[pos] == links
            t = np.where(hit, self.target[pos], 0.0)
            at_target = a * t * np.abs(t) - self.g[links]
            beyond = hit & (q > t)
            steep = np.where(hit, self.steep[pos], 1.0)
            q = np.where(beyond, t + (dp - at_target) / steep, q)
        return np.asarray(q, dtype=float)


@dataclass
class NewtonOutcome:
    """Where the iteration ended."""

    q: np.ndarray
    p: np.ndarray
    iterations: int
    converged: bool
    last_change: float  # m³/s, largest flow change of the last step
    worst_link: int


def newton(
    laws: LinkLaws,
    laplacian: Laplacian,
    topo: Any,
    q: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    q_ref: float,
    stall: int | None = None,
) -> NewtonOutcome:
    """Iterate until the flows have settled to ``tol·q_ref``.

    Settled means: no link changed by more than ``tol·q_ref`` in the last step, or Newton is
    visibly in its quadratic phase and the next change it would make, ``e³/e_prev²`` in terms
    of the last two changes, is ten times below that (saves the step that only confirms).

    A link's new flow is formed from node pressures as ``w·Δp``; pressures carry a rounding
    error of ~1e-16·|p|, so a link of very low resistance (large ``w``) cannot be resolved
    better than ``w·1e-16·|p|``. Such a link passes once its change is below
    ``NOISE·w·max|p|`` — the precision double arithmetic allows — and ``d_min`` keeps ``w``
    from being absurd (an ideal pressure source would make it infinite).

    ``stall`` (iterations, or None): give up early, not converged, once the last ``stall``
    steps did not cut the worst ratio by :data:`STALL_DROP`. Newton that converges cuts it
    by orders of magnitude per step, or halves it while it walks in from afar; one caught in
    a limit cycle (ideal regulators flipping between their branches when the flows asked
    cannot all be delivered) keeps the same ratio to ``max_iter``. For callers that have a
    fallback for a failed solve (the planner's ideal network): the iterations saved are
    its whole cost.
    """
    start, end, n = topo.start, topo.end, topo.n_hyd
    p = np.zeros(n)
    change, worst, previous = np.inf, -1, np.inf
    ratios: list[float] = []
    for it in range(1, max_iter + 1):
        value, deriv = laws.evaluate(q)
        w = 1.0 / deriv
        y = q - w * value
        rhs = np.bincount(end, weights=y, minlength=n) - np.bincount(start, weights=y, minlength=n)
        p = laplacian.solve(w, rhs)
        q_new = y + w * (p[start] - p[end])
        allowed = tol * q_ref + NOISE * w * float(np.max(np.abs(p), initial=0.0))
        ratio = np.abs(q_new - q) / allowed
        worst = int(np.argmax(ratio))
        change = float(abs(q_new[worst] - q[worst]))
        q = q_new
        now = float(ratio[worst])
        if not np.isfinite(now):
            break
        if now <= 1.0 or (np.isfinite(previous) and now < previous and now**3 <= 0.1 * previous**2):
            return NewtonOutcome(q, p, it, True, change, worst)
        previous = now
        ratios.append(now)
        if stall is not None and len(ratios) > stall and now * STALL_DROP > ratios[-1 - stall]:
            return NewtonOutcome(q, p, it, False, change, worst)
    return NewtonOutcome(q, p, max_iter, False, change, worst)
