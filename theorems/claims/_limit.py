"""Limits shown as a trend over a long, finite horizon, with fitted rates (the judging rule of the
asymptotic claims, shared by their modules).

A limit "g -> 0" is checked on a trajectory through `Limit`: log g at every kept snapshot (log domain,
so risks of e^-1e11 are fine), a rate variable x -> 0 the proof bounds g by (g <= C x^p), and a
stated threshold.  Verdict:
  trend    g reached the threshold within the horizon and is still below it at the end, its last value is
           below its value at the start of the tail (the last half of the snapshots), and the fitted
           exponent q of log g against log x
           over the tail is not clearly below the proven p (q >= 0.9 p - 3 se: 10% for the lower-order
           terms of the bound, 3 standard errors for the fit);
  fail     g got worse over the tail, g reached the threshold and then left it again, or g decays clearly
           slower than the proof allows;
  inconclusive  g still improving but short of the threshold (horizon too short, or the run stalled): no
           evidence either way, never a pass (a finite horizon cannot refute a limit); `verify
           --horizon-scale X` runs longer.  (Unmet hypotheses make a verdict `vacuous`, decided before.)
`trend` is never `pass`: a limit cannot be verified at a finite horizon.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..model import Verdict

if TYPE_CHECKING:
    from dynamics.trajectory import Trajectory

TAIL_MIN = 4
RATE_SLACK = 0.1      # lower-order terms of a bound g <= C x^p (1 + o(1))
FIT_SE = 3.0          # standard errors of the least-squares slope


@dataclass(frozen=True)
class Limit:
    """log g(snapshot, traj) -> -inf; log x(snapshot, traj) the rate variable; g <= C x^p (p = proven)."""

    log_gap: Callable
    threshold: float                  # g must reach <= threshold (stated in the report)
    log_x: Callable | None = None
    proven: float | None = None       # the exponent p the proof gives, None if the paper gives no rate
    what: str = ""                    # g in words
    rate_note: str = ""               # where p comes from
    skip_initial: bool = True         # t = 0 is the initialisation, often outside the regime

    def with_(self, **kw) -> "Limit":
        return replace(self, **kw)


def fit_slope(lx: np.ndarray, lg: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of lg against lx and its standard error (nan if under 3 points)."""
    ok = np.isfinite(lx) & np.isfinite(lg)
    lx, lg = lx[ok], lg[ok]
    if len(lx) < 3 or np.ptp(lx) == 0:
        return math.nan, math.nan
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, res, *_ = np.linalg.lstsq(A, lg, rcond=None)
    dof = len(lx) - 2
    s2 = float(res[0]) / dof if len(res) and dof > 0 else 0.0
    se = math.sqrt(s2 / float(np.sum((lx - lx.mean()) ** 2))) if dof > 0 else math.nan
    return float(coef[0]), se


def check_limit(lim: Limit, traj: Trajectory, claim_id: str = "") -> Verdict:
    """The trend verdict of one limit on one trajectory (see the module docstring)."""
    snaps = [s for s in traj.snapshots if not (lim.skip_initial and s.t == 0)]
    v = Verdict(claim_id, "", "trend")
    lg = np.array([float(lim.log_gap(s, traj)) for s in snaps])
    lx = np.array([float(lim.log_x(s, traj)) for s in snaps]) if lim.log_x else np.full(len(snaps), np.nan)
    v.n_checked = len(snaps)
    log_thr = math.log(lim.threshold) if lim.threshold > 0 else -math.inf
    hit = np.flatnonzero(lg <= log_thr)
    d = v.details = {
        "quantity": lim.what, "threshold": lim.threshold, "final": float(np.exp(lg[-1])) if len(lg) else None,
        "best": float(np.exp(np.min(lg))) if len(lg) else None,
        "reached_at": (float(snaps[hit[0]].t) if hit.size else None), "horizon": float(snaps[-1].t) if snaps else 0.0,
        "snapshots": len(snaps), "stop": traj.stop_reason, "proven_rate": lim.proven, "rate_note": lim.rate_note,
        "policy": str(traj.policy),
        # the quantity along the run, for the report's plot against its threshold (0 where exactly 0)
        "series": {"t": [float(s.t) for s in snaps], "value": [float(np.exp(x)) for x in lg]},
    }
    if len(snaps) < TAIL_MIN:
        v.status, v.message = "inconclusive", f"only {len(snaps)} snapshots: horizon too short for a trend ({traj.stop_reason})"
        return v
    tail = slice(len(snaps) // 2, None)
    q, se = fit_slope(lx[tail], lg[tail])
    d["fitted_rate"], d["fitted_rate_se"] = q, se
    span = lx[tail][np.isfinite(lx[tail])]   # how many decades of the rate variable the fit covers
    d["rate_decades"] = float((span.max() - span.min()) / math.log(10)) if span.size > 1 else None
    # a trend's own measure of distance (not a slack): log(threshold / final value), > 0 once below it
    d["log_threshold_over_final"] = log_thr - float(lg[-1])
    v.lhs, v.rhs, v.where = float(np.exp(lg[-1])), lim.threshold, f"t={snaps[-1].t:g}"
    improving = bool(lg[-1] < lg[tail][0] or lg[-1] == -math.inf)
    d["tail_start"], d["improving"] = float(np.exp(lg[tail][0])), bool(improving)
    if not improving:  # moving away from the limit over the last half of the run
        v.status = "fail"
        v.message = f"{lim.what} got worse over the tail: {d['tail_start']:.3g} -> {d['final']:.3g}"
        return v
    if not hit.size:  # still improving but short of the threshold: no evidence either way, never a pass
        v.status = "inconclusive"
        why = "horizon too short" if traj.stop.normal else f"run stalled ({traj.stop_reason})"
        v.message = f"{why}: {lim.what} still improving but did not reach {lim.threshold:g} (best {d['best']:.3g})"
        return v
    if lg[-1] > log_thr:  # a quantity tending to 0 does not come back above a threshold it reached
        v.status = "fail"
        v.message = (f"{lim.what} reached {lim.threshold:g} at t={d['reached_at']:g} (best {d['best']:.3g}) and left "
                     f"it again: final {d['final']:.3g}")
        return v
    if lim.proven is not None and np.isfinite(q) and q < (1 - RATE_SLACK) * lim.proven - FIT_SE * (se if np.isfinite(se) else 0):
        v.status = "fail"
        v.message = f"{lim.what} decays like x^{q:.3g} (se {se:.2g}), slower than the proven x^{lim.proven:g}"
        return v
    v.message = (f"{lim.what} <= {lim.threshold:g} reached at t={d['reached_at']:g}; final {d['final']:.3g}; "
                 f"fitted rate {q:.3g}" + (f" vs proven {lim.proven:g}" if lim.proven is not None else " (no rate proven)"))
    return v


