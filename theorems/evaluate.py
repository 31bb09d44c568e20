"""check(claim, trajectory) -> Verdict: the one place where claims meet dynamics.

Tolerances (stated in the report):
  rounding  1e3 * eps * scale, scale = magnitude of the summed terms.  Each side is a sum of a few
            dozen norms, singular values and inner products of matrices of width <= 8, each computed
            by backward-stable LAPACK/BLAS with error <= (a small multiple of width) * eps * its
            magnitude; 1e3 covers the sum.
  balance   rounding + sum_k (d_k + 1) ||E_k||_2, where E_k is how far the numerical path is from the
            identity the proof rests on: eq. (2.4) for flow (E_k = A_k(t) - A_k(0)), and for gradient
            descent the exact discrete identity A_k(t) = A_k(0) + P_k(t) - Q_{k+1}(t) (eq. (C.9) with
            the signs of its eta^2 terms corrected: E_k = A_k(t) - A_k(0) - P_k(t) + Q_{k+1}(t)).  Summing (B.2)/(B.3)
            over layers propagates each E_k at most (d_k + 1) times (trace and spectral norm).
  path      rounding + ||grad R|| * e, with e = (solver steps) * (atol + rtol * ||W||) a bound on
            the global error of the flow solution between two snapshots.
"""
from __future__ import annotations

import time
import traceback

import numpy as np

from dynamics import network

from ._claim import Claim, Verdict
from .assumptions import holds

EPS = float(np.finfo(float).eps)
ROUNDING = 1e3


def identity_defect(s, traj) -> float:
    """sum_k (d_k + 1) ||E_k||_2 (see the module docstring)."""
    A0 = network.balance(traj.ws0)
    At = network.balance(s.ws)
    total = 0.0
    for k, (a0, at) in enumerate(zip(A0, At)):
        E = at - a0
        if traj.method == "gd":
            E = E - s.sums.P[k] + s.sums.Q[k + 1]
        total += (a0.shape[0] + 1) * network.spectral(E)
    return total


def path_error(s, traj) -> float:
    if traj.method != "flow":
        return 0.0
    steps = traj.info.get("nfev", 0) / 12  # DOP853: 12 evaluations per step
    return float(np.sqrt(s.grad_norm2)) * steps * (traj.info["atol"] + traj.info["rtol"] * np.sqrt(np.sum(s.fro**2)))


def _anchor(point):
    """The snapshot a point is attached to (for the tolerance and the 'where' label)."""
    return point[0] if isinstance(point, tuple) else point


TOLERANCES = {
    "rounding": lambda point, traj: 0.0,
    "balance": lambda point, traj: identity_defect(_anchor(point), traj),
    "path": lambda point, traj: path_error(_anchor(point), traj),
}


def _slack(relation, lhs, rhs):
    if relation == "<=":
        return rhs - lhs
    if relation == ">=":
        return lhs - rhs
    return -np.abs(lhs - rhs)


def _where(point) -> str:
    s = _anchor(point)
    if hasattr(s, "ws"):
        return f"t={s.t:g}" + (f"->{point[1].t:g}" if isinstance(point, tuple) else "")
    if hasattr(s, "snapshots"):  # static claims on the run itself
        return "the run's data and initialisation"
    return str(point)[:120]


def points_of(claim: Claim, traj):
    if claim.points is not None:
        return claim.points(traj)
    if claim.kind == "snapshot":
        return traj.snapshots
    if claim.kind == "step":
        return traj.steps()
    return [traj]


def evaluate_identity(claim: Claim) -> Verdict:
    """Prove an identity claim once (no run): pass when the proof and its numeric cross-check hold."""
    start = time.perf_counter()
    v = Verdict(claim.id, "proof", "pass")
    try:
        p = claim.proof()
        v.status = "pass" if p.ok else "fail"
        v.worst_slack = None if p.numeric_residual is None else -float(p.numeric_residual)
        v.message = f"{p.method}" + (f"; {p.message}" if p.message else "")
        v.where = ", ".join(map(str, p.shapes))
        v.n_checked = max(1, len(p.shapes))
    except Exception as exc:
        v.status, v.message = "error", f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)
    v.seconds = time.perf_counter() - start
    return v


def applies(claim: Claim, traj) -> bool:
    return claim.sides is not None and claim.runs in ("any", traj.method)


def evaluate(claim: Claim, traj, run_id: str = "", spec: str = "") -> Verdict:
    """Check `claim` at every point of `traj`; the Verdict says pass / fail / vacuous / error."""
    start = time.perf_counter()
    v = Verdict(claim.id, run_id, "pass", spec=spec)
    try:
        unmet = [(h, why) for h in claim.hypotheses for ok, why in [holds(h, traj)] if not ok]
        if unmet:
            v.status = "vacuous"
            v.message = "; ".join(f"{h} not met: {why}" for h, why in unmet)
            return v
        extra_tol = TOLERANCES[claim.tolerance]
        worst = None
        for point in points_of(claim, traj):
            out = claim.sides(point, traj)
            if out is None:
                continue
            lhs, rhs = np.broadcast_arrays(np.asarray(out[0], float), np.asarray(out[1], float))
            scale = np.asarray(out[2], float) if len(out) > 2 else np.abs(lhs) + np.abs(rhs)
            if lhs.size == 0:
                continue
            slack = _slack(claim.relation, lhs, rhs)
            tol = np.broadcast_to(ROUNDING * EPS * scale + extra_tol(point, traj), slack.shape)
            if not np.all(np.isfinite(slack)):
                raise FloatingPointError(f"non-finite sides at {_where(point)}: lhs={lhs}, rhs={rhs}")
            v.n_checked += 1
            i = int(np.argmin(slack + tol))  # the point closest to (or furthest into) violation
            if worst is None or slack.flat[i] + tol.flat[i] < worst[0]:
                worst = (slack.flat[i] + tol.flat[i], slack.flat[i], lhs.flat[i], rhs.flat[i], tol.flat[i],
                         _where(point) + (f", index {i}" if slack.size > 1 else ""))
        if v.n_checked == 0:
            v.status, v.message = "vacuous", "the claim's premise held at no point of this run"
            return v
        v.worst_slack, v.lhs, v.rhs, v.tol, v.where = (*map(float, worst[1:5]), worst[5])
        if v.worst_slack < -v.tol:
            v.status = "fail"
            v.message = f"violated at {v.where}: lhs={v.lhs:.6g} {claim.relation} rhs={v.rhs:.6g} fails by {-v.worst_slack:.3g} (tol {v.tol:.3g})"
    except Exception as exc:  # an error is a finding too: report it, never hide it as a pass
        v.status = "error"
        v.message = f"{type(exc).__name__}: {exc}"
        v.message += "\n" + traceback.format_exc(limit=3)
    finally:
        v.seconds = time.perf_counter() - start
    return v
