"""The homogeneous hard-margin SVM of the paper and the constant alpha of Lemma 2.10.

max-margin:  min ||u||^2  s.t.  <u, z_i> >= 1  (no intercept, no slack), so that
ubar = u/||u|| and gamma = 1/||u||.  A linear SVM with an intercept or a finite C is a different
problem and gives a different ubar.
"""
from __future__ import annotations

import hashlib
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import quadprog
from scipy.optimize import linprog, lsq_linear

MAX_VERTEX_CANDIDATES = 200_000
CACHE_SIZE = 32      # solved max-margin problems kept (keyed on the data's blake2b digest and shape)
SUPPORT_RTOL = 1e-7  # z_i is a support vector when <u, z_i> <= 1 + SUPPORT_RTOL (u the QP solution)


_SOLVED: OrderedDict = OrderedDict()


class NotSeparable(ValueError):
    """No u with <u, z_i> > 0 for every i: the data is not separable through the origin."""


class TooManyVertices(ValueError):
    """alpha's exact vertex enumeration would visit more than MAX_VERTEX_CANDIDATES vertex candidates."""


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
    """Exact hard-margin solution by quadprog's dual active-set method (Goldfarb-Idnani), in the
    smaller of the two dimensions: d when n >= d, else the n-dimensional row span of Z (u = Q v with
    Q an orthonormal basis containing every z_i, so min ||v||^2 s.t. (Z Q) v >= 1 is the same problem
    with the same multipliers; see `_solve`).  Cached on the data's bytes (blake2b): a command that
    asks twice solves once."""
    Z = np.ascontiguousarray(Z, dtype=float)
    if Z.ndim != 2:
        raise ValueError(f"max_margin needs a 2-D array of z_i = y_i x_i; got shape {Z.shape}")
    key = (hashlib.blake2b(Z.tobytes(), digest_size=20).digest(), Z.shape)
    if key in _SOLVED:
        _SOLVED.move_to_end(key)
        return _SOLVED[key]
    mm = _SOLVED[key] = _solve(Z)
    while len(_SOLVED) > CACHE_SIZE:
        _SOLVED.popitem(last=False)
    return mm


def _solve(Z: np.ndarray) -> MaxMargin:
    """quadprog on min ||v||^2 s.t. A v >= 1: A = Z in the primal (n >= d); for n < d, A = R^T from
    Z^T = Q R (Q: d x n orthonormal, u = Q v), since Z Q = R^T.  In the reduced form u is recovered as
    Z^T lambda (= Q R lambda = Q v by the reduced stationarity), so no d x n Q is ever formed."""
    n, d = Z.shape
    A = np.linalg.qr(Z.T, mode="r").T if n < d else Z
    k = A.shape[1]
    try:
        v, _, _, _, lam, _ = quadprog.solve_qp(np.eye(k), np.zeros(k), np.ascontiguousarray(A.T), np.ones(n))
    except ValueError as exc:  # quadprog: "constraints are inconsistent, no solution"
        raise NotSeparable(str(exc)) from None
    mm = _certify(Z, Z.T @ lam if n < d else v, lam)
    for a in (mm.ubar, mm.support, mm.dual):
        a.flags.writeable = False                    # shared by every caller of the cache
    return mm


def max_margin_lsd(Z: np.ndarray) -> MaxMargin:
    """Second method: the least-distance problem min ||u|| s.t. Zu >= 1 as a nonnegative least squares problem
    (Lawson & Hanson, ch. 23), solved by bounded-variable least squares (scipy's BVLS).

    min ||E l - f|| over l >= 0 with E = [Z^T; 1^T], f = e_{d+1}; the residual r = E l - f gives
    u = -r[:d] / r[d]; r = 0 means infeasible.  (Not scipy.optimize.nnls: scipy 1.15's, the newest for
    Python 3.10, returns a wrong solution on one-feature data.)
    """
    n, d = Z.shape
    E = np.vstack([Z.T, np.ones((1, n))])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    lam = lsq_linear(E, f, bounds=(0, np.inf), method="bvls", tol=1e-15, max_iter=50 * (n + d)).x
    r = E @ lam - f
    if abs(r[-1]) < 1e-12:
        raise NotSeparable("least-distance problem has zero residual")
    u = -r[:d] / r[-1]
    return _certify(Z, u, lam / -r[-1])


def span_basis(V: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (columns) of the row span of V."""
    if len(V) == 0:
        return np.zeros((V.shape[1], 0))
    s, vt = _right_svd(V)
    return vt[s > rtol * s[0]].T


def _right_svd(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Singular values and right singular vectors of V; a tall V through its d x d QR factor R first
    (V = Q R has R's singular values and right vectors), so it costs O(n d^2), not an n x d U."""
    if V.shape[0] > V.shape[1]:
        V = np.linalg.qr(V, mode="r")
    _, s, vt = np.linalg.svd(V, full_matrices=False)
    return s, vt


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
    check_vertex_budget(len(P), m)
    if _recession_direction(P):
        return 0.0
    best = 0.0
    for rows in itertools.combinations(range(len(P)), m):
        A = P[list(rows)]
        if abs(np.linalg.det(A)) < 1e-12 * max(1.0, np.abs(A).max() ** m):
            continue
        xi = np.linalg.solve(A, np.ones(m))
        if np.all(P @ xi <= 1.0 + 1e-9):
            best = max(best, float(np.linalg.norm(xi)))
    return 1.0 / best if best > 0 else 0.0


def vertex_candidates(n_support: int, m: int) -> int:
    """How many (m)-subsets of the support vectors alpha's vertex enumeration visits."""
    return math.comb(n_support, m)


def check_vertex_budget(n_support: int, m: int) -> None:
    """Refuse, before any work, an enumeration beyond MAX_VERTEX_CANDIDATES (one line)."""
    count = vertex_candidates(n_support, m)
    if count > MAX_VERTEX_CANDIDATES:
        shown = f"{count:.3g}" if count < 10**300 else "more than 1e300"
        raise TooManyVertices(f"alpha: {n_support} support vectors in dimension {m + 1} give {shown} vertex "
                              f"candidates (limit {MAX_VERTEX_CANDIDATES:,}); alpha is computed exactly only for "
                              f"data with few support vectors (generic data has at most d)")


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
