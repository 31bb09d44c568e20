"""Section 1.2 and Assumptions 1.2, 2.7: the setting, checked on every run's data and initialisation.

"Consider a data set {(x_i, y_i)}, where x_i in R^d, ||x_i|| <= 1, and y_i in {-1, +1}.  The data set
is assumed to be linearly separable [...] y_i <u, x_i> > 0."
"Assumption 1.2. The initialization W(0) satisfies grad R(W(0)) != 0 and R(W(0)) <= R(0) = l(0)."
"Assumption 2.7. The support vectors span the whole space R^d." [relaxable to the span of the data]
"""
import numpy as np

from dynamics.data import NORM_SLACK

from ..model import Claim, register
from ._quantities import POSITIVE, geom


def _data(traj, bound=1.0):
    # labels are validated by dynamics.data.Dataset when the run's data is built; z_i = y_i x_i here
    norms = np.linalg.norm(traj.Z, axis=1)
    g = geom(traj)
    worst_margin = float(np.min(traj.Z @ g.ubar))   # > 0 iff ubar separates: separable through 0
    return [norms.max(), POSITIVE], [bound + NORM_SLACK, worst_margin], [1.0, 1.0]


def _a12(traj, risk_bound=1.0):
    s = traj.initial
    return [s.risk, POSITIVE], [risk_bound * traj.loss.at_zero, s.grad_norm2], [s.risk + traj.loss.at_zero, 0.0]


def _a27(traj, extra=0):
    g = geom(traj)
    from dynamics.geometry import span_basis
    rank_s = span_basis(traj.Z[g.support]).shape[1]
    rank_data = span_basis(traj.Z).shape[1]
    return rank_s, rank_data + extra, 0.0


register(
    Claim("SET-DATA", "Section 1.2", "static", assumption=True, statement=
          "data separable through the origin, ||x_i|| <= 1, labels in {-1,+1}",
          sides=lambda traj, _: _data(traj),
          control=lambda traj, _: _data(traj, bound=0.5), control_note="norm bound 1 replaced by 1/2"),
    Claim("A1.2", "Assumption 1.2", "static", "grad R(W(0)) != 0 and R(W(0)) <= l(0)", assumption=True,
          sides=lambda traj, _: _a12(traj),
          control=lambda traj, _: _a12(traj, risk_bound=0.5), control_note="l(0) replaced by l(0)/2"),
    Claim("A2.7", "Assumption 2.7", "static", assumption=True, relation=">=", statement=
          "support vectors span R^d (or the span of the data)",
          sides=lambda traj, _: _a27(traj),
          control=lambda traj, _: _a27(traj, extra=1), control_note="one more dimension demanded than the data spans"),
)
