"""The layer identities of Section 2.1 and of the proof of Theorem 2.8, proved with sympy.

Paper, Section 2.1: "grad R(w_prod) = (1/n) sum_i l'(<w_prod, z_i>) z_i" and
"dR/dW_k = W_{k+1}^T ... W_L^T grad R(w_prod)^T W_1^T ... W_{k-1}^T";
eq. (2.1) "dR(W)/dt = <grad R(W), dW/dt> = -||grad R(W)||^2 = -sum_k ||dR/dW_k||_F^2";
eq. (C.8) (also under (2.4)) "W_{k+1}^T dR/dW_{k+1} = W_{k+1}^T ... W_L^T grad R(w_prod)^T W_1^T ... W_k^T
= dR/dW_k W_k^T"; eq. (2.4) "W_{k+1}^T(t) W_{k+1}(t) - W_{k+1}^T(0) W_{k+1}(0) = W_k(t) W_k^T(t) -
W_k(0) W_k^T(0)"; eq. (2.5) "||W_{k+1}(t)||_F^2 - ||W_{k+1}(0)||_F^2 = ||W_k(t)||_F^2 - ||W_k(0)||_F^2";
Lemma 2.3's sketch "||dR/dW_1||_F = ||W_L ... W_2|| ||grad R(w_prod)||";
proof of Theorem 2.8, eq. (B.16) "d||W_1||_F^2/dt = <W_1, dW_1/dt> = -2 <w_prod, grad R(w_prod)>" and
eq. (B.17) "d||Pi_perp W_1||_F^2/dt = -2 <Pi_perp w_prod, grad R(w_prod)>", with
"Pi_perp w_prod = (W_L ... W_2 (Pi_perp W_1))^T".

Finding: the printed middle step of (B.16) lacks a factor 2: d||W_1||_F^2/dt = 2 <W_1, dW_1/dt>
(EQB.16-printed fails, EQB.16-printed-corrected passes; the end result EQB.16 is right).
Flow derivatives are proved as the chain rule sum_w (d f/dw)(-dR/dw) (per shape, sympy's diff) or as
the eta-coefficient of f(W - eta grad R(W)) (dimension-free); numerically by central differences of
the simulator's functions along dynamics.flow.field.
"""
from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import sympy as sp
import sympy.tensor.array.expressions.from_array_to_matrix  # noqa: F401

from dynamics import flow, network

from ..model import Claim, register
from ._symbolic import matrix as M
from ._symbolic import numeric as N
from ._symbolic import shapes as S
from ._symbolic.prove import identity_claim

# ---- EQ-GRADW: grad R(w) = (1/n) sum_i l'(<w, z_i>) z_i ------------------------------------------


def _gradw_sym(net, factor=1):
    w = sp.Matrix(net.dims[0], 1, lambda i, j: sp.Symbol(f"v_{i}", real=True))
    m = [sp.expand((w.T * z)[0]) for z in net.zs]
    R = sum(S.l(mi) for mi in m) / S.N_DATA
    key = dict(zip(m, net.p))
    grad = w.applyfunc(lambda x: sp.diff(R, x)).replace(
        lambda e: isinstance(e, sp.Subs), lambda e: key[sp.expand(e.point[0])])
    return grad - factor * net.g


def _gradw_mat(mn, factor=1):
    """d<w, z>/dw = z by sympy's matrix calculus (the chain rule through the scalar l does the rest);
    the control's factor n is planted as factor * z."""
    w = sp.MatrixSymbol("w", mn.d[0], 1)
    return M.as_matrix(sp.tensor.array.expressions.from_array_to_matrix.convert_array_to_matrix(
        (w.T * mn.z).diff(w)), w.shape) - factor * mn.z


def _gradw_num(factor=1):
    out = []
    for ws, Z, loss, where in N.instances():
        w = network.product(ws)
        rhs = factor * (loss.deriv(Z @ w) @ Z) / len(Z)
        for j in range(len(w)):
            e = np.eye(len(w))[j]
            dh, dh2 = N.central(lambda s: network.risk((np.atleast_2d(w + s * e),), Z, loss))
            out.append((abs(dh2 - rhs[j]), N.fd_tol(dh, dh2, network.risk(ws, Z, loss)), where))
        g = network.predictor_grad(w, Z, loss)  # the simulator's log-domain form of the same sum
        out.append((np.max(np.abs(g - rhs)), N.rounding(np.abs(Z).sum() * np.max(np.abs(loss.deriv(Z @ w)))), where))
    return N.worst(out)


# ---- EQ-GRAD: dR/dW_k = W_{k+1}^T ... W_L^T g^T W_1^T ... W_{k-1}^T -------------------------------

def _chain_np(ws, g, k):
    """The printed formula with numpy (k 0-based): W_{k+1}^T...W_L^T g^T W_1^T...W_{k-1}^T."""
    out = g[None, :]
    for w in reversed(ws[k + 1:]):
        out = w.T @ out
    for w in ws[:k]:
        out = out @ w.T
    return out


def _grad_formula_sym(net, k):
    out = net.g.T
    for W in reversed(net.Ws[k + 1:]):
        out = W.T * out
    for W in net.Ws[:k]:
        out = out * W.T
    return out


def _grad_sym(net, sign=1):
    return sp.Matrix.vstack(*[(net.G[k] - sign * _grad_formula_sym(net, k)).reshape(len(net.G[k]), 1)
                              for k in range(net.L)])


def _grad_mat(mn, sign=1):
    """d<w_prod, z>/dW_k by sympy's matrix calculus vs the formula with z for grad R(w_prod); the chain
    rule through the scalar l then gives dR/dW_k = (1/n) sum_i l'(m_i) (that) = the formula with g."""
    return _stack_zero([M.margin_grad(mn, k) - sign * mn.formula(k, mn.z) for k in range(1, mn.L + 1)])


def _stack_zero(diffs):
    """All differences vanish <=> this is 0 (diffs have different shapes, so test one by one)."""
    return sp.S.Zero if all(M.mat_zero(d) for d in diffs) else next(d for d in diffs if not M.mat_zero(d))


def _grad_num(sign=1):
    out = []
    for ws, Z, loss, where in N.instances():
        g = network.predictor_grad(network.product(ws), Z, loss)
        R = network.risk(ws, Z, loss)
        for k, w in enumerate(ws):
            rhs = sign * _chain_np(ws, g, k)
            for i, j in np.ndindex(w.shape):
                E = tuple(np.zeros_like(v) for v in ws)
                E[k][i, j] = 1.0
                dh, dh2 = N.central(lambda s: network.risk(N.move(ws, E, s), Z, loss))
                out.append((abs(dh2 - rhs[i, j]), N.fd_tol(dh, dh2, R), where))
            lg = network.layer_grads(ws, Z, loss)[k]  # the simulator's rank-one form
            out.append((np.max(np.abs(lg - rhs)), N.rounding(np.max(np.abs(rhs)) + np.max(np.abs(lg))), where))
    return N.worst(out)


# ---- EQ2.1: dR/dt = -sum_k ||dR/dW_k||_F^2 -----------------------------------------------------

def _eq21_sym(net, factor=1):
    return net.flow_derivative(net.R) + factor * sum(S.fro2(G) for G in net.G)


def _flow_fd(ws, Z, loss, f):
    F = flow.field(ws, Z, loss)
    return N.central(lambda s: f(N.move(ws, F, s)))


def _eq21_num(factor=1):
    out = []
    for ws, Z, loss, where in N.instances():
        dh, dh2 = _flow_fd(ws, Z, loss, lambda v: network.risk(v, Z, loss))
        g2 = sum(np.sum(G * G) for G in network.layer_grads(ws, Z, loss))
        out.append((abs(dh2 + factor * g2), N.fd_tol(dh, dh2, network.risk(ws, Z, loss)) + N.rounding(g2), where))
    return N.worst(out)


# ---- EQC.8: W_{k+1}^T dR/dW_{k+1} = dR/dW_k W_k^T ----------------------------------------------

def _c8_sym(net, moved=False):
    Ws, G = net.Ws, net.G
    return sp.Matrix.vstack(*[(Ws[k + 1].T * G[k + 1] - (Ws[k] * G[k].T if moved else G[k] * Ws[k].T)).reshape(net.dims[k + 1] ** 2, 1)
                              for k in range(net.L - 1)])


def _c8_mat(mn, moved=False):
    Ws, G = mn.Ws, mn.G
    return _stack_zero([Ws[k + 1].T * G[k + 1] - (Ws[k] * G[k].T if moved else G[k] * Ws[k].T) for k in range(mn.L - 1)])


def _c8_num(moved=False):
    out = []
    for ws, Z, loss, where in N.instances():
        G = network.layer_grads(ws, Z, loss)
        for k in range(len(ws) - 1):
            rhs = ws[k] @ G[k].T if moved else G[k] @ ws[k].T
            lhs = ws[k + 1].T @ G[k + 1]
            scale = np.linalg.norm(ws[k + 1]) * np.linalg.norm(G[k + 1]) + np.linalg.norm(ws[k]) * np.linalg.norm(G[k])
            out.append((np.max(np.abs(lhs - rhs)), N.rounding(scale), where))
    return N.worst(out)


# ---- EQ2.4 / EQ2.5: balancedness is conserved by the flow ----------------------------------------

def _bal_sym(ws, k, sign):
    return ws[k + 1].T * ws[k + 1] - sign * ws[k] * ws[k].T


def _eq24_sym(net, sign=1):
    return sp.Matrix.vstack(*[net.flow_derivative(_bal_sym(net.Ws, k, sign)).reshape(net.dims[k + 1] ** 2, 1)
                              for k in range(net.L - 1)])


def _eq24_mat(mn, sign=1):
    W = mn.step()  # d/dt f(W) = coefficient of eta in f(W - eta grad R(W))
    return _stack_zero([M.eta_coeff(_bal_sym(W, k, sign), 1) for k in range(mn.L - 1)])


def _eq24_num(sign=1):
    out = []
    for ws, Z, loss, where in N.instances():
        # network.balance is A_k = W_k W_k^T - W_{k+1}^T W_{k+1}; the control flips the sign of one term
        f = (lambda v: np.concatenate([a.ravel() for a in network.balance(v)])) if sign == 1 else \
            (lambda v: np.concatenate([(v[k] @ v[k].T + v[k + 1].T @ v[k + 1]).ravel() for k in range(len(v) - 1)]))
        dh, dh2 = _flow_fd(ws, Z, loss, f)
        scale = np.max(np.abs(f(ws))) + 1
        out.append((np.max(np.abs(dh2)), N.fd_tol(dh, dh2, scale), where))
    return N.worst(out)


def _eq25_sym(net, sign=1):
    return sp.Matrix([net.flow_derivative(S.fro2(net.Ws[k + 1]) - sign * S.fro2(net.Ws[k])) for k in range(net.L - 1)])


def _eq25_mat(mn, sign=1):
    W = mn.step()
    return sum(sp.Symbol(f"k{k}") * M.canon(sp.Trace(M.eta_coeff(W[k + 1].T * W[k + 1] - sign * W[k].T * W[k], 1)))
               for k in range(mn.L - 1))


def _eq25_num(sign=1):
    out = []
    for ws, Z, loss, where in N.instances():
        def f(v):
            return np.array([network.fro(v[k + 1]) ** 2 - sign * network.fro(v[k]) ** 2 for k in range(len(v) - 1)])
        dh, dh2 = _flow_fd(ws, Z, loss, f)
        out.append((np.max(np.abs(dh2)), N.fd_tol(dh, dh2, sum(network.fro(w) ** 2 for w in ws)), where))
    return N.worst(out)


# ---- EQ-W1NORM: ||dR/dW_1||_F = ||W_L ... W_2|| ||grad R(w_prod)|| -------------------------------

def _w1norm_sym(net, include_w1=False):
    a = S.product_T(net.Ws if include_w1 else net.Ws[1:])
    return S.fro2(net.G[0]) - S.fro2(a) * S.fro2(net.g)  # squares of both sides (both are >= 0)


def _w1norm_num(include_w1=False):
    out = []
    for ws, Z, loss, where in N.instances():
        G1 = network.layer_grads(ws, Z, loss)[0]
        a = network.product(ws if include_w1 else ws[1:])
        g = network.predictor_grad(network.product(ws), Z, loss)
        rhs = np.linalg.norm(a) * np.linalg.norm(g)
        out.append((abs(network.fro(G1) - rhs), N.rounding(rhs), where))
    return N.worst(out)


# ---- EQB.16 and its printed middle step ---------------------------------------------------------

def _b16_sym(net, factor=2):
    """d||W_1||^2/dt + factor <w_prod, g> (EQB.16 is factor 2)."""
    return net.flow_derivative(S.fro2(net.Ws[0])) + factor * S.inner(net.wprod, net.g)


def _b16_mat(mn, factor=2):
    W = mn.step()
    return M.canon(sp.Trace(M.eta_coeff(W[0].T * W[0], 1)) + factor * sp.Trace(mn.wprod_T * mn.g))


def _b16_printed_sym(net, factor=1):
    """d||W_1||^2/dt - factor <W_1, dW_1/dt> (printed: factor 1)."""
    return net.flow_derivative(S.fro2(net.Ws[0])) - factor * S.inner(net.Ws[0], -net.G[0])


def _b16_printed_mat(mn, factor=1):
    W = mn.step()
    return M.canon(sp.Trace(M.eta_coeff(W[0].T * W[0], 1)) - factor * M.inner(mn.Ws[0], -mn.G[0]))


def _b16_num(factor=2, printed=False):
    """printed=False: d||W_1||^2/dt vs -factor <w_prod, g>; True: vs factor <W_1, dW_1/dt>."""
    out = []
    for ws, Z, loss, where in N.instances():
        dh, dh2 = _flow_fd(ws, Z, loss, lambda v: network.fro(v[0]) ** 2)
        if printed:
            rhs = factor * np.sum(ws[0] * flow.field(ws, Z, loss)[0])
        else:
            rhs = -factor * network.product(ws) @ network.predictor_grad(network.product(ws), Z, loss)
        out.append((abs(dh2 - rhs), N.fd_tol(dh, dh2, network.fro(ws[0]) ** 2) + N.rounding(abs(rhs)), where))
    return N.worst(out)


# ---- EQB.17: d||Pi W_1||^2/dt = -2 <Pi w_prod, g>, Pi w_prod = (W_L ... W_2 Pi W_1)^T -------------

def _proj_sym(d0):
    """Pi = I - u u^T / (u^T u), u a symbolic non-zero vector: symmetric and idempotent identically."""
    u = sp.Matrix(d0, 1, lambda i, j: sp.Symbol(f"u_{i}", real=True))
    return sp.eye(d0) - u * u.T / (u.T * u)[0]


def _b17_sym(net, with_pi=True):
    Pi = _proj_sym(net.dims[0])
    rows = net.Ws[0] * Pi  # Pi applied to every row of W_1
    d1 = net.flow_derivative(S.fro2(rows)) + 2 * S.inner(Pi * net.wprod if with_pi else net.wprod, net.g)
    d2 = Pi * net.wprod - S.product_T((rows,) + net.Ws[1:])
    return sp.Matrix([sp.cancel(sp.together(e)) for e in [d1, *d2]])


def _b17_mat(mn, with_pi=True):
    W, Pi = mn.step(), mn.Pi
    rhs = mn.wprod_T * Pi * mn.g if with_pi else mn.wprod_T * mn.g
    d1 = M.canon(sp.Trace(M.eta_coeff((W[0] * Pi).T * (W[0] * Pi), 1)) + 2 * sp.Trace(rhs), [Pi])
    d2 = (Pi * mn.wprod_T.T) - sp.MatMul(*reversed((mn.Ws[0] * Pi,) + mn.Ws[1:])).T
    d2 = sp.expand(d2.doit()).xreplace({Pi.T: Pi})  # Pi is symmetric
    return d1 if d1 != 0 else (sp.S.Zero if M.mat_zero(d2) else d2)


def _b17_num(with_pi=True):
    out = []
    for idx, (ws, Z, loss, where) in enumerate(N.instances()):
        u = np.random.default_rng(100 + idx).standard_normal(ws[0].shape[1])
        u /= np.linalg.norm(u)            # the identity holds for any unit u, ubar included
        Pi = np.eye(len(u)) - np.outer(u, u)
        wp = network.product(ws)
        g = network.predictor_grad(wp, Z, loss)
        dh, dh2 = _flow_fd(ws, Z, loss, lambda v: network.fro(v[0] @ Pi) ** 2)
        rhs = -2 * ((Pi @ wp) if with_pi else wp) @ g
        out.append((abs(dh2 - rhs), N.fd_tol(dh, dh2, network.fro(ws[0]) ** 2) + N.rounding(abs(rhs)), where))
        proj = network.product((ws[0] @ Pi,) + ws[1:])
        out.append((np.max(np.abs(Pi @ wp - proj)), N.rounding(np.prod([network.fro(w) for w in ws])), where))
    return N.worst(out)


# ---- registration -------------------------------------------------------------------------------

_g = sp.Symbol(r"\nabla\mathcal{R}(w_{\mathrm{prod}})")

register(
    identity_claim("EQ-GRADW", "Section 2.1", "grad R(w_prod) = (1/n) sum_i l'(<w_prod, z_i>) z_i",
           r"\nabla\mathcal{R}(w) = \frac{1}{n}\sum_i \ell'(\langle w, z_i\rangle) z_i",
           "the factor 1/n dropped", sym=_gradw_sym, mat=_gradw_mat, num=_gradw_num, bad={"factor": S.N_DATA}),
    identity_claim("EQ-GRAD", "Section 2.1", "dR/dW_k = W_{k+1}^T ... W_L^T grad R(w_prod)^T W_1^T ... W_{k-1}^T",
           sp.latex(sp.Eq(sp.Symbol(r"\partial\langle w_{\mathrm{prod}},z\rangle/\partial W_2"), M.mnet(3).formula(2, M.mnet(3).z))),
           "sign flipped", sym=_grad_sym, mat=_grad_mat, num=_grad_num, bad={"sign": -1}),
    identity_claim("EQ2.1", "eq. (2.1)", "under flow dR/dt = -||grad R(W)||^2 = -sum_k ||dR/dW_k||_F^2",
           r"\frac{d\mathcal{R}}{dt} = -\sum_k \left\|\frac{\partial\mathcal{R}}{\partial W_k}\right\|_F^2",
           "factor 2 planted: dR/dt = -2 sum_k ||dR/dW_k||^2", sym=_eq21_sym, num=_eq21_num, bad={"factor": 2}),
    identity_claim("EQC.8", "eq. (C.8) (and Section 2.1 under eq. (2.4))", "W_{k+1}^T dR/dW_{k+1} = (dR/dW_k) W_k^T",
           sp.latex(sp.Eq(M.mnet(3).Ws[1].T * M.mnet(3).G[1], M.mnet(3).G[0] * M.mnet(3).Ws[0].T)),
           "transpose moved: W_k (dR/dW_k)^T", sym=_c8_sym, mat=_c8_mat, num=_c8_num, bad={"moved": True}),
    identity_claim("EQ2.4", "eq. (2.4)", "under flow W_{k+1}^T W_{k+1} - W_k W_k^T is constant in t (derivative is 0)",
           r"\frac{d}{dt}\left(W_{k+1}^\top W_{k+1} - W_k W_k^\top\right) = 0",
           "sign flipped: W_{k+1}^T W_{k+1} + W_k W_k^T constant", sym=_eq24_sym, mat=_eq24_mat, num=_eq24_num,
           bad={"sign": -1}),
    identity_claim("EQ2.5", "eq. (2.5)", "under flow ||W_{k+1}||_F^2 - ||W_k||_F^2 is constant in t",
           r"\frac{d}{dt}\left(\|W_{k+1}\|_F^2 - \|W_k\|_F^2\right) = 0",
           "sign flipped: ||W_{k+1}||^2 + ||W_k||^2 constant", sym=_eq25_sym, mat=_eq25_mat, num=_eq25_num,
           bad={"sign": -1}),
    identity_claim("EQ-W1NORM", "Section 2.1 (sketch of Lemma 2.3)", "||dR/dW_1||_F = ||W_L ... W_2|| * ||grad R(w_prod)||",
           r"\left\|\frac{\partial\mathcal{R}}{\partial W_1}\right\|_F = \|W_L\cdots W_2\|\,\|\nabla\mathcal{R}(w_{\mathrm{prod}})\|",
           "W_1 included in the product: ||W_L ... W_1||", sym=_w1norm_sym, num=_w1norm_num, bad={"include_w1": True}),
    identity_claim("EQB.16", "eq. (B.16)", "under flow d||W_1||_F^2/dt = -2 <w_prod, grad R(w_prod)>",
           r"\frac{d\|W_1\|_F^2}{dt} = -2\langle w_{\mathrm{prod}}, \nabla\mathcal{R}(w_{\mathrm{prod}})\rangle",
           "factor 2 lost: -<w_prod, grad R(w_prod)>", sym=_b16_sym, mat=_b16_mat, num=_b16_num, bad={"factor": 1}),
    identity_claim("EQB.16-printed", "eq. (B.16), middle step as printed",
           "the printed middle step: d||W_1||_F^2/dt = <W_1, dW_1/dt>  [FALSE as printed: the factor 2 is missing; "
           "see EQB.16-printed-corrected]",
           r"\frac{d\|W_1\|_F^2}{dt} = \left\langle W_1, \frac{dW_1}{dt}\right\rangle",
           "sign flipped: -<W_1, dW_1/dt>", sym=_b16_printed_sym, mat=_b16_printed_mat,
           num=partial(_b16_num, printed=True, factor=1), bad={"factor": -1}, erratum=(
               "the middle step lacks a factor 2: d||W_1||_F^2/dt = 2 <W_1, dW_1/dt> (EQB.16-printed-corrected); "
               "the end result, eq. (B.16), is right")),
    identity_claim("EQB.16-printed-corrected", "eq. (B.16), middle step corrected",
           "d||W_1||_F^2/dt = 2 <W_1, dW_1/dt>",
           r"\frac{d\|W_1\|_F^2}{dt} = 2\left\langle W_1, \frac{dW_1}{dt}\right\rangle",
           "the printed factor 1 (the erratum itself)", sym=partial(_b16_printed_sym, factor=2),
           mat=partial(_b16_printed_mat, factor=2), num=partial(_b16_num, printed=True, factor=2),
           bad={"factor": 1}),
    identity_claim("EQB.17", "eq. (B.17)",
           "under flow d||Pi_perp W_1||_F^2/dt = -2 <Pi_perp w_prod, grad R(w_prod)>; "
           "Pi_perp w_prod = (W_L...W_2 Pi_perp W_1)^T",
           r"\frac{d\|\Pi_\perp W_1\|_F^2}{dt} = -2\langle \Pi_\perp w_{\mathrm{prod}}, \nabla\mathcal{R}(w_{\mathrm{prod}})\rangle",
           "Pi_perp dropped on the right-hand side", sym=_b17_sym, mat=_b17_mat, num=_b17_num,
           bad={"with_pi": False}),
)
