"""Lemma 3.2: "Suppose l is beta-smooth.  If R >= 1, then beta(R) = 2 L^2 R^{2L-2} (beta + G), and R(W)
is a beta(R)-smooth function on the set B(R)", i.e. ||grad R(W) - grad R(V)|| <= beta(R) ||W - V||
for W, V in B(R).  Checked on pairs drawn in B(R) (the boundary included, where it is tightest),
some far apart and some close, for R in {1, 1.5, 2.5}, with the run's data and widths.
"""
import numpy as np

from dynamics import network

from ..model import Claim, register
from ._paper import beta_of

RADII = (1.0, 1.5, 2.5)
PAIRS = 24


def _in_ball(rng, shapes, R):
    ws = [rng.standard_normal(s) for s in shapes]
    return tuple(w * (R * rng.uniform(0.3, 1.0) ** (1 / w.size) / network.fro(w)) for w in ws)


def _points(traj):
    rng = np.random.default_rng(len(traj.Z) * 1009 + traj.L)
    shapes = [w.shape for w in traj.ws0]
    out = []
    for R in RADII:
        for j in range(PAIRS):
            W = _in_ball(rng, shapes, R)
            V = _in_ball(rng, shapes, R) if j % 2 else tuple(
                w + 1e-3 * rng.standard_normal(w.shape) for w in W)
            V = tuple(v * min(1.0, R / network.fro(v)) for v in V)
            out.append((R, W, V))
    return out


def _sides(point, traj, factor=1.0):
    R, W, V = point
    gW = network.layer_grads(W, traj.Z, traj.loss)
    gV = network.layer_grads(V, traj.Z, traj.loss)
    diff = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(gW, gV)))
    dist = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(W, V)))
    return diff, factor * beta_of(R, traj.L, traj.loss.name) * dist


register(Claim(
    "L3.2", "Lemma 3.2", "static",
    "for R >= 1, W, V in B(R): ||grad R(W) - grad R(V)|| <= beta(R) ||W - V||",
    sides=_sides, runs="gd", hypotheses=("A3.1",), points=_points, section="gd",
    control=lambda p, t: _sides(p, t, factor=1e-5), control_note="beta(R) scaled down by 1e5",
))
