"""Gradient-descent identities of Appendix C, proved with sympy (one step; t steps telescope).

Paper, eq. (C.9): "W_{k+1}^T(t) W_{k+1}(t) - W_{k+1}^T(0) W_{k+1}(0) + sum_tau eta_tau^2 (dR/dW_{k+1}(tau))^T
(dR/dW_{k+1}(tau)) = W_k(t) W_k^T(t) - W_k(0) W_k^T(0) + sum_tau eta_tau^2 (dR/dW_k(tau)) (dR/dW_k(tau))^T";
eq. (C.12): "||W_k(t)||_F^2 = ||W_{k+1}(t)||_F^2 + ||W_k(0)||_F^2 - ||W_{k+1}(0)||_F^2 - tr(P_k(t)) + tr(Q_{k+1}(t))";
proof of Theorem 3.7: "||W_1(t+1)||_F^2 = ||W_1(t)||_F^2 - 2 eta_t <w_prod(t), grad R(w_prod(t))> + eta_t^2 ||dR/dW_1(t)||_F^2".

Finding: (C.9) and (C.12) are printed with the wrong sign of the eta^2 terms.  Expanding
W(t+1) = W(t) - eta G with (C.8) cancelling the eta terms gives, per step,
W_{k+1}^T W_{k+1}(t+1) - W_{k+1}^T W_{k+1}(t) - eta^2 G_{k+1}^T G_{k+1} = W_k W_k^T(t+1) - W_k W_k^T(t) - eta^2 G_k G_k^T,
so the correct forms carry -Q_{k+1}(t) and -P_k(t) in (C.9), and +tr P_k(t) - tr Q_{k+1}(t) in (C.12)
(EQC.9-corrected, EQC.12-corrected).  The printed forms fail by 2 (Q_{k+1} - P_k) and 2 tr(P_k - Q_{k+1}).
Symbolically the one-step identity is proved (its t-step form is the telescoping sum over tau);
numerically t = 5 steps of dynamics.descent.gradient_descent with eta = 0.05 against the run's GDSums.
"""
from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import sympy as sp

from dynamics import descent, network

from ..model import Claim, register
from ._symbolic import matrix as M
from ._symbolic import numeric as N
from ._symbolic import shapes as S
from ._symbolic.prove import identity_claim


def _c9_parts(Ws, Wn, G, e, k, s):
    """(lhs - rhs) of one step of (C.9), with the eta^2 terms entering with sign s (printed: +1)."""
    lhs = Wn[k + 1].T * Wn[k + 1] - Ws[k + 1].T * Ws[k + 1] + s * e**2 * G[k + 1].T * G[k + 1]
    rhs = Wn[k] * Wn[k].T - Ws[k] * Ws[k].T + s * e**2 * G[k] * G[k].T
    return lhs - rhs


def _c9_sym(net, s=1):
    return sp.Matrix.vstack(*[_c9_parts(net.Ws, net.step(), net.G, S.eta, k, s).reshape(net.dims[k + 1] ** 2, 1)
                              for k in range(net.L - 1)])


def _c9_mat(mn, s=1):
    diffs = [_c9_parts(mn.Ws, mn.step(), mn.G, M.eta, k, s) for k in range(mn.L - 1)]
    bad = [d for d in diffs if not M.mat_zero(d)]
    return sp.expand(bad[0]) if bad else sp.S.Zero


def _c12_sym(net, s=1):
    Ws, Wn, G = net.Ws, net.step(), net.G
    return sp.Matrix([S.fro2(Wn[k]) - (S.fro2(Wn[k + 1]) + S.fro2(Ws[k]) - S.fro2(Ws[k + 1])
                                         - s * S.eta**2 * S.fro2(G[k]) + s * S.eta**2 * S.fro2(G[k + 1]))
                      for k in range(net.L - 1)])


def _c12_mat(mn, s=1):
    Ws, Wn, G, e = mn.Ws, mn.step(), mn.G, M.eta
    return sum(sp.Symbol(f"k{k}") * M.canon(M.fro2(Wn[k]) - (M.fro2(Wn[k + 1]) + M.fro2(Ws[k]) - M.fro2(Ws[k + 1])
                                                            - s * e**2 * M.fro2(G[k]) + s * e**2 * M.fro2(G[k + 1])))
               for k in range(mn.L - 1))


@lru_cache(maxsize=None)
def _runs():
    out = []
    for ws, Z, loss, where in N.instances():
        traj = descent.gradient_descent(ws, Z, loss, descent.Constant(eta=N.ETA), N.STEPS, checkpoints=N.STEPS)
        out.append((traj, where))
    return out


def _c9_num(s=1, trace=False):
    out = []
    for traj, where in _runs():
        last, ws0 = traj.snapshots[-1], traj.ws0
        P, Q, W = last.sums.P, last.sums.Q, last.ws
        for k in range(len(W) - 1):
            lhs = W[k + 1].T @ W[k + 1] - ws0[k + 1].T @ ws0[k + 1] + s * Q[k + 1]
            rhs = W[k] @ W[k].T - ws0[k] @ ws0[k].T + s * P[k]
            if trace:  # (C.12) is the trace of (C.9)
                lhs, rhs = np.trace(lhs), np.trace(rhs)
            scale = sum(network.fro(w) ** 2 for w in (W[k], W[k + 1], ws0[k], ws0[k + 1])) + np.trace(P[k]) + np.trace(Q[k + 1])
            out.append((float(np.max(np.abs(lhs - rhs))), (last.t + 1) * N.rounding(scale), f"{where}, t={last.t:g}"))
    return N.worst(out)


def _t37_sym(net, s=1):
    W1n = net.step()[0]
    return S.fro2(W1n) - (S.fro2(net.Ws[0]) - 2 * S.eta * S.inner(net.wprod, net.g) + s * S.eta**2 * S.fro2(net.G[0]))


def _t37_mat(mn, s=1):
    W1n = mn.step()[0]
    return M.canon(M.fro2(W1n) - (M.fro2(mn.Ws[0]) - 2 * M.eta * sp.Trace(mn.wprod_T * mn.g) + s * M.eta**2 * M.fro2(mn.G[0])))


def _t37_num(s=1):
    out = []
    for traj, where in _runs():
        for a, b in traj.steps():
            eta, G1 = a.step_size, a.layer_grads[0]
            rhs = network.fro(a.ws[0]) ** 2 - 2 * eta * a.w_prod @ a.grad_w + s * eta**2 * network.fro(G1) ** 2
            out.append((abs(network.fro(b.ws[0]) ** 2 - rhs), N.rounding(network.fro(a.ws[0]) ** 2 + abs(rhs)), f"{where}, t={a.t:g}"))
    return N.worst(out)


_C9 = (r"W_{k+1}^\top W_{k+1}(t) - W_{k+1}^\top W_{k+1}(0) %s Q_{k+1}(t) = W_k W_k^\top(t) - W_k W_k^\top(0) %s P_k(t)")
_C12 = (r"\|W_k(t)\|_F^2 = \|W_{k+1}(t)\|_F^2 + \|W_k(0)\|_F^2 - \|W_{k+1}(0)\|_F^2 %s \mathrm{tr}P_k(t) %s \mathrm{tr}Q_{k+1}(t)")

register(
    identity_claim("EQC.9", "eq. (C.9), as printed",
           "GD: W_{k+1}^T W_{k+1}(t) - W_{k+1}^T W_{k+1}(0) + Q_{k+1}(t) = W_k W_k^T(t) - W_k W_k^T(0) + P_k(t)  "
           "[FALSE as printed: the eta^2 sums enter with a minus sign; see EQC.9-corrected]",
           _C9 % ("+", "+"), "the eta^2 sums dropped", sym=_c9_sym, mat=_c9_mat, num=_c9_num, good={"s": 1}, bad={"s": 0}, erratum=(
               "the eta^2 sums enter with the wrong sign as printed: expanding W(t+1) = W(t) - eta G, the eta terms "
               "cancel by (C.8) and W_{k+1}^T W_{k+1}(t) - W_{k+1}^T W_{k+1}(0) - Q_{k+1}(t) = W_k W_k^T(t) - "
               "W_k W_k^T(0) - P_k(t) (EQC.9-corrected); the printed form is off by 2 (Q_{k+1}(t) - P_k(t))")),
    identity_claim("EQC.9-corrected", "eq. (C.9), corrected signs",
           "GD: W_{k+1}^T W_{k+1}(t) - W_{k+1}^T W_{k+1}(0) - Q_{k+1}(t) = W_k W_k^T(t) - W_k W_k^T(0) - P_k(t)",
           _C9 % ("-", "-"), "the eta^2 sums dropped", sym=_c9_sym, mat=_c9_mat, num=_c9_num, good={"s": -1}, bad={"s": 0}),
    identity_claim("EQC.12", "eq. (C.12), as printed",
           "||W_k(t)||_F^2 = ||W_{k+1}(t)||_F^2 + ||W_k(0)||_F^2 - ||W_{k+1}(0)||_F^2 - tr P_k(t) + tr Q_{k+1}(t)  "
           "[FALSE as printed: the signs of tr P_k, tr Q_{k+1} are swapped; see EQC.12-corrected]",
           _C12 % ("-", "+"), "the trace terms dropped", sym=_c12_sym, mat=_c12_mat,
           num=partial(_c9_num, trace=True), good={"s": 1}, bad={"s": 0}, erratum=(
               "the trace of the printed (C.9), wrong the same way: the correct form has + tr P_k(t) - tr Q_{k+1}(t) "
               "(EQC.12-corrected)")),
    identity_claim("EQC.12-corrected", "eq. (C.12), corrected signs",
           "||W_k(t)||_F^2 = ||W_{k+1}(t)||_F^2 + ||W_k(0)||_F^2 - ||W_{k+1}(0)||_F^2 + tr P_k(t) - tr Q_{k+1}(t)",
           _C12 % ("+", "-"), "the trace terms dropped", sym=_c12_sym, mat=_c12_mat,
           num=partial(_c9_num, trace=True), good={"s": -1}, bad={"s": 0}),
    identity_claim("EQ-T3.7", "proof of Theorem 3.7",
           "GD: ||W_1(t+1)||_F^2 = ||W_1||_F^2 - 2 eta <w_prod, grad R(w_prod)> + eta^2 ||dR/dW_1||_F^2",
           r"\|W_1(t+1)\|_F^2 = \|W_1\|_F^2 - 2\eta\langle w_{\mathrm{prod}}, \nabla\mathcal{R}(w_{\mathrm{prod}})\rangle + \eta^2\left\|\frac{\partial\mathcal{R}}{\partial W_1}\right\|_F^2",
           "the eta^2 term missing", sym=_t37_sym, mat=_t37_mat, num=_t37_num, good={"s": 1}, bad={"s": 0}),
)
