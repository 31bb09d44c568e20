"""Lemma 2.3: "Under Assumption 1.1 and 1.2, for any R > 0, there exists a constant eps(R) > 0, such
that for any t >= 1 and any W in B(R), ||dR/dW_1||_F >= eps(R)."

eps(R) as the proof constructs it: with -M = max_{|x| <= R^L} l'(x) = l'(R^L) (|l'| decreases) and
||grad R(w_prod)|| >= M gamma, ||dR/dW_1|| <= eps forces ||w_prod|| <= eps R/(M gamma), hence
R(W) >= l(eps R/(M gamma)); that contradicts R(W(t)) <= R(W(1)) < l(0) once
eps R/(M gamma) < l^{-1}(R(W(1))).  So eps(R) = M gamma l^{-1}(R(W(1))) / R works; at a snapshot we
use the smallest R with W in B(R), R = max_k ||W_k||_F, where eps(R) is largest.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from dynamics import network
from dynamics.trajectory import Rule

from ..model import Claim, register
from ._quantities import geom, grad_w1_norm

if TYPE_CHECKING:
    from dynamics.trajectory import Trajectory


def eps_of_R(R: float, traj: Trajectory) -> float:
    one = next((s for s in traj.snapshots if s.t == 1.0), None)
    if one is None or not one.risk < traj.loss.at_zero:
        return math.nan
    M = -float(traj.loss.deriv(R ** traj.L))
    return M * geom(traj).gamma * traj.loss.inverse(one.risk) / R


def _sides(s, traj):
    if s.t < 1 or traj.policy.rule is not Rule.FLOW_TIME:
        return None
    eps = eps_of_R(network.max_fro(s.ws), traj)
    return (grad_w1_norm(s), eps) if np.isfinite(eps) else None


def _control(s, traj):
    # "B(R) dropped": a single constant lower bound, the gradient at t = 1, for all t >= 1
    one = next((x for x in traj.snapshots if x.t == 1.0), None)
    return None if s.t < 1 or one is None else (grad_w1_norm(s), grad_w1_norm(one))


register(Claim(
    "L2.3", "Lemma 2.3", "snapshot",
    "for t >= 1 inside B(R): ||dR/dW_1||_F >= eps(R) > 0, with eps(R) as constructed in the proof",
    sides=_sides, relation=">=", runs="flow", hypotheses=("A1.1", "A1.2"),
    control=_control, control_note="B(R) dropped: ||dR/dW_1(t)|| >= ||dR/dW_1(1)|| for all t >= 1",
))
