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

# scipy.optimize (linprog, lsq_linear) is imported where it is used: a certified generic problem needs no LP

MAX_VERTEX_CANDIDATES = 200_000
CACHE_SIZE = 32      # solved max-margin problems kept (keyed on the data's blake2b digest and shape)
SUPPORT_RTOL = 1e-7  # z_i is a support vector when <u, z_i> <= 1 + SUPPORT_RTOL (u the QP solution)
CERTIFICATE_MARGIN = 10.0  # _bounded_by_multipliers' safety factor over its bound (rounding)


_SOLVED: OrderedDict = OrderedDict()
_FRAMES: OrderedDict = OrderedDict()   # _frame's support vectors, ubar and span basis in coordinates


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


def alignment_gap(a: np.ndarray, b: np.ndarray) -> float:
    """1 - |<a, b>| for unit vectors a, b, as ||a - sign(<a, b>) b||^2 / 2: the same number without the
    cancellation of 1 - |<a, b>|, which floors at the float64 epsilon once the gap falls below 1e-16."""
    sign = 1.0 if float(a @ b) >= 0 else -1.0
    return 0.5 * float(np.sum((a - sign * b) ** 2))


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
    # quadprog takes writable buffers only: a copy (Z may be read-only, e.g. a cached view of bytes, and
    # for d = 1 Z.T is already contiguous, so ascontiguousarray would pass it through)
    C = np.array(A.T, dtype=float, order="C", copy=True)
    try:
        v, _, _, _, lam, _ = quadprog.solve_qp(np.eye(k), np.zeros(k), C, np.ones(n))
    except ValueError as exc:
        if "inconsistent" not in str(exc):   # quadprog: "constraints are inconsistent, no solution"
            raise
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
    from scipy.optimize import lsq_linear

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


def coordinates(Z: np.ndarray, *extra: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows of Z (and each extra vector) in one orthonormal basis of a subspace that holds them all:
    an isometry, so every inner product, norm, rank, span and projection among them is that of the
    originals (up to rounding).  When there are fewer vectors than dimensions (k = n + len(extra) < d) the
    coordinates are the rows of R^T from [Z; extra]^T = Q R (one O(k^2 d) QR; no d x k Q is formed), so
    what follows costs nothing in d; otherwise the rows themselves."""
    W = np.vstack([Z, *[np.atleast_2d(e) for e in extra]]) if extra else Z
    if W.shape[0] < W.shape[1]:
        W = np.linalg.qr(W.T, mode="r").T
    n = len(Z)
    return (W[:n], *(W[n + i] for i in range(len(extra))))


def _frame(Z: np.ndarray, mm: MaxMargin) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S, c, B): the support vectors and ubar in `coordinates`, and an orthonormal basis B (columns) of the
    data's span there: all that `support_spans_data` and `alpha` need, computed once per (data, ubar,
    support) and shared by them (one QR of the n x d data per command, whichever of n and d is larger; the
    cache keeps these small arrays, never the data)."""
    Z = np.ascontiguousarray(Z, dtype=float)
    ubar = np.ascontiguousarray(mm.ubar, dtype=float)
    support = np.ascontiguousarray(mm.support, dtype=np.int64)
    h = hashlib.blake2b(Z.data, digest_size=20)
    h.update(ubar.data)
    h.update(support.data)
    key = (h.digest(), Z.shape)
    if key in _FRAMES:
        _FRAMES.move_to_end(key)
        return _FRAMES[key]
    C, c = coordinates(Z, ubar)
    frame = _FRAMES[key] = (C[support], c.copy(), span_basis(C))
    for a in frame:
        a.flags.writeable = False
    while len(_FRAMES) > CACHE_SIZE:
        _FRAMES.popitem(last=False)
    return frame


def support_spans_data(Z: np.ndarray, mm: MaxMargin) -> tuple[bool, bool]:
    """(support spans R^d, support spans span of the data): Assumption 2.7 and its relaxation (ranks
    computed in the coordinates of `coordinates`: the same singular values, without d)."""
    S, _, basis = _frame(Z, mm)
    r_support = span_basis(S).shape[1]
    return r_support == Z.shape[1], r_support == basis.shape[1]


def alpha(Z: np.ndarray, mm: MaxMargin) -> float:
    """alpha = min_{|xi|=1, xi perp ubar, xi in span(data)} max_{i in S} <xi, z_i>  (Lemma 2.10).

    Exact: with p_i the projections of the support vectors onto ubar-perp (inside the data span),
    f(xi) = max_i <xi, p_i> is convex and positively homogeneous, so 1/alpha is the largest norm
    over the polytope {f <= 1}, attained at a vertex; vertices are where r - 1 of the constraints
    are active (r the dimension of the space).  Returns 0 when the polytope is unbounded, i.e. when
    some xi has <xi, z_i> <= 0 for every support vector (Assumption 2.7 fails).

    Everything is computed in the coordinates of `coordinates(Z, ubar)` (an isometry: the polytope is
    the same up to rotation), so d enters only through one QR when n + 1 < d.
    """
    S, ubar, basis = _frame(Z, mm)                         # basis: k x r (k coordinates)
    proj = basis - np.outer(ubar, ubar @ basis)            # restrict to ubar-perp within the span
    perp = span_basis(proj.T)                              # k x (r-1)
    P = S @ perp                                           # |S| x (r-1) coordinates of p_i
    m = P.shape[1]
    if m == 0:
        return float("inf")  # one-dimensional data: ubar-perp is {0}; every xi-condition is void
    check_vertex_budget(len(P), m)
    if not _bounded_by_multipliers(P, mm.dual[mm.support]) and _recession_direction(P):
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


def _bounded_by_multipliers(P: np.ndarray, lam: np.ndarray) -> bool:
    """A certificate that no xi != 0 has P xi <= 0 (so the polytope {P xi <= 1} is bounded), from the
    KKT multipliers alone, with no linear program.

    The support vectors' projections p_i onto ubar-perp satisfy sum_i lam_i p_i = Pi_perp u = 0
    (stationarity, u parallel to ubar); rho = P^T lam is that sum as computed (plus a bound on its
    rounding).  A unit xi with P xi <= 0 would give sum_i lam_i (P xi)_i = <rho, xi> >= -||rho||, a sum
    of non-positive terms, so |(P xi)_i| <= ||rho|| / min lam for every i and ||P xi|| <= sqrt(|S|)
    ||rho|| / min lam: impossible when the smallest singular value of P is larger (by the factor
    CERTIFICATE_MARGIN).  Generic data (every multiplier clearly positive, P of full column rank) is
    certified here; False means "not certified" (a multiplier ~0, P rank-deficient, or a ubar that is not
    the KKT point's) and the LPs decide."""
    k, m = P.shape
    if k < m or lam.size != k or not np.all(np.isfinite(lam)) or lam.min() <= 0:
        return False
    rho = float(np.linalg.norm(P.T @ lam)) + k * np.finfo(float).eps * float(lam.sum() * np.abs(P).max())
    sigma_min = float(np.linalg.svd(P, compute_uv=False)[-1])
    return sigma_min * float(lam.min()) > CERTIFICATE_MARGIN * math.sqrt(k) * rho


def _recession_direction(P: np.ndarray) -> bool:
    """True if some xi != 0 has P xi <= 0 (the polytope {P xi <= 1} is unbounded)."""
    from scipy.optimize import linprog

    m = P.shape[1]
    # A non-zero xi of the cone {P xi <= 0} has some coordinate of some sign: scale it to c.xi = 1.
    for c in np.vstack([np.eye(m), -np.eye(m)]):
        res = linprog(np.zeros(m), A_ub=P, b_ub=np.zeros(len(P)), A_eq=c[None], b_eq=[1.0],
                      bounds=[(None, None)] * m, method="highs")
        if res.status == 0:
            return True
    return False
