"""Eq. (C.17), in the proof of Theorem 3.6: "|(||W_k(t)||_F^2 - ||W_j(t)||_F^2) - (||W_k(0)||_F^2 -
||W_j(0)||_F^2)| <= 2R(W(0))": under gradient descent the layers' squared norms drift apart by at
most 2R(W(0)) (under gradient flow by 0, eq. 2.5)."""
import itertools

import numpy as np

from ..model import Claim, register
from ._quantities import R0


def _sides(s, traj, bound=None):
    f2, f02 = s.fro**2, np.array([np.sum(w * w) for w in traj.ws0])
    idx = list(itertools.combinations(range(traj.L), 2))
    lhs = [abs((f2[k] - f2[j]) - (f02[k] - f02[j])) for k, j in idx]
    scale = [f2[k] + f2[j] + f02[k] + f02[j] for k, j in idx]
    return lhs, 2 * R0(traj) if bound is None else bound, scale


register(Claim(
    "EQC.17", "eq. (C.17)", "snapshot",
    "|(||W_k||_F^2 - ||W_j||_F^2) - (||W_k(0)||_F^2 - ||W_j(0)||_F^2)| <= 2R(W(0))",
    sides=_sides, runs="gd", hypotheses=("A3.1", "A3.5"),
    control=lambda s, t: _sides(s, t, bound=0.0), control_note="2R(W(0)) replaced by 0 (the flow's exact conservation)",
))
