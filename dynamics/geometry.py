"""The homogeneous hard-margin SVM of the paper and the constant alpha of Lemma 2.10.

max-margin:  min ||u||^2  s.t.  <u, z_i> >= 1  (no intercept, no slack), so that
ubar = u/||u|| and gamma = 1/||u||.  A linear SVM with an intercept or a finite C is a different
problem and gives a different ubar.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import quadprog
from scipy.optimize import linprog, nnls

MAX_VERTEX_CANDIDATES = 200_000
SUPPORT_RTOL = 1e-7  # z_i is a support vector when <u, z_i> <= 1 + SUPPORT_RTOL (u the QP solution)


class NotSeparable(ValueError):
    """No u with <u, z_i> > 0 for every i: the data is not separable through the origin."""


@dataclass(frozen=True)
class MaxMargin:
    ubar: np.ndarray      # unit max-margin direction
    gamma: float          # max margin
    support: np.ndarray   # 0-based indices of the support vectors
    dual: np.ndarray      # lambda_i >= 0 with u = sum_i lambda_i z_i (u = ubar / gamma)
    kkt_residual: float   # max violation of the KKT conditions, relative to ||u||


def kkt_residual(Z: np.ndarray, u: np.ndarray, lam: np.ndarray) -> float:
    """Largest violation of stationarity, primal and dual feasibility and complementarity."""
    slack = Z @ u - 1.0
    scale = max(1.0, float(np.linalg.norm(u)))
    return max(
        float(np.linalg.norm(u - Z.T @ lam)) / scale,
        float(max(0.0, -slack.min())),
        float(max(0.0, -lam.min())),
        float(np.max(np.abs(lam * slack))) / scale,
    )


def _certify(Z: np.ndarray, u: np.ndarray, lam: np.ndarray) -> MaxMargin:
    norm = float(np.linalg.norm(u))
    support = np.flatnonzero(Z @ u <= 1.0 + SUPPORT_RTOL)
    return MaxMargin(u / norm, 1.0 / norm, support, lam, kkt_residual(Z, u, lam))


def max_margin(Z: np.ndarray) -> MaxMargin:
    """Exact hard-margin solution by quadprog's dual active-set method (Goldfarb-Idnani)."""
    n, d = Z.shape
    try:
        u, _, _, _, lam, _ = quadprog.solve_qp(np.eye(d), np.zeros(d), Z.T.copy(), np.ones(n))
    except ValueError as exc:  # quadprog: "constraints are inconsistent, no solution"
        raise NotSeparable(str(exc)) from None
    return _certify(Z, u, lam)


def max_margin_nnls(Z: np.ndarray) -> MaxMargin:
    """Second method: the least-distance problem min ||u|| s.t. Zu >= 1 by Lawson-Hanson NNLS.

    min ||E l - f|| over l >= 0 with E = [Z^T; 1^T], f = e_{d+1}; the residual r = E l - f gives
    u = -r[:d] / r[d] (Lawson & Hanson, ch. 23); r = 0 means infeasible.
    """
    n, d = Z.shape
    E = np.vstack([Z.T, np.ones((1, n))])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    lam, _ = nnls(E, f, maxiter=50 * (n + d))
    r = E @ lam - f
    if abs(r[-1]) < 1e-12:
        raise NotSeparable("least-distance problem has zero residual")
    u = -r[:d] / r[-1]
    return _certify(Z, u, lam / -r[-1])


def span_basis(V: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (columns) of the row span of V."""
    if len(V) == 0:
        return np.zeros((V.shape[1], 0))
    _, s, vt = np.linalg.svd(V, full_matrices=False)
    return vt[s > rtol * s[0]].T


def support_spans_data(Z: np.ndarray, mm: MaxMargin) -> tuple[bool, bool]:
    """(support spans R^d, support spans span of the data): Assumption 2.7 and its relaxation."""
    d = Z.shape[1]
    r_support = span_basis(Z[mm.support]).shape[1]
    return r_support == d, r_support == span_basis(Z).shape[1]


def alpha(Z: np.ndarray, mm: MaxMargin) -> float:
    """alpha = min_{|xi|=1, xi perp ubar, xi in span(data)} max_{i in S} <xi, z_i>  (Lemma 2.10).

    Exact: with p_i the projections of the support vectors onto ubar-perp (inside the data span),
    f(xi) = max_i <xi, p_i> is convex and positively homogeneous, so 1/alpha is the largest norm
    over the polytope {f <= 1}, attained at a vertex; vertices are where r - 1 of the constraints
    are active (r the dimension of the space).  Returns 0 when the polytope is unbounded, i.e. when
    some xi has <xi, z_i> <= 0 for every support vector (Assumption 2.7 fails).
    """
    basis = span_basis(Z)                                  # d x r
    proj = basis - np.outer(mm.ubar, mm.ubar @ basis)      # restrict to ubar-perp within the span
    perp = span_basis(proj.T)                                # d x (r-1)
    P = Z[mm.support] @ perp                               # |S| x (r-1) coordinates of p_i
    m = P.shape[1]
    if m == 0:
        return float("inf")  # one-dimensional data: ubar-perp is {0}; every xi-condition is void
    if _recession_direction(P):
        return 0.0
    if math.comb(len(P), m) > MAX_VERTEX_CANDIDATES:
        raise ValueError(f"alpha: {len(P)} support vectors in dimension {m + 1} give too many vertex candidates "
                         f"(> {MAX_VERTEX_CANDIDATES}); generic data has at most d support vectors")
    best = 0.0
    for rows in itertools.combinations(range(len(P)), m):
        A = P[list(rows)]
        if abs(np.linalg.det(A)) < 1e-12 * max(1.0, np.abs(A).max() ** m):
            continue
        xi = np.linalg.solve(A, np.ones(m))
        if np.all(P @ xi <= 1.0 + 1e-9):
            best = max(best, float(np.linalg.norm(xi)))
    return 1.0 / best if best > 0 else 0.0


def _recession_direction(P: np.ndarray) -> bool:
    """True if some xi != 0 has P xi <= 0 (the polytope {P xi <= 1} is unbounded)."""
    m = P.shape[1]
    # A non-zero xi of the cone {P xi <= 0} has some coordinate of some sign: scale it to c.xi = 1.
    for c in np.vstack([np.eye(m), -np.eye(m)]):
        res = linprog(np.zeros(m), A_ub=P, b_ub=np.zeros(len(P)), A_eq=c[None], b_eq=[1.0],
                      bounds=[(None, None)] * m, method="highs")
        if res.status == 0:
            return True
    return False
