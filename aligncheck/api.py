"""The public Python API (re-exported by `aligncheck`): the claims, trajectories built from weights a user
recorded, one claim checked on a trajectory, a whole verification, and a written report as a table."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from dynamics import losses, network
from dynamics.data import DataError, Dataset
from dynamics.trajectory import GDSums, Policy, Rule, Snapshot, Stop, Trajectory
from theorems.model import KINDS, REGISTRY, RUNS, Claim, Outcome, Verdict, ordered
from theorems.run import plan
from theorems.run.verify import verify as _verify


def claims(kind: str | None = None, runs: str | None = None) -> list[Claim]:
    """The registered claims in catalogue order (each has .id, .ref, .kind, .runs, .statement), optionally
    only those of one kind ("identity", "snapshot", "step", "static", "asymptotic", "experiment") or speaking
    about one kind of run ("flow", "gd", "any")."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {list(KINDS)}")
    if runs is not None and runs not in RUNS:
        raise ValueError(f"unknown runs {runs!r}; choose from {list(RUNS)}")
    return [c for c in ordered(REGISTRY.values()) if kind in (None, c.kind) and runs in (None, c.runs)]


def _as_numpy(w: object) -> np.ndarray:
    """A layer matrix as float64 numpy (torch tensors are detached and copied to the host)."""
    if hasattr(w, "detach"):
        w = w.detach().cpu().numpy()
    a = np.asarray(w)
    if a.dtype.kind not in "fiu" or a.ndim != 2:
        raise ValueError(f"every layer must be a real 2-D matrix; got dtype {a.dtype} and shape {a.shape}")
    return a.astype(float)


def _layers(weights: Sequence[Sequence[object]], d: int) -> list[tuple[np.ndarray, ...]]:
    """The recorded weights as tuples of float64 matrices, checked to chain d -> ... -> 1 at every time."""
    if len(weights) < 1:
        raise ValueError("weights must hold at least one recorded time")
    out = [tuple(_as_numpy(w) for w in ws) for ws in weights]
    shapes = [w.shape for w in out[0]]
    for t, ws in enumerate(out):
        if [w.shape for w in ws] != shapes:
            raise ValueError(f"the layer shapes change at record {t}: {[w.shape for w in ws]} vs {shapes}")
        if not all(np.isfinite(w).all() for w in ws):
            raise ValueError(f"non-finite weights at record {t}")
    dims = [shapes[0][1]] + [s[0] for s in shapes]
    if dims[0] != d or dims[-1] != 1 or any(a[1] != b[0] for a, b in zip(shapes[1:], shapes[:-1])):
        raise ValueError(f"the layers must chain W_1: R^{d} -> ... -> W_L: -> R^1 (W_k is d_k x d_(k-1)); "
                         f"got shapes {shapes}")
    return out


def trajectory(weights: Sequence[Sequence[object]], X: object, y: object, *, loss: str = "logistic",
               method: str = "gd", step_sizes: float | Sequence[float] | None = None,
               times: Sequence[float] | None = None) -> Trajectory:
    """A trajectory from weights a user recorded: `weights[t]` is the list [W_1, ..., W_L] at record t (numpy
    arrays or torch tensors; W_k is d_k x d_(k-1), W_L a row), the first record being the initialisation.
    X (n x d) and y (labels +-1) are validated like any dataset (||x_i|| <= 1, separable through the origin).

    method "gd": record t is the iterate after `times[t]` steps (default 0, 1, 2, ...); `step_sizes` (one
    number, or one per step) gives eta_t, which the per-step claims need; when every step is recorded the
    sums of Appendix C are accumulated too.  method "flow": `times` are the flow times of the records."""
    if method not in ("gd", "flow"):
        raise ValueError(f"method must be 'gd' or 'flow'; got {method!r}")
    try:
        ds = Dataset(np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel(), name="user data")
    except (TypeError, ValueError) as exc:
        raise DataError(str(exc)) from None
    lo = losses.get(loss)
    ws_all = _layers(weights, ds.d)
    t = np.arange(len(ws_all), dtype=float) if times is None else np.asarray(times, dtype=float)
    if t.shape != (len(ws_all),) or t[0] != 0 or np.any(np.diff(t) <= 0):
        raise ValueError("times must start at 0 and increase, one per record")
    etas = None
    if step_sizes is not None:
        if method != "gd":
            raise ValueError("step_sizes are for gradient descent (method='gd')")
        etas = np.broadcast_to(np.asarray(step_sizes, dtype=float), (len(ws_all),)).copy()
        if not np.all(np.isfinite(etas) & (etas > 0)):
            raise ValueError("step sizes must be finite and > 0")
    every_step = method == "gd" and etas is not None and np.array_equal(t, np.arange(len(t)))
    snaps, sums = [], GDSums.zero(ws_all[0]) if every_step else None
    for i, (ti, ws) in enumerate(zip(t, ws_all)):
        snaps.append(Snapshot(float(ti), ws, ds.Z, lo, step_size=None if etas is None else float(etas[i]), sums=sums))
        if every_step:
            grads = network.layer_grads(ws, ds.Z, lo)
            sums = sums.add(float(etas[i]), grads, float(sum(np.sum(g * g) for g in grads)))
    constant = etas is not None and np.all(etas == etas[0])
    policy = (Policy(Rule.FLOW_TIME) if method == "flow" else
              Policy(Rule.CONSTANT, eta=float(etas[0])) if constant else Policy(Rule.RECORDED))
    info = {"source": "recorded by the user", "nfev": 0, "rtol": 0.0, "atol": 0.0}
    return Trajectory(method, ws_all[0], ds.Z, lo, snaps, policy=policy, stop=Stop.HORIZON, info=info)


def check(claim_id: str, traj: Trajectory | None = None) -> Verdict:
    """One claim's verdict (.status, .worst_slack, .rel_slack, .message) on a trajectory, by the machinery
    verify uses; identities and the redrawn Figures 1 and 2 need no trajectory."""
    if claim_id not in REGISTRY:
        raise ValueError(f"unknown claim id {claim_id!r}; see aligncheck.claims()")
    claim = REGISTRY[claim_id]
    if plan.needs_run(claim) and traj is not None and not plan.speaks_about(claim, traj):
        return Verdict(claim_id, "user", "vacuous", message=f"{claim_id} speaks about {claim.runs} runs, "
                                                            f"not {traj.method}")
    return plan.check(claim, traj, "user")


def verify(profile: str = "ci", seed: int = 0, data: str | None = None, claims: list[str] | None = None,
           device: str = "auto", horizon_scale: float = 1.0, jobs: int = 1, hunt: int | None = None) -> Outcome:
    """Every claim (or those in `claims`) on the runs of a profile: the Outcome a report is written from
    (aligncheck.reporting.write.write).  `jobs` > 1 runs the simulations in that many processes (same
    results; a script doing so needs an `if __name__ == "__main__":` guard); `hunt`: the drawn runs steered
    towards every bound (default: the profile's)."""
    return _verify(profile, seed, data, claims, device=device, horizon_scale=horizon_scale, jobs=jobs,
                   hunt_examples=hunt)


def load_report(path: str | Path, verdicts: bool = False) -> pd.DataFrame:
    """A written report as a table: one row per claim (index: claim id; status, worst and relative slack,
    runs, ...) from its summary.json, or with verdicts=True one row per claim x run from results.csv."""
    path = Path(path)
    if verdicts:
        if not (path / "results.csv").is_file():
            raise ValueError(f"{path} holds no results.csv: not an aligncheck report folder")
        return pd.read_csv(path / "results.csv")
    if not (path / "summary.json").is_file():
        raise ValueError(f"{path} holds no summary.json: not an aligncheck report folder")
    claims_ = json.loads((path / "summary.json").read_text())["claims"]
    frame = pd.DataFrame.from_dict(claims_, orient="index")
    frame.index.name = "claim_id"
    return frame
