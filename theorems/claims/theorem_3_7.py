"""Steps of the proof of Theorem 3.7 (Appendix C).

(C.18) "||Pi_perp W_1(t+1)||_F^2 <= ||Pi_perp W_1(t)||_F^2 - 2 eta_t <Pi_perp w_prod(t), grad R(w_prod(t))>
        + eta_t^2 ||dR/dW_1(t)||_F^2"   (algebra: holds for every gradient-descent step)
(C.19) "eta_t^2 ||dR/dW_1(t)||_F^2 <= eta_t ||grad R(W(t))||^2 <= 2 (R(W(t)) - R(W(t+1)))"
Bullet 3 and its use: "||W_1(t)||_F >= 1 + sqrt(2R(W(0)))/eps" is to give
"eps + 1/||W_1(t_3 - 1)||_F + sqrt(2R(W(0)))/||W_1(t_3)||_F <= 2 eps".  As printed this needs eps >= 1;
the threshold that gives it for every eps > 0 is ||W_1|| >= (1 + sqrt(2R(W(0))))/eps (T3.7-B3-corrected).
"""
import numpy as np

from dynamics import network

from ..model import Claim, register
from ._quantities import R0, geom, grad_w1_norm, perp_W1


def _c18(pair, traj, eta2=True):
    a, b = pair
    g = geom(traj)
    eta = a.step_size
    before = network.fro(perp_W1(a, traj)) ** 2
    cross = 2 * eta * float((g.perp @ a.w_prod) @ a.grad_w)
    quad = eta**2 * grad_w1_norm(a) ** 2 if eta2 else 0.0
    return network.fro(perp_W1(b, traj)) ** 2, before - cross + quad, before + abs(cross) + eta**2 * grad_w1_norm(a) ** 2


def _c19(pair, traj, factor=2.0):
    a, b = pair
    eta = a.step_size
    lhs = [eta**2 * grad_w1_norm(a) ** 2, eta * a.grad_norm2]
    rhs = [eta * a.grad_norm2, factor * (a.risk - b.risk)]
    return lhs, rhs, [eta * a.grad_norm2 * 2, a.risk + b.risk]


EPSILONS = (1e-3, 0.01, 0.1, 0.3, 0.5, 0.9, 1.0, 2.0, 10.0)


def _b3_points(traj):
    return [(eps, R0(traj)) for eps in EPSILONS]


def _b3(point, traj, corrected=False, factor=2.0):
    eps, r0 = point
    s = (2 * r0) ** 0.5   # not np.sqrt: a high-precision replay passes mpmath numbers
    N = (1 + s) / eps if corrected else 1 + s / eps   # the smallest ||W_1|| the threshold admits
    return eps + 1 / N + s / N, factor * eps, eps + (1 + s) / N


GD = ("A3.1", "A3.5")
register(
    Claim("EQC.18", "eq. (C.18)", "step",
          "||Pi_perp W_1(t+1)||_F^2 <= ||Pi_perp W_1||_F^2 - 2 eta <Pi_perp w_prod, grad R(w_prod)> + eta^2 ||dR/dW_1||_F^2",
          sides=_c18, runs="gd",
          control=lambda p, t: _c18(p, t, eta2=False), control_note="the eta^2 term dropped"),
    Claim("EQC.19", "eq. (C.19)", "step",
          "eta^2 ||dR/dW_1||_F^2 <= eta ||grad R(W)||^2 <= 2 (R(W(t)) - R(W(t+1)))",
          sides=_c19, runs="gd", hypotheses=GD,
          control=lambda p, t: _c19(p, t, factor=0.5), control_note="2 (R(t) - R(t+1)) replaced by (R(t) - R(t+1))/2"),
    Claim("T3.7-B3", "proof of Theorem 3.7, bullet 3", "static",
          "||W_1|| >= 1 + sqrt(2R(W(0)))/eps makes eps + 1/||W_1|| + sqrt(2R(W(0)))/||W_1|| <= 2 eps, for every eps > 0",
          sides=_b3, points=_b3_points, runs="any", section="gd",
          control=lambda p, t: _b3(p, t, factor=1.0), control_note="2 eps replaced by eps", erratum=(
              "||W_1|| >= 1 + sqrt(2R(W(0)))/eps gives 1/||W_1|| + sqrt(2R(W(0)))/||W_1|| <= eps only when eps >= 1; "
              "for eps < 1 the threshold must be (1 + sqrt(2R(W(0))))/eps (T3.7-B3-corrected)")),
    Claim("T3.7-B3-corrected", "proof of Theorem 3.7, bullet 3 (corrected threshold)", "static",
          "||W_1|| >= (1 + sqrt(2R(W(0))))/eps makes eps + 1/||W_1|| + sqrt(2R(W(0)))/||W_1|| <= 2 eps, for every eps > 0",
          sides=lambda p, t: _b3(p, t, corrected=True), points=_b3_points, runs="any", section="gd",
          control=lambda p, t: _b3(p, t, corrected=True, factor=1.0), control_note="2 eps replaced by eps"),
)
