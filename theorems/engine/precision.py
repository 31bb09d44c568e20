"""High-precision replay of a counterexample (mpmath, DIGITS significant digits).

The same data and initial weights (float64 numbers, exact in mpmath), gradient descent transcribed from
the paper, not from the simulator:

    w = (W_L ... W_1)^T,   R(w) = (1/n) sum_i l(<w, z_i>),   grad R(w) = (1/n) sum_i l'(<w, z_i>) z_i,
    dR/dW_k = (W_L ... W_{k+1})^T grad R(w)^T (W_{k-1} ... W_1)^T,   W_k(t+1) = W_k(t) - eta_t dR/dW_k,

with the run's step rule, up to the violated point; then the claim's own two sides at the same points.
A float64 violation is confirmed when the replay violates the claim too, by more than the replay's own
rounding (10^-(DIGITS - 10) of the terms).  Flows are replayed at t = 0 only (no 40-digit ODE solver).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property, reduce

import mpmath
import numpy as np

from dynamics import losses
from dynamics.runs import RunSpec, dataset, initial_weights, simulate
from dynamics.trajectory import GDSums, log_checkpoints

from ..claims._paper import SMOOTHNESS
from ..model import Claim, Verdict
from .evaluate import points_of, slack, where

DIGITS = 50
MAX_STEPS = 2000        # a replay steps tiny networks in mpmath: about 8 ms per step of a 3-layer width-8 net
MAX_SECONDS = 20.0
DEPARTURE = 1e-8        # the float64 run's weights may differ from the replay's by this (relative) from rounding
MP_LOSSES = {   # (l, l'), as printed in Section 1 and Section 3
    "logistic": (lambda z: mpmath.log1p(mpmath.exp(-z)), lambda z: -1 / (1 + mpmath.exp(z))),
    "exp": (lambda z: mpmath.exp(-z), lambda z: -mpmath.exp(-z)),
}


class Unavailable(Exception):
    """This counterexample cannot be replayed in high precision (said why)."""


def exact(a) -> np.ndarray:
    """A float64 array as an object array of mpf, digit for digit (every float64 is exact in mpmath)."""
    return np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(a, float))


def _chain(ws: list, start: int, stop: int, size: int) -> np.ndarray:
    """ws[stop-1] @ ... @ ws[start] (the layers start+1..stop of the paper), the size x size identity if empty."""
    part = ws[start:stop][::-1]
    return reduce(lambda acc, w: acc @ w, part[1:], part[0]) if part else exact(np.eye(size))


def _top_triplet(w: np.ndarray) -> tuple:
    U, S, V = mpmath.svd_r(mpmath.matrix(w.tolist()))
    i = max(range(S.rows), key=lambda j: S[j])
    return S[i], np.array([U[r, i] for r in range(U.rows)], dtype=object), \
        np.array([V[i, c] for c in range(V.cols)], dtype=object)


@dataclass(eq=False)
class HPSnapshot:
    """The quantities a claim reads from a dynamics.trajectory.Snapshot, in mpmath."""

    t: float
    ws: tuple
    Z: np.ndarray
    loss_name: str
    step_size: object = None
    radius: object = None
    sums: GDSums | None = None

    @cached_property
    def w_prod(self) -> np.ndarray:
        return _chain(list(self.ws), 0, len(self.ws), self.ws[0].shape[1])[0]

    @cached_property
    def margins(self) -> np.ndarray:
        return self.Z @ self.w_prod

    @cached_property
    def risk(self):
        loss = MP_LOSSES[self.loss_name][0]
        return mpmath.fsum(loss(m) for m in self.margins) / len(self.margins)

    @property
    def log_risk(self):
        return mpmath.log(self.risk)

    @cached_property
    def grad_w(self) -> np.ndarray:
        dloss = MP_LOSSES[self.loss_name][1]
        return sum(dloss(m) * z for m, z in zip(self.margins, self.Z)) / len(self.margins)

    @cached_property
    def layer_grads(self) -> tuple:
        ws, L = list(self.ws), len(self.ws)
        g = self.grad_w[None, :]
        return tuple(_chain(ws, k + 1, L, ws[k].shape[0]).T @ g @ _chain(ws, 0, k, ws[0].shape[1]).T
                     for k in range(L))

    @cached_property
    def grad_norm2(self):
        return sum(np.sum(g * g) for g in self.layer_grads)

    @cached_property
    def triplets(self) -> list:
        return [_top_triplet(w) for w in self.ws]

    @cached_property
    def fro(self) -> np.ndarray:
        return np.array([mpmath.sqrt(np.sum(w * w)) for w in self.ws], dtype=object)

    @property
    def sigma(self) -> np.ndarray:
        return np.array([s for s, _, _ in self.triplets], dtype=object)


@dataclass(eq=False)
class HPTrajectory:
    """The kept snapshots of a replay (the parts of dynamics.trajectory.Trajectory a claim reads)."""

    method: str
    ws0: tuple
    Z: np.ndarray
    loss: object
    snapshots: list
    info: dict = field(default_factory=dict)

    @property
    def L(self) -> int:
        return len(self.ws0)

    @property
    def initial(self) -> HPSnapshot:
        return self.snapshots[0]

    def steps(self) -> list:
        s = self.snapshots
        return [(a, b) for a, b in zip(s, s[1:]) if b.t == a.t + 1]


def _beta(R, L: int, loss: str):
    """beta(R) = 2 L^2 R^(2L-2) (beta + G) (Lemma 3.2)."""
    if loss not in SMOOTHNESS:
        raise Unavailable(f"eta = 1/beta(R) needs Assumption 3.1; loss {loss!r} has no finite beta, G")
    beta, G = SMOOTHNESS[loss]
    return 2 * L**2 * R ** (2 * L - 2) * (mpmath.mpf(beta) + G)


def _max_fro(ws):
    return max(mpmath.sqrt(np.sum(w * w)) for w in ws)


class _Steps:
    """The run's step rule eta_t, transcribed (constant eta or 1/beta(radius); Assumption 3.5 with the
    suite's stated growth rule; relative steps eps min_k ||W_k||_F / ||dR/dW_k||_F)."""

    def __init__(self, spec: RunSpec, ws0: tuple):
        self.spec, self.L = spec, len(ws0)
        if spec.policy == "a35":
            self.R = _max_fro(ws0) + 1

    def eta(self, s: HPSnapshot):
        spec = self.spec
        if spec.policy == "constant":
            return mpmath.mpf(spec.eta) if spec.eta is not None else 1 / _beta(mpmath.mpf(spec.radius), self.L, spec.loss)
        if spec.policy == "a35":
            return min(1 / _beta(self.R, self.L, spec.loss), mpmath.mpf(1))
        if spec.policy == "relative" and spec.max_norm is None:
            ratios = [mpmath.sqrt(np.sum(w * w)) / mpmath.sqrt(np.sum(g * g))
                      for w, g in zip(s.ws, s.layer_grads) if np.any(g != 0)]
            return mpmath.mpf(spec.eta or 0.05) * min(ratios) if ratios else mpmath.mpf(0)
        raise Unavailable(f"step policy {spec.policy!r} (max_norm {spec.max_norm}) is not replayed")

    def radius(self):
        if self.spec.policy == "a35":
            return self.R
        return None if self.spec.radius is None else mpmath.mpf(self.spec.radius)

    def after(self, ws_next: tuple) -> None:
        if self.spec.policy == "a35":
            top = _max_fro(ws_next)
            if top > self.R - 1:
                self.R = top + 1


def _descend(spec: RunSpec, ws0: tuple, Z: np.ndarray, until: int, deadline: float) -> list:
    """HPSnapshots at the float run's kept steps up to `until` (and each one's successor)."""
    keep = set(log_checkpoints(int(spec.horizon), spec.checkpoints, integer=True).astype(int).tolist())
    keep |= {t + 1 for t in keep}
    steps, ws = _Steps(spec, ws0), ws0
    sums = GDSums(tuple(exact(np.zeros((w.shape[0],) * 2)) for w in ws0),
                  tuple(exact(np.zeros((w.shape[1],) * 2)) for w in ws0), 0, 0, 0)
    snaps = []
    for t in range(until + 1):
        if time.monotonic() > deadline:
            raise Unavailable(f"replay budget of {MAX_SECONDS:g} s spent at step {t} of {until}")
        s = HPSnapshot(t, ws, Z, spec.loss, sums=sums)
        eta = steps.eta(s)
        s.step_size, s.radius = eta, steps.radius()
        if t in keep or t == until:
            snaps.append(s)
        if t == until:
            break
        grads, g2 = s.layer_grads, s.grad_norm2
        sums = GDSums(tuple(p + eta**2 * g @ g.T for p, g in zip(sums.P, grads)),
                      tuple(q + eta**2 * g.T @ g for q, g in zip(sums.Q, grads)),
                      sums.eta + eta, sums.eta_g2 + eta * g2, sums.eta2_g2 + eta**2 * g2)
        ws = tuple(w - eta * g for w, g in zip(ws, grads))
        steps.after(ws)
    return snaps


def _until(claim: Claim, v: Verdict) -> int:
    """The last step the violated point needs (0 for static claims and t = 0)."""
    if claim.kind == "static":
        return 0
    times = re.findall(r"t=([0-9.e+]+)", v.where)
    if not times:
        raise Unavailable(f"no time in the verdict's point {v.where!r}")
    return int(round(max(float(x) for x in times)))


def replay_trajectory(claim: Claim, v: Verdict, deadline: float, until: int | None = None) -> HPTrajectory:
    spec = RunSpec.from_json(v.spec)
    ds = dataset(spec.data)
    ws0 = tuple(exact(w) for w in initial_weights(spec, ds))
    Z = exact(ds.Z)
    until = _until(claim, v) if until is None else until
    if spec.method == "gd":
        if until > MAX_STEPS:
            raise Unavailable(f"the violation is at step {until}, beyond the replay's {MAX_STEPS} steps")
        snaps = _descend(spec, ws0, Z, until, deadline)
    elif until == 0:
        snaps = [HPSnapshot(0, ws0, Z, spec.loss)]
    else:
        raise Unavailable("a flow is replayed at t = 0 only (no 40-digit ODE solver here)")
    return HPTrajectory(spec.method, ws0, Z, losses.get(spec.loss), snaps)


def replay(claim: Claim, v: Verdict, digits: int = DIGITS, until: int | None = None, ran=None) -> dict:
    """{"digits", "slack", "where", "confirms", "departure"} for the float64 verdict `v` of `claim`, replayed
    up to its worst point (or to step `until`), or {"digits", "unavailable": why}.  `slack` is the least slack
    over the replayed points (a string of 20 significant digits; its float in "slack_float"); `ran`, the float64
    trajectory of v's run when the caller holds it, is what the replay's departure is measured against."""
    if not v.spec:
        return {"digits": digits, "unavailable": "the verdict names no run"}
    deadline = time.monotonic() + MAX_SECONDS
    try:
        with mpmath.workdps(digits):
            traj = replay_trajectory(claim, v, deadline, until)
            worst = None
            for point in points_of(claim, traj):
                out = claim.sides(point, traj)
                if out is None:
                    continue
                lhs, rhs = np.broadcast_arrays(np.asarray(out[0], dtype=object), np.asarray(out[1], dtype=object))
                gaps = [mpmath.mpf(x) for x in np.ravel(slack(claim.relation, lhs, rhs))]
                sizes = [abs(mpmath.mpf(a)) + abs(mpmath.mpf(b)) for a, b in zip(lhs.flat, rhs.flat)]
                i = min(range(len(gaps)), key=lambda j: gaps[j], default=None)
                if i is not None and (worst is None or gaps[i] < worst[0]):
                    worst = (gaps[i], sizes[i], _where(point))
            if worst is None:
                return {"digits": digits, "unavailable": "the claim's premise held at no replayed point"}
            gap, size, where = worst
            noise = mpmath.mpf(10) ** (10 - digits) * max(size, 1)
            return {"digits": digits, "slack": mpmath.nstr(gap, 20), "slack_float": float(gap), "where": where,
                    "confirms": bool(gap < -noise), "departure": departure(v, traj, ran)}
    except Unavailable as exc:
        return {"digits": digits, "unavailable": str(exc)}
    except (TypeError, AttributeError, ValueError, ZeroDivisionError) as exc:  # a claim written for floats only
        return {"digits": digits, "unavailable": f"the claim's code did not run in mpmath: {type(exc).__name__}: {exc}"}


def departure(v: Verdict, traj: HPTrajectory, ran=None) -> float | None:
    """max over replayed snapshots of max_k ||W_k(float64 run) - W_k(replay)||_F / ||W_k(replay)||_F: how far the
    simulator is from the paper's dynamics (rounding only: <= DEPARTURE), None if the run is not replayed.
    `ran`: the float64 trajectory of v's run if the caller holds it (else it is simulated, from the cache)."""
    if traj.method != "gd" or len(traj.snapshots) < 2:
        return None
    ran = {s.t: s for s in (ran or simulate(RunSpec.from_json(v.spec))).snapshots}
    worst = 0.0
    for s in traj.snapshots:
        if s.t in ran:
            for a, b in zip(ran[s.t].ws, s.ws):
                b = np.asarray(b, float)
                worst = max(worst, float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)))
    return worst


def _where(point) -> str:
    if isinstance(point, tuple) and not isinstance(point[0], HPSnapshot):   # a static claim's sample point
        return "(" + ", ".join(mpmath.nstr(x, 6) if isinstance(x, mpmath.mpf) else str(x) for x in point) + ")"
    return where(point)
