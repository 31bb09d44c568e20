"""A claim checked on a run -> Verdict: the one place where claims meet dynamics (hypotheses first:
unmet ones make the verdict `vacuous`).

Every inequality is checked at every point the claim names (kept snapshots, kept step pairs, or its
own sample points); the tolerance there is rounding (theorems.model.ROUNDING) plus the claim's own
`tolerance.extra` (theorems.claims._tolerances), both described in the report.
"""
from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from ..model import DECISIVE, REGISTRY, Claim, Verdict, rounding

if TYPE_CHECKING:
    from dynamics.trajectory import Trajectory


def holds(assumption_id: str, traj: Trajectory) -> tuple[bool, str]:
    """(met, why not) for one assumption on one run.  The hypotheses are the assumption claims themselves
    (SET-DATA, A1.1, A1.2, A2.7, A3.1, A3.5): one holds on a run when the run can meet it at all (its
    `requires`) and, if it has sides, its own check passes there.  One piece of code states an
    assumption, checks it, and decides the claims resting on it."""
    claim = REGISTRY[assumption_id]
    why = claim.requires(traj) if claim.requires is not None else ""
    if why:
        return False, why
    if claim.sides is None:
        return True, ""
    v = evaluate(claim, traj)
    return v.status == "pass", v.message or f"{assumption_id} {v.status}"


def unmet_hypotheses(claim: Claim, traj: Trajectory) -> list[tuple[str, str]]:
    """[(assumption id, why not met)] for the hypotheses of `claim` that `traj` does not meet."""
    return [(h, why) for h in claim.hypotheses for ok, why in [holds(h, traj)] if not ok]


def vacuous_message(unmet: list[tuple[str, str]]) -> str:
    return "; ".join(f"{h} not met: {why.splitlines()[0][:200] if why else ''}" for h, why in unmet)


def slack(relation: str, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """rhs - lhs for "<=", lhs - rhs for ">=", -|lhs - rhs| for "==": negative means violated."""
    if relation == "<=":
        return rhs - lhs
    if relation == ">=":
        return lhs - rhs
    return -np.abs(lhs - rhs)


class InaccurateRun(ArithmeticError):
    """The run's own defect exceeds its tolerance's cap: too inaccurate to judge the claim."""


def tolerance_at(claim: Claim, point: object, traj: Trajectory, scale: np.ndarray) -> np.ndarray:
    """Rounding plus the claim's own tolerance at one point; raises InaccurateRun past the tolerance's cap."""
    extra = np.asarray(claim.tolerance.extra(point, traj), float)
    # a scalar defect is capped against the largest term; one per element (e.g. divided by each element's own
    # norm) against that element's magnitude
    limit = claim.tolerance.cap * (np.asarray(scale, float) if extra.ndim else float(np.max(scale)))
    over = np.broadcast_to(extra > limit, np.broadcast(extra, limit).shape)
    if claim.tolerance.cap and np.any(over):
        i = int(np.argmax(over))
        e, lim = np.broadcast_to(extra, over.shape).flat[i], np.broadcast_to(limit, over.shape).flat[i]
        raise InaccurateRun(f"the simulation is not accurate enough to judge: {claim.tolerance.name} defect "
                            f"{e:.3g} at {where(point)} exceeds its cap {claim.tolerance.cap:g} x the terms' "
                            f"magnitude ({lim:.3g})")
    return rounding(scale) + extra


def relative_slack(gap: np.ndarray, lhs: np.ndarray, rhs: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """slack / max(|lhs|, |rhs|): how tight the bound is, scale-free; 0 where the slack is within the
    tolerance (tight up to rounding: both sides may be rounding noise around 0), nan where both sides
    are exactly 0."""
    size = np.maximum(np.abs(lhs), np.abs(rhs))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(np.abs(gap) <= tol, 0.0, gap / np.where(size > 0, size, 1.0))
    return np.where(size > 0, rel, np.nan)


def _anchor(point):
    """The snapshot a point is attached to (a step pair's first snapshot)."""
    return point[0] if isinstance(point, tuple) else point


def where(point: object) -> str:
    s = _anchor(point)
    if hasattr(s, "ws"):
        return f"t={s.t:g}" + (f"->{point[1].t:g}" if isinstance(point, tuple) else "")
    if hasattr(s, "snapshots"):  # static claims on the run itself
        return "the run's data and initialisation"
    return str(point)[:120]


def points_of(claim: Claim, traj: Trajectory) -> Iterable:
    if claim.points is not None:
        return claim.points(traj)
    if claim.kind == "snapshot":
        return traj.snapshots
    if claim.kind == "step":
        return traj.steps()
    return [traj]


def checked_points(claim: Claim, traj: Trajectory) -> Iterator[tuple]:
    """(point, lhs, rhs, scale) at every point of `traj` where the claim's premise holds; lhs, rhs and
    scale are broadcast float arrays (elementwise comparisons, e.g. one entry per layer)."""
    for point in points_of(claim, traj):
        out = claim.sides(point, traj)
        if out is None:
            continue
        lhs, rhs = np.broadcast_arrays(np.asarray(out[0], float), np.asarray(out[1], float))
        if lhs.size == 0:
            continue
        scale = np.asarray(out[2], float) if len(out) > 2 else np.abs(lhs) + np.abs(rhs)
        yield point, lhs, rhs, scale


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
        if not p.ok:   # the evidence in exact arithmetic (the numeric cross-check alone is float64)
            v.details["high_precision"] = {"digits": "exact", "confirms": p.exact,
                                           "method": "sympy: lhs - rhs simplifies to a nonzero expression" if p.exact
                                           else "the symbolic proofs hold; only the float64 cross-check fails"}
    except Exception as exc:  # an error is a finding too: reported as `error`, never hidden
        v.status, v.message = "error", f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)
    v.seconds = time.perf_counter() - start
    return v


def evaluate(claim: Claim, traj: Trajectory, run_id: str = "", spec: str = "") -> Verdict:
    """Check `claim` at every point of `traj`; the Verdict says pass / fail / vacuous / error."""
    start = time.perf_counter()
    v = Verdict(claim.id, run_id, "pass", spec=spec)
    try:
        unmet = unmet_hypotheses(claim, traj)
        if unmet:
            v.status, v.message = "vacuous", vacuous_message(unmet)
            return v
        worst, rel, n_elements, n_trivial = None, [], 0, 0
        for point, lhs, rhs, scale in checked_points(claim, traj):
            gap = slack(claim.relation, lhs, rhs)
            tol = np.broadcast_to(tolerance_at(claim, point, traj, scale), gap.shape)
            if not np.all(np.isfinite(gap)):
                raise FloatingPointError(f"non-finite sides at {where(point)}: lhs={lhs}, rhs={rhs}")
            v.n_checked += 1
            rel.append(np.nanmin(relative_slack(gap, lhs, rhs, tol), initial=np.inf))
            n_elements += gap.size
            if claim.trivial is not None:
                n_trivial += int(np.count_nonzero(claim.trivial(lhs, rhs)))
            i = int(np.argmin(gap + tol))  # the point closest to (or furthest into) violation
            if worst is None or gap.flat[i] + tol.flat[i] < worst[0]:
                worst = (gap.flat[i] + tol.flat[i], gap.flat[i], lhs.flat[i], rhs.flat[i], tol.flat[i],
                         where(point) + (f", index {i}" if gap.size > 1 else ""))
        if v.n_checked == 0:
            v.status, v.message = "vacuous", "the claim's premise held at no point of this run"
            return v
        v.worst_slack, v.lhs, v.rhs, v.tol, v.where = (*map(float, worst[1:5]), worst[5])
        v.rel_slack = float(min(rel)) if np.isfinite(min(rel)) else None
        v.trivial_share = n_trivial / n_elements
        if v.worst_slack < -v.tol:
            decisive = -v.worst_slack > DECISIVE * v.tol
            v.status = "fail" if decisive else "inconclusive"
            v.message = (f"violated at {v.where}: lhs={v.lhs:.6g} {claim.relation} rhs={v.rhs:.6g} fails by "
                         f"{-v.worst_slack:.3g} (tol {v.tol:.3g})")
            if not decisive:
                v.details["rounding"] = True
                v.message += f": within {DECISIVE:g} x the tolerance, rounding-level evidence (inconclusive)"
    except InaccurateRun as exc:  # the run, not the claim, is at fault: say so, never widen the tolerance
        v.status, v.message = "error", str(exc)
    except Exception as exc:  # an error is a finding too: reported as `error`, never hidden as a pass
        v.status = "error"
        v.message = f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)
    finally:
        v.seconds = time.perf_counter() - start
    return v


def slack_series(claim: Claim, traj: Trajectory) -> dict | None:
    """Both sides, the slack and the tolerance at every checked point of `traj`, taking at each point the
    element of smallest slack (the binding layer or index): what the report plots."""
    rows = []
    for j, (point, lhs, rhs, scale) in enumerate(checked_points(claim, traj)):
        gap = slack(claim.relation, lhs, rhs)
        tol = np.broadcast_to(rounding(scale) + claim.tolerance.extra(point, traj), gap.shape)   # plotted as is
        i = int(np.argmin(gap))
        s = _anchor(point)
        x = float(s.t) if hasattr(s, "ws") else float(j)
        rows.append((x, float(lhs.flat[i]), float(rhs.flat[i]), float(gap.flat[i]), float(tol.flat[i])))
    if not rows:
        return None
    x, lhs, rhs, gap, tol = map(np.array, zip(*rows))
    timed = claim.kind in ("snapshot", "step") and claim.points is None
    return {"x": x, "lhs": lhs, "rhs": rhs, "slack": gap, "tol": tol,
            "xlabel": ("gradient-descent step t" if traj.method == "gd" else "flow time t") if timed
            else "sample point"}
