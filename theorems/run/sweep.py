"""Sweeps: a grid of runs (depth, width, dimension, n, loss, initialisation, step policy, seed) through the
executors verify uses (theorems.run.executor: this process, local processes, or a Dask cluster).

On every grid point one run is simulated and every claim checked on profile runs (the limits are judged on
verify's long runs, not here) is checked on it; the sweep reports

- per claim, the tightest relative slack across the grid (Verdict.rel_slack: (rhs - lhs) / max(|lhs|, |rhs|),
  0 within rounding) and the grid point where it is, with its status counts over the grid (as
  plan.check gives them, without verify's high-precision replay of failures);
- per grid point, the first kept snapshot at which the layers are aligned (<v_{k+1}, u_k>^2 >= 1 - align on
  every adjacent pair, u_k, v_k the top left/right singular vectors of W_k) and at which the predictor has
  reached the max-margin direction (angle(w_prod, ubar) <= angle, ubar from dynamics.geometry.max_margin):
  its time t (gradient-descent steps; flow time for the flow) and its norm max_k ||W_k||_F.  Times are
  those of the kept snapshots (`checkpoints` of them, log-spaced in time, or in the norm for runs that
  stop at a norm): the first kept time past the target, not the exact crossing.

Everything here is a pure function of the grid and the settings: the same rows whichever executor ran them.
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from dynamics import geometry, init, losses
from dynamics.runs import MAX_DEPTH, RunSpec, simulate

from ..model import REGISTRY, ordered
from . import plan
from .executor import Executor, SerialExecutor, one_at_a_time
from .plan import SIMULATION_ERRORS

AXES = ("depth", "width", "dim", "n", "loss", "init", "policy", "seed")
POLICIES = ("relative", "a35", "constant", "flow")   # flow: the gradient flow at geometric speed (to max_norm)
MAX_POINTS = 100_000


@dataclass(frozen=True)
class Settings:
    """What every grid point shares: its horizon, step sizes, data margin, targets and time budget."""

    steps: int = 20_000            # gradient descent: at most this many steps (relative steps stop at max_norm)
    max_norm: float = 1e4          # relative steps and the flow stop at max_k ||W_k||_F = max_norm
    eta: float | None = None       # relative: the fraction eps a layer moves per step (0.01); constant: eta (0.1)
    checkpoints: int = 80          # kept snapshots per run (the resolution of the times at the targets)
    margin: float = 0.1            # the random data's margin
    scale: float = 0.5             # the initialisation's scale
    align: float = 1e-3            # aligned: 1 - <v_{k+1}, u_k>^2 <= align on every pair
    angle: float = 1e-2            # max-margin direction reached: angle(w_prod, ubar) <= angle (radians)
    budget: float = 60.0           # seconds one run may take (past it: the point reports the error)
    claims: tuple = ()             # claim IDs to check (empty: every claim checked on profile runs)

    def validate(self) -> "Settings":
        for name, lo, hi in (("align", 0.0, 1.0), ("angle", 0.0, math.pi), ("budget", 0.0, 86400.0)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo < v <= hi):
                raise ValueError(f"sweep setting {name} must be a number in ({lo:g}, {hi:g}]; got {v!r}")
        unknown = [c for c in self.claims if c not in REGISTRY]
        if unknown:
            raise ValueError(f"unknown claim id(s) {unknown}; see `aligncheck claims`")
        return self


def grid(depth=(2, 3), width=(4, 8), dim=(3,), n=(20,), loss=("logistic",), init=("gaussian",),
         policy=("relative",), seed=(0,)) -> list[dict]:
    """Every combination of the axes' values, in the order of AXES (the last axis varies fastest)."""
    axes = dict(depth=depth, width=width, dim=dim, n=n, loss=loss, init=init, policy=policy, seed=seed)
    for name, values in axes.items():
        if not values:
            raise ValueError(f"sweep axis {name} has no value")
        if len(set(values)) != len(values):
            raise ValueError(f"sweep axis {name} repeats a value: {list(values)}")
    size = math.prod(len(v) for v in axes.values())
    if size > MAX_POINTS:
        raise ValueError(f"the grid has {size} points; the limit is {MAX_POINTS}")
    return [dict(zip(AXES, combo)) for combo in itertools.product(*(axes[a] for a in AXES))]


def spec_of(point: dict, settings: Settings) -> RunSpec:
    """The validated RunSpec of one grid point (a one-line ValueError names what is out of range)."""
    depth, policy = point["depth"], point["policy"]
    if not (isinstance(depth, int) and 2 <= depth <= MAX_DEPTH):
        raise ValueError(f"sweep depth must be an integer in 2..{MAX_DEPTH} (alignment needs two layers); got {depth!r}")
    if policy not in POLICIES:
        raise ValueError(f"sweep policy must be one of {list(POLICIES)}; got {policy!r}")
    if point["loss"] not in losses.LOSSES:
        raise ValueError(f"sweep loss must be one of {sorted(losses.LOSSES)}; got {point['loss']!r}")
    if point["init"] not in init.INITS:
        raise ValueError(f"sweep init must be one of {sorted(init.INITS)}; got {point['init']!r}")
    base = RunSpec(data=("random", point["n"], point["dim"], settings.margin, point["seed"]), loss=point["loss"],
                   hidden=(point["width"],) * (depth - 1), init=point["init"], scale=settings.scale,
                   seed=point["seed"], checkpoints=settings.checkpoints)
    if policy == "relative":
        spec = base.with_(method="gd", policy="relative", eta=settings.eta or 0.01, max_norm=settings.max_norm,
                          horizon=settings.steps)
    elif policy == "a35":
        spec = base.with_(method="gd", policy="a35", horizon=settings.steps)
    elif policy == "constant":
        spec = base.with_(method="gd", policy="constant", eta=settings.eta or 0.1, horizon=settings.steps)
    else:
        spec = base.with_(method="flow", param="geometric", max_norm=settings.max_norm)
    return spec.validate()


def _checked_claims(settings: Settings) -> list:
    ids = settings.claims or [c.id for c in REGISTRY.values()]
    return [c for c in ordered(REGISTRY[i] for i in ids) if plan.needs_run(c) and not plan.on_long_runs(c)]


def _angle(w: np.ndarray, ubar: np.ndarray) -> float:
    """The angle between w and the unit vector ubar, accurate for small angles (2 atan2(|a - b|, |a + b|))."""
    norm = float(np.linalg.norm(w))
    if norm == 0:
        return math.pi / 2
    a = w / norm
    return float(2 * math.atan2(np.linalg.norm(a - ubar), np.linalg.norm(a + ubar)))


def _align_gap(snapshot) -> float:
    """max_k (1 - <v_{k+1}, u_k>^2) = g (2 - g), g = 1 - |<v_{k+1}, u_k>| (geometry.alignment_gap: no
    cancellation), over the adjacent pairs (triplets: (sigma, u, v) of each W_k)."""
    tr = snapshot.triplets
    gaps = [geometry.alignment_gap(tr[k + 1][2], tr[k][1]) for k in range(len(tr) - 1)]
    return max(g * (2 - g) for g in gaps)


def targets(traj, align: float, angle: float) -> dict:
    """When (t, norm) the run first reached each target, and where it ended."""
    ubar = geometry.max_margin(traj.Z).ubar
    row = {"align_t": math.nan, "align_norm": math.nan, "angle_t": math.nan, "angle_norm": math.nan}
    for s in traj.snapshots:
        gap, ang, norm = _align_gap(s), _angle(np.ravel(s.w_prod), ubar), float(np.max(s.fro))
        if math.isnan(row["align_t"]) and gap <= align:
            row["align_t"], row["align_norm"] = float(s.t), norm
        if math.isnan(row["angle_t"]) and ang <= angle:
            row["angle_t"], row["angle_norm"] = float(s.t), norm
    last = traj.snapshots[-1]
    row.update(final_t=float(last.t), final_norm=float(np.max(last.fro)), final_align_gap=_align_gap(last),
               final_angle=_angle(np.ravel(last.w_prod), ubar), stop=traj.stop_reason)
    return row


def run_point(index: int, point: dict, settings: Settings) -> dict:
    """One grid point, wherever an executor runs it: its row (the targets, or the error) and its verdicts
    [(claim_id, status, rel_slack, worst_slack)] (a task: plain, picklable values in and out)."""
    start = time.perf_counter()
    spec = spec_of(point, settings)
    row = {"point": index, **point, "spec": spec.to_json(), "error": ""}
    verdicts = []
    with one_at_a_time():
        try:
            traj = simulate(spec, max_seconds=settings.budget)
        except SIMULATION_ERRORS as exc:
            row["error"] = f"simulation failed: {type(exc).__name__}: {exc}"
        else:
            row.update(targets(traj, settings.align, settings.angle))
            for claim in _checked_claims(settings):
                if plan.speaks_about(claim, traj):
                    v = plan.check(claim, traj, f"point{index}", row["spec"])
                    verdicts.append((claim.id, v.status, v.rel_slack, v.worst_slack))
    row["seconds"] = time.perf_counter() - start
    return {"row": row, "verdicts": verdicts}


@dataclass
class SweepResult:
    settings: Settings
    points: list = field(default_factory=list)   # one row per grid point (run_point's row)
    claims: list = field(default_factory=list)   # one row per claim (summarise)
    seconds: float = 0.0
    executor: str = ""

    def describe(self) -> dict:
        return {"settings": asdict(self.settings), "points": len(self.points), "seconds": self.seconds,
                "executor": self.executor}


def _label(row: dict) -> str:
    return " ".join(f"{a}={row[a]}" for a in AXES)


def summarise(results: list[dict]) -> list[dict]:
    """Per claim (catalogue order): status counts over the grid and its tightest relative slack, where."""
    by_claim: dict[str, list] = {}
    for r in results:
        for cid, status, rel, worst in r["verdicts"]:
            by_claim.setdefault(cid, []).append((r["row"], status, rel, worst))
    rows = []
    for claim in ordered(REGISTRY[c] for c in by_claim):
        entries = by_claim[claim.id]
        counts = {}
        for _, status, _, _ in entries:
            counts[status] = counts.get(status, 0) + 1
        judged = [e for e in entries if e[2] is not None and e[1] in ("pass", "fail", "inconclusive")]
        tight = min(judged, key=lambda e: (e[2], e[0]["point"])) if judged else None
        rows.append({
            "claim_id": claim.id, "paper_ref": claim.ref, "kind": claim.kind, "erratum": bool(claim.erratum),
            "points": len(entries), **{f"n_{s}": counts.get(s, 0) for s in
                                       ("pass", "fail", "inconclusive", "vacuous", "error")},
            "tightest_rel_slack": tight[2] if tight else math.nan,
            "worst_slack_there": tight[3] if tight else math.nan,
            "at_point": tight[0]["point"] if tight else -1,
            "at": _label(tight[0]) if tight else "",
        })
    return rows


def sweep(points: list[dict], settings: Settings, executor: Executor | None = None,
          progress: Callable[[dict], None] | None = None) -> SweepResult:
    """Run every grid point on `executor` (default: one after the other, here) and summarise.  Every point's
    spec is built and validated first, so a bad grid fails before any run."""
    settings.validate()
    for p in points:
        spec_of(p, settings)
    executor = executor or SerialExecutor()
    start = time.perf_counter()
    results, futures = [], {}
    try:
        for i, p in enumerate(points):
            futures[i] = executor.submit(run_point, i, p, settings)
            if len(futures) >= executor.window:   # serial: done already; a pool takes the whole grid
                for j in sorted(futures):
                    results.append(futures.pop(j).result())
                    if progress is not None:
                        progress(results[-1]["row"])
        for j in sorted(futures):
            results.append(futures.pop(j).result())
            if progress is not None:
                progress(results[-1]["row"])
    finally:
        for f in futures.values():
            f.cancel()
    return SweepResult(settings, [r["row"] for r in results], summarise(results), time.perf_counter() - start,
                       executor.describe())
