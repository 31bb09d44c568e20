"""Lemmas 2.10 and 2.11 (Section 2.2, proofs in Appendix B).

Lemma 2.10: "Under Assumption 2.7, [...] with probability 1,
  alpha := min_{|xi|=1, xi perp ubar} max_{i in S} <xi, z_i> > 0."
Lemma 2.11: "Under Assumption 2.7, for almost all data, l_exp and l_log, and any w in R^d, if
  <w, ubar> >= 0 and ||Pi_perp w|| is larger than 1 + ln(n)/alpha for l_exp or 2n/e alpha for l_log,
  then <Pi_perp w, grad R(w)> >= 0."  The proof concludes "(1 + ln(n))/alpha" for l_exp (B.12 ff.).

alpha is computed exactly (dynamics.geometry.alpha: vertex enumeration of a polytope) and cross-checked
here against sampled xi (every xi gives max_i <xi, z_i> >= alpha).  The sign of <Pi_perp w, grad R(w)>
is evaluated in the log domain: grad R(w) = exp(log_c) ghat with exp(log_c) > 0, so its sign is that of
<Pi_perp w, ghat> (softmax weights: no overflow at any margin), with mpmath at 60 digits as referee
when that value is within its rounding error of 0.  L2.11-TIGHT bisects, along sampled rays, the
smallest ||Pi_perp w|| from which the sign condition holds on the ray, against the proven threshold.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mpmath
import numpy as np

from ..model import Claim, register, rounding
from ._problem import lemma_2_11_thresholds
from ._quantities import data_seed, geom

if TYPE_CHECKING:
    from dynamics.losses import Loss
    from dynamics.trajectory import Trajectory

    from ._problem import Geometry

ALPHA_REL = 1e-9   # geometry.alpha accepts a vertex with P xi <= 1 + 1e-9: alpha's relative error
SAMPLES = 64


def sign_value(w: np.ndarray, Z: np.ndarray, ubar: np.ndarray, loss: Loss,
               digits: int | None = None) -> tuple[float, float]:
    """(<Pi_perp w, ghat>, scale): the sign of <Pi_perp w, grad R(w)> times a positive factor, and the
    magnitude of the summed terms (for the rounding tolerance).  digits: recompute in mpmath."""
    wp = w - (w @ ubar) * ubar
    proj = Z @ wp                                   # <Pi_perp w, z_i> = <w_perp, z_i>
    lg = loss.log_neg_deriv(Z @ w)                  # log |l'(<w, z_i>)|
    if digits is None:
        p = np.exp(lg - lg.max())
        p /= p.sum()
        return float(-(p @ proj)), float(p @ np.abs(proj))
    with mpmath.workdps(digits):
        wm = [mpmath.mpf(float(x)) for x in w]
        um = [mpmath.mpf(float(x)) for x in ubar]
        c = mpmath.fsum(a * b for a, b in zip(wm, um))
        wpm = [a - c * b for a, b in zip(wm, um)]
        total = mpmath.mpf(0)
        for z in Z:
            zm = [mpmath.mpf(float(x)) for x in z]
            m = mpmath.fsum(a * b for a, b in zip(wm, zm))
            d = mpmath.exp(-m) if loss.name == "exp" else mpmath.exp(-m) / (1 + mpmath.exp(-m))
            total += d * mpmath.fsum(a * b for a, b in zip(wpm, zm))
        return float(-total), 0.0


def robust_sign_value(w: np.ndarray, Z: np.ndarray, ubar: np.ndarray, loss: Loss) -> tuple[float, float, bool]:
    """sign_value, refereed by mpmath where float64 cannot decide the sign."""
    val, scale = sign_value(w, Z, ubar, loss)
    tol = rounding(scale)
    if abs(val) <= tol:
        exact, _ = sign_value(w, Z, ubar, loss, digits=60)
        return exact, scale, True
    return val, scale, False


def thresholds(g: Geometry, loss_name: str = "") -> dict:
    """Lemma 2.11's thresholds for the geometry `g` (theorems.claims._problem states them once)."""
    return lemma_2_11_thresholds(g.n, g.alpha)


def _perp_basis(g):
    u, s, vt = np.linalg.svd(g.perp)
    return vt[: g.d - 1].T            # d x (d-1), orthonormal basis of ubar-perp


def adversarial_points(Z: np.ndarray, g: Geometry, K: float, rng: np.random.Generator,
                       count: int = SAMPLES) -> list[np.ndarray]:
    """w = c ubar + r xi with ||xi|| = 1, xi perp ubar, r just above K, c >= 0.  Directions: random,
    and the minimisers of max_{i in S} <xi, z_i> (where the lemma's first term is smallest), with
    c in {0, small, large}: the premises <w, ubar> >= 0 and ||Pi_perp w|| > K hold by construction."""
    B = _perp_basis(g)
    dirs = [B @ v for v in rng.standard_normal((count, B.shape[1]))]
    dirs = [x / np.linalg.norm(x) for x in dirs]
    # bias half of them towards small max_i <xi, z_i> (the worst case of (B.10)): keep the best ones
    S = Z[g.support]
    dirs.sort(key=lambda x: float(np.max(S @ x)))
    pts = []
    for i, xi in enumerate(dirs):
        r = K * (1 + 10 ** rng.uniform(-9, 0))
        c = [0.0, 1e-3, 1.0, 10.0][i % 4] * (1 if g.gamma > 0 else 0)
        pts.append(c * g.ubar + r * xi)
    return pts


def _points(traj, key):
    g = geom(traj)
    if not g.spans_space or not g.alpha > 0 or g.d < 2:
        return []          # Assumption 2.7 as stated (support vectors span R^d) is the lemma's hypothesis
    K = thresholds(g, traj.loss.name)[key]
    rng = np.random.default_rng(data_seed(traj.Z))
    return [(w, key) for w in adversarial_points(traj.Z, g, K, rng)]


def _l211(point, traj, loss_name):
    w, _ = point
    g = geom(traj)
    if traj.loss.name != loss_name:
        return None
    val, scale, _ = robust_sign_value(w, traj.Z, g.ubar, traj.loss)
    return val, 0.0, scale


def _l211_control(point, traj, loss_name, shrink=1e-3):
    """Negative control: the threshold divided by 1000 (w pulled towards ubar): the sign condition
    must fail somewhere below the threshold, or the threshold would be 1000x loose."""
    w, _ = point
    g = geom(traj)
    if traj.loss.name != loss_name:
        return None
    wp = w - (w @ g.ubar) * g.ubar
    w2 = (w @ g.ubar) * g.ubar + shrink * wp
    # the adversarial sign: the worst support direction flipped (points towards higher-margin data)
    val, scale, _ = robust_sign_value((w @ g.ubar) * g.ubar - 50 * wp / max(np.linalg.norm(wp), 1e-300), traj.Z,
                                      g.ubar, traj.loss)
    val2, scale2, _ = robust_sign_value(w2, traj.Z, g.ubar, traj.loss)
    return [val, val2], 0.0, [scale, scale2]


def _alpha_points(traj):
    g = geom(traj)
    if not g.spans_space or g.d < 2:
        return []
    rng = np.random.default_rng(0)
    B = _perp_basis(g)
    return [B @ v / np.linalg.norm(B @ v) for v in rng.standard_normal((256, B.shape[1]))] + ["positive"]


def _alpha_sides(xi, traj, factor=1.0):
    g = geom(traj)
    if isinstance(xi, str):       # alpha > 0, beyond its computing error
        return g.alpha, ALPHA_REL * factor, g.alpha
    S = traj.Z[g.support]
    return float(np.max(S @ xi)), factor * g.alpha * (1 - ALPHA_REL), float(np.max(np.abs(S @ xi)))


def _tight_points(traj):
    g = geom(traj)
    if not g.spans_space or not g.alpha > 0 or g.d < 2:
        return []
    rng = np.random.default_rng(1)
    key = "exp-proof" if traj.loss.name == "exp" else "log"
    K = thresholds(g, traj.loss.name)[key]
    return [(xi / K, K) for xi in (w - (w @ g.ubar) * g.ubar for w in adversarial_points(traj.Z, g, K, rng, 6))]


def onset(xi: np.ndarray, traj: Trajectory, K: float, c: float = 0.0, iters: int = 40) -> float:
    """Smallest r in [0, K] with the sign condition holding at c ubar + r' xi for all r' in [r, K]
    sampled on a grid (then refined by bisection): the empirical onset along the ray."""
    g = geom(traj)
    grid = np.linspace(0, K, 33)[1:]
    ok = [robust_sign_value(c * g.ubar + r * xi, traj.Z, g.ubar, traj.loss)[0] >= 0 for r in grid]
    if all(ok):
        return 0.0
    last_bad = max(i for i, o in enumerate(ok) if not o)
    lo, hi = grid[last_bad], (grid[last_bad + 1] if last_bad + 1 < len(grid) else K)
    for _ in range(iters):
        mid = (lo + hi) / 2
        if robust_sign_value(c * g.ubar + mid * xi, traj.Z, g.ubar, traj.loss)[0] >= 0:
            hi = mid
        else:
            lo = mid
    return hi


def _tight(point, traj, factor=1.0):
    xi, K = point
    xi = xi / np.linalg.norm(xi)
    r = onset(xi, traj, K)
    return r, factor * K, K


EXPH = ("A2.7",)
def _l211_claim(cid, ref, statement, loss, reading):
    """One reading of Lemma 2.11: the sign condition at adversarial points above that reading's threshold."""
    return Claim(cid, ref, "static", statement, sides=lambda p, t: _l211(p, t, loss),
                 points=lambda t: _points(t, reading), relation=">=", hypotheses=EXPH,
                 control=lambda p, t: _l211_control(p, t, loss),
                 control_note="w's perpendicular part pointed at the data's high side / shrunk 1000x below the threshold")


register(
    Claim("L2.10", "Lemma 2.10", "static",
          "under A2.7, alpha = min_{|xi|=1, xi perp ubar} max_{i in S} <xi, z_i> > 0",
          sides=_alpha_sides, points=_alpha_points, relation=">=", runs="any", hypotheses=EXPH,
          control=lambda p, t: _alpha_sides(p, t, factor=1.5),
          control_note="alpha replaced by 1.5 alpha (some xi attains alpha)"),
    _l211_claim("L2.11-exp-printed", "Lemma 2.11 (as printed)",
                "exp loss, <w, ubar> >= 0, ||Pi_perp w|| > 1 + ln(n)/alpha  =>  <Pi_perp w, grad R(w)> >= 0",
                "exp", "exp-printed"),
    _l211_claim("L2.11-exp-proof", "Lemma 2.11 (the proof's threshold, Appendix B)",
                "the same with threshold (1 + ln n)/alpha, as the proof concludes", "exp", "exp-proof"),
    _l211_claim("L2.11-log", "Lemma 2.11",
                "logistic loss, <w, ubar> >= 0, ||Pi_perp w|| > 2n/(e alpha)  =>  <Pi_perp w, grad R(w)> >= 0",
                "logistic", "log"),
    Claim("L2.11-TIGHT", "Lemma 2.11 (tightness)", "static",
          "how far below the proven threshold the sign condition really starts (report the ratio)",
          sides=_tight, points=_tight_points, relation="<=", hypotheses=EXPH,
          control=lambda p, t: _tight(p, t, factor=0.0), control_note="onset demanded at ||Pi_perp w|| = 0"),
)
