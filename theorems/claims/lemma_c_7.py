"""Lemma C.7 (the gradient-descent analogue of Lemma 2.6) and the steps of its proof (Appendix C).

(C.10) "sum_tau eta_tau^2 ||grad R||^2 <= sum_tau eta_tau ||grad R||^2 <= 2R(W(0)) - 2R(W(t))"
(C.11) "sigma_k^2(t) >= sigma_{k+1}^2(t) - ||A_{k,k+1}||_2 - tr(P_k(t))".  It is derived from (C.9), whose
eta^2 terms have the wrong sign as printed: expanding W(t+1) = W(t) - eta G gives exactly
W_k W_k^T(t) - W_{k+1}^T W_{k+1}(t) = A_{k,k+1} + P_k(t) - Q_{k+1}(t), hence
sigma_k^2 >= v_{k+1}^T W_k W_k^T v_{k+1} >= sigma_{k+1}^2 - ||A_{k,k+1}||_2 - tr(Q_{k+1}(t))  (EQC.11-corrected).
Lemma C.7: "||W_k||_F^2 - ||W_k||_2^2 <= D + 2R(W(0))" and, as printed,
"<v_{k+1}, u_k>^2 >= 1 - D + 3R(W(0)) + ||W_{k+1}(0)||_2^2 + ||W_k(0)||_2^2 / ||W_{k+1}||_2^2",
while the proof concludes "<u_k, v_{k+1}>^2 >= 1 - (D + ||W_k(0)||_2^2 + ||W_{k+1}(0)||_2^2 + 3R(W(0))) / sigma_{k+1}^2".
"""
import numpy as np

from dynamics.runs import RunSpec

from ..model import Claim, register
from ._paper import A_norms, D, spectral0
from ._quantities import R0, align2, ks, lacks_sums, next_layer_vanishes, rhs_nonpositive
from ._tolerances import BALANCE, BALANCE_PER_SIGMA2


def _c10(s, traj, factor=1.0):
    if lacks_sums(s, traj):
        return None
    e2, e1 = s.sums.eta2_g2, s.sums.eta_g2
    budget = factor * (2 * R0(traj) - 2 * s.risk)
    return [e2, e1], [e1, budget], [e1 + e2, e1 + 2 * R0(traj) + 2 * s.risk]


def _c11(s, traj, drop_A=False, corrected=False):
    if lacks_sums(s, traj):
        return None
    sg2 = s.sigma**2
    tr = np.array([np.trace(m) for m in (s.sums.Q[1:] if corrected else s.sums.P[:-1])])
    A = 0 * A_norms(traj) if drop_A else A_norms(traj)
    return sg2[:-1], sg2[1:] - A - tr, sg2[1:] + A_norms(traj) + tr


def _c7a(s, traj, drop=False):
    if lacks_sums(s, traj):
        return None
    bound = 0.0 if drop else D(traj) + 2 * R0(traj)
    return s.fro**2 - s.sigma**2, bound, s.fro**2 + D(traj) + 2 * R0(traj)


def _c7b_printed(s, traj, drop=False):
    if next_layer_vanishes(s) or lacks_sums(s, traj):
        return None
    w0 = spectral0(traj)
    rhs = 1 - D(traj) + 3 * R0(traj) + w0[1:] ** 2 + w0[:-1] ** 2 / s.sigma[1:] ** 2
    rhs = np.ones_like(rhs) if drop else rhs
    return [align2(s, k) for k in ks(traj)], rhs, 1 + D(traj) + 3 * R0(traj) + w0[1:] ** 2 + w0[:-1] ** 2 / s.sigma[1:] ** 2


def _c7b_proof(s, traj, drop=False):
    if next_layer_vanishes(s) or lacks_sums(s, traj):
        return None
    w0 = spectral0(traj)
    num = D(traj) + w0[:-1] ** 2 + w0[1:] ** 2 + 3 * R0(traj)
    rhs = 1 - (0 if drop else num / s.sigma[1:] ** 2)
    return [align2(s, k) for k in ks(traj)], rhs, 1 + num / s.sigma[1:] ** 2


GD = ("A3.1", "A3.5")
register(
    Claim("EQC.10", "eq. (C.10)", "snapshot",
          "sum_tau eta_tau^2 ||grad R||^2 <= sum_tau eta_tau ||grad R||^2 <= 2R(W(0)) - 2R(W(t))",
          sides=_c10, runs="gd", hypotheses=GD,
          control=lambda s, t: _c10(s, t, factor=0.25), control_note="2R(W(0)) - 2R(W(t)) scaled by 1/4"),
    Claim("EQC.11", "eq. (C.11)", "snapshot",
          "sigma_k^2 >= sigma_{k+1}^2 - ||A_{k,k+1}||_2 - tr P_k(t)", sides=_c11, relation=">=", trivial=rhs_nonpositive,
          runs="gd", tolerance=BALANCE,
          control=lambda s, t: _c11(s, t, drop_A=True), control_note="||A_{k,k+1}||_2 dropped", erratum=(
              "derived from eq. (C.9), whose eta^2 terms have the wrong sign as printed: gradient descent gives "
              "exactly W_k W_k^T(t) - W_{k+1}^T W_{k+1}(t) = A_{k,k+1} + P_k(t) - Q_{k+1}(t), so the bound that "
              "follows is sigma_k^2 >= sigma_{k+1}^2 - ||A_{k,k+1}||_2 - tr Q_{k+1}(t) (EQC.11-corrected); with "
              "tr P_k(t) it fails when layer k+1's gradients dominate: e.g. a chain whose layers 2 and 3 are "
              "orthogonal at t = 0 (init broken_chain), where layer 2 moves while layer 1 does not"),
          witness=RunSpec(data=("a27", 3, 2, 0.3, 1), hidden=(2, 3), init="broken_chain", scale=0.7, method="gd",
                          policy="constant", eta=0.5, horizon=20, checkpoints=6)),
    Claim("EQC.11-corrected", "eq. (C.11) with (C.9)'s signs corrected", "snapshot",
          "sigma_k^2 >= sigma_{k+1}^2 - ||A_{k,k+1}||_2 - tr Q_{k+1}(t)",
          sides=lambda s, t: _c11(s, t, corrected=True), relation=">=", trivial=rhs_nonpositive, runs="gd", tolerance=BALANCE,
          control=lambda s, t: _c11(s, t, drop_A=True, corrected=True), control_note="||A_{k,k+1}||_2 dropped"),
    Claim("LC.7a", "Lemma C.7, bullet 1", "snapshot", "||W_k||_F^2 - ||W_k||_2^2 <= D + 2R(W(0))",
          sides=_c7a, runs="gd", hypotheses=GD, tolerance=BALANCE,
          control=lambda s, t: _c7a(s, t, drop=True), control_note="D + 2R(W(0)) replaced by 0"),
    Claim("LC.7b-printed", "Lemma C.7, bullet 2 (as printed)", "snapshot",
          "<v_{k+1}, u_k>^2 >= 1 - D + 3R(W(0)) + ||W_{k+1}(0)||_2^2 + ||W_k(0)||_2^2 / ||W_{k+1}||_2^2 (as printed)",
          sides=_c7b_printed, relation=">=", trivial=rhs_nonpositive, runs="gd", hypotheses=GD, tolerance=BALANCE_PER_SIGMA2,
          control=lambda s, t: _c7b_printed(s, t, drop=True), control_note="right side replaced by 1", erratum=(
              "the bracket is misplaced as printed: 1 - D + 3R(W(0)) + ||W_{k+1}(0)||^2 + ||W_k(0)||^2/||W_{k+1}||^2 "
              "exceeds 1 whenever 3R(W(0)) + ||W_{k+1}(0)||^2 > D, already at t = 0; the proof concludes LC.7b-proof")),
    Claim("LC.7b-proof", "Lemma C.7, bullet 2 (as the proof concludes)", "snapshot",
          "<v_{k+1}, u_k>^2 >= 1 - (D + ||W_k(0)||_2^2 + ||W_{k+1}(0)||_2^2 + 3R(W(0))) / sigma_{k+1}^2",
          sides=_c7b_proof, relation=">=", trivial=rhs_nonpositive, runs="gd", hypotheses=GD, tolerance=BALANCE_PER_SIGMA2,
          control=lambda s, t: _c7b_proof(s, t, drop=True), control_note="the correction term dropped"),
)
