"""Eq. (3.3): "if we choose some R and set a constant step size eta_t = 1/beta(R), then as long as
W(t+1) and W(t) are both in B(R), R(W(t+1)) - R(W(t)) <= -(eta_t/2) ||grad R(W(t))||^2."
And the same guarantee for Assumption 3.5's steps (eta_t = min(1/beta(R_t), 1), W(t), W(t+1) in
B(R_t) by eq. (C.6)), on which Lemma C.5 and Theorem 3.6 rest.
"""
import numpy as np

from dynamics import network
from dynamics.trajectory import Rule

from ..model import Claim, register
from ._paper import beta_of


def _decrease(a, b, factor=0.5):
    drop = a.step_size * a.grad_norm2
    return b.risk - a.risk, -factor * drop, a.risk + b.risk + drop


def _const(pair, traj, factor=0.5):
    a, b = pair
    R = a.radius
    if R is None or traj.policy.rule is Rule.ASSUMPTION_35:
        return None
    beta = beta_of(R, traj.L, traj.loss.name)
    inside = network.max_fro(a.ws) <= R and network.max_fro(b.ws) <= R
    return _decrease(a, b, factor) if inside and np.isclose(a.step_size, 1 / beta, rtol=1e-12) else None


register(
    Claim("EQ3.3", "eq. (3.3)", "step",
          "with W(t), W(t+1) in B(R), eta = 1/beta(R): R(W(t+1)) - R(W(t)) <= -(eta/2) ||grad R(W(t))||^2",
          sides=_const, runs="gd", hypotheses=("A3.1",),
          control=lambda p, t: _const(p, t, factor=2.0), control_note="eta/2 replaced by 2 eta"),
    Claim("EQ3.3-A35", "eq. (3.3) under Assumption 3.5", "step",
          "R(W(t+1)) <= R(W(t)) - (eta_t/2) ||grad R(W(t))||^2 for Assumption 3.5's steps",
          sides=lambda p, t: _decrease(*p), runs="gd", hypotheses=("A3.1", "A3.5"),
          control=lambda p, t: _decrease(*p, factor=2.0), control_note="eta_t/2 replaced by 2 eta_t"),
)
