"""The tolerances claims declare beyond rounding, each derived from the run and described for the report.

  balance   rounding + sum_k (d_k + 1) ||E_k||_2, where E_k is how far the numerical path is from the
            identity the proof rests on: eq. (2.4) for flow (E_k = A_k(t) - A_k(0)), and for gradient
            descent the exact discrete identity A_k(t) = A_k(0) + P_k(t) - Q_{k+1}(t) (eq. (C.9) with
            the signs of its eta^2 terms corrected: E_k = A_k(t) - A_k(0) - P_k(t) + Q_{k+1}(t)).
  path      rounding + ||grad R|| * e, with e = (solver steps) * (atol + rtol * ||W||) a bound on the
            global error of the flow solution between two snapshots.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..model import Tolerance
from ._paper import balance_gaps

if TYPE_CHECKING:
    from dynamics.trajectory import Snapshot, Trajectory


def identity_defect(s: Snapshot, traj: Trajectory) -> float:
    """sum_k (d_k + 1) ||E_k||_2 (see the module docstring)."""
    A0 = balance_gaps(traj.ws0)
    At = balance_gaps(s.ws)
    total = 0.0
    for k, (a0, at) in enumerate(zip(A0, At)):
        E = at - a0
        if traj.method == "gd":
            E = E - s.sums.P[k] + s.sums.Q[k + 1]
        total += (a0.shape[0] + 1) * float(np.linalg.norm(E, 2))
    return total


def path_error(s: Snapshot, traj: Trajectory) -> float:
    if traj.method != "flow":
        return 0.0
    steps = traj.info.get("nfev", 0) / 12  # DOP853: 12 evaluations per step
    return float(np.sqrt(s.grad_norm2)) * steps * (traj.info["atol"] + traj.info["rtol"] * np.sqrt(np.sum(s.fro**2)))


def _anchor(point):
    """The snapshot a point is attached to (a step pair's first snapshot)."""
    return point[0] if isinstance(point, tuple) else point


BALANCE = Tolerance("balance", (
    "rounding + sum_k (d_k + 1) ||E_k||_2, where E_k is how far the numerical path is from the identity the "
    "proof rests on: eq. (2.4) for flow (E_k = A_k(t) - A_k(0)), and for gradient descent the exact discrete "
    "identity A_k(t) = A_k(0) + P_k(t) - Q_{k+1}(t) (eq. (C.9) with the signs of its eta^2 terms corrected: "
    "E_k = A_k(t) - A_k(0) - P_k(t) + Q_{k+1}(t)).  Summing (B.2)/(B.3) over layers propagates each E_k at "
    "most (d_k + 1) times (trace and spectral norm).  Capped at 1e-6 of the terms' magnitude: flows are "
    "integrated at rtol 1e-10 (defects seen up to 6e-9 of it); a larger defect means the run is not the "
    "path the proof is about, an error of the run."),
    lambda point, traj: identity_defect(_anchor(point), traj), cap=1e-6)

PATH = Tolerance("path", (
    "rounding + ||grad R|| * e, with e = (solver steps) * (atol + rtol * ||W||) a bound on the global error "
    "of the flow solution between two snapshots.  Capped at 1e-4 of the terms' magnitude (seen up to 3e-7 at "
    "rtol 1e-10): a looser solve is an error of the run."),
    lambda point, traj: path_error(_anchor(point), traj), cap=1e-4)


def _per_norm(norms2):
    """The balance defect over each element's own squared norm (0 where that norm is 0: no premise there)."""
    def extra(point, traj) -> np.ndarray:
        s = _anchor(point)
        n2 = np.asarray(norms2(s), float)
        return identity_defect(s, traj) / np.where(n2 > 0, n2, np.inf)
    return extra


def _divided(norm: str, norms2) -> Tolerance:
    return Tolerance(f"balance / {norm}", (
        f"rounding + the `balance` defect divided by {norm}, element by element: for bounds whose sides are a "
        f"balance inequality divided by {norm} (eq. (B.8), Lemma 2.6 and C.7's alignment bullets, the finite-time "
        "rates).  Capped like `balance`, at 1e-6 of each element's magnitude."), _per_norm(norms2), cap=BALANCE.cap)


BALANCE_PER_SIGMA2 = _divided("||W_{k+1}||_2^2", lambda s: s.sigma[1:] ** 2)
BALANCE_PER_FRO2 = _divided("||W_k||_F^2", lambda s: s.fro[s.fro > 0] ** 2)
