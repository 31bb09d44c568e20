"""Assumptions 1.1 / 3.1 for the two losses, and Appendix A, proved with sympy.

Assumption 1.1: "l' < 0 is continuous, lim_{x -> -inf} l(x) = inf and lim_{x -> inf} l(x) = 0."
Assumption 3.1: "l' is beta-Lipschitz and |l'| <= G" (catalogue: logistic beta = 1/4, G = 1; exp: fails).
Appendix A: "Suppose W_1(0) = 0 while W_L(0) ... W_2(0) != 0. ... R(W(0)) = R(0) ... dR/dW_1 != 0" and
"Consider minimizing R(w_1, w_2) = exp(-<w_1, w_2>). If w_1(0) = -w_2(0) != 0 ... for any t,
w_1(t) = -w_2(t), and R(w_1(t), w_2(t)) >= exp(0) > 0."

beta and G are derived, not typed: G = sup |l'| and beta = sup |l''| (l' is beta-Lipschitz iff
|l''| <= beta for a C^2 loss), each sup taken over the critical points and the limits at +-inf.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from dynamics import flow, network
from dynamics.data import random_separable
from dynamics.losses import EXP, LOGISTIC

from ..model import Claim, Proof, register
from ._symbolic import numeric as N
from ._symbolic import shapes as S

x = sp.Symbol("x", real=True)
LOSS_EXPR = {"exp": sp.exp(-x), "logistic": sp.log(1 + sp.exp(-x))}
SQUARE = (1 - x) ** 2   # the planted wrong loss of A1.1's control
SIM = {"exp": EXP, "logistic": LOGISTIC}


def _sup_abs(f):
    """sup_x |f(x)| over the critical points of f and its limits at +-inf (oo when unbounded)."""
    cands = [sp.limit(f, x, sp.oo), sp.limit(f, x, -sp.oo)]
    cands += [f.subs(x, c) for c in sp.solveset(sp.diff(f, x), x, sp.S.Reals) if c.is_real]
    return sp.Max(*[sp.Abs(sp.simplify(c)) for c in cands])


def _a11(l):
    d = sp.diff(l, x)
    neg = sp.ask(sp.Q.negative(d)) if d.is_negative is None else d.is_negative
    cont = sp.calculus.util.continuous_domain(d, x, sp.S.Reals) == sp.S.Reals
    lims = (sp.limit(l, x, -sp.oo) == sp.oo, sp.limit(l, x, sp.oo) == 0)
    return bool(neg) and cont and all(lims), f"l'={d}: negative={neg}, continuous={cont}, limits(-oo,+oo) ok={lims}"


def _a11_proof(losses):
    oks, texts, resid = [], [], 0.0
    for name, l in losses:
        ok, t = _a11(l)
        oks.append(ok), texts.append(f"{name}: {t}")
        if name in SIM:  # numeric: the simulator's l' < 0 on a grid, l small / large at the ends
            grid = np.linspace(-30, 30, 601)
            sim = SIM[name]
            ok_num = bool(np.all(sim.deriv(grid) < 0) and sim.value(700.0) < 1e-300 and sim.value(-700.0) >= 699.0)
            oks.append(ok_num)
            resid = max(resid, float(np.max(np.abs(sim.deriv(grid) - sp.lambdify(x, sp.diff(l, x))(grid)) / np.abs(sim.deriv(grid)))))
    tol = N.rounding(1.0)
    return Proof(ok=all(oks) and resid <= tol, method="sympy limits/sign/continuity; numeric grid of dynamics.losses",
                 latex=r"\ell' < 0,\ \lim_{-\infty}\ell = \infty,\ \lim_{\infty}\ell = 0",
                 numeric_residual=resid, message="; ".join(texts))


def _a31_constants(l):
    d1 = sp.diff(l, x)
    return _sup_abs(sp.diff(d1, x)), _sup_abs(d1)   # (beta, G)


def _a31_proof(expect_logistic=(sp.Rational(1, 4), 1)):
    beta_log, G_log = _a31_constants(LOSS_EXPR["logistic"])
    beta_exp, G_exp = _a31_constants(LOSS_EXPR["exp"])
    logistic_ok = (sp.simplify(beta_log - expect_logistic[0]) == 0 and sp.simplify(G_log - expect_logistic[1]) == 0)
    exp_fails = beta_exp == sp.oo and G_exp == sp.oo
    # numeric: the simulator's declared constants, and |l'|, |l''| (central differences) on a grid
    grid = np.linspace(-40, 40, 8001)
    h = 1e-4
    l2 = (LOGISTIC.deriv(grid + h) - LOGISTIC.deriv(grid - h)) / (2 * h)
    resid = max(abs(np.max(np.abs(l2)) - float(beta_log)), abs(np.max(np.abs(LOGISTIC.deriv(grid))) - float(G_log)))
    tol = 1e-7  # FD truncation h^2 |l''''|/6 <= 1e-9 plus the grid missing the sup of |l'| by e^-40
    declared = LOGISTIC.beta == float(beta_log) and LOGISTIC.G == float(G_log) and not EXP.smooth
    ok = bool(logistic_ok and exp_fails and resid <= tol and declared)
    msg = (f"derived: logistic beta = {beta_log}, G = {G_log}; exp beta = {beta_exp}, G = {G_exp} (A3.1 FAILS for exp, "
           f"holds for logistic); expected logistic ({expect_logistic[0]}, {expect_logistic[1]}); "
           f"dynamics.losses declares logistic ({LOGISTIC.beta}, {LOGISTIC.G}), exp smooth={EXP.smooth}")
    return Proof(ok=ok, method="sympy sup of |l'|, |l''| (critical points and limits); numeric grid",
                 latex=sp.latex(sp.Eq(sp.Symbol("beta_log"), beta_log)) + r",\ G_{\log} = " + sp.latex(G_log),
                 numeric_residual=float(resid), message=msg)


# ---- Appendix A ---------------------------------------------------------------------------------

def _appa1_proof(layer=0):
    """W_1 = 0: R = l(0) exactly, and a_1^T (dR/dW_{layer+1}) ubar = ||a_1||^2 l'(0) <zbar, ubar> for layer 0
    (non-zero as l'(0) < 0 and <zbar, ubar> >= gamma > 0); the control claims dR/dW_2 != 0, which is 0."""
    bad, shapes_ok = [], []
    for dims in S.SHAPES:
        net = S.net(dims)
        zero = {w: 0 for w in net.Ws[0]}
        R0 = sp.simplify(net.R.subs(zero))
        G = net.G[layer].subs(zero)
        l0 = {pa: sp.Symbol("lp0") for pa in net.p}   # every margin is 0: all p_a = l'(0)
        G = G.subs(l0)
        expect = sp.Symbol("lp0") * S.product_T(net.Ws[1:]) * (sum(net.zs, sp.zeros(dims[0], 1)) / S.N_DATA).T
        if layer != 0:  # the control's claim "dR/dW_k != 0": fails when sympy finds it identically 0
            expect = None if S.is_zero(G) else G
        if R0 != S.l(0) or expect is None or not S.is_zero(G - expect):
            bad.append(f"shape {dims}: R(W(0)) = {R0}, dR/dW_{layer + 1} = {G} (expected l'(0) a_1 zbar^T != 0)")
            break
        shapes_ok.append(dims)
    resid = 0.0
    for seed in range(3):  # numeric: the simulator at W_1 = 0 on separable data
        Z = random_separable(6, 3, 0.1, seed).Z
        rng = np.random.default_rng(seed)
        ws = (np.zeros((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((1, 2)))
        for loss in (EXP, LOGISTIC):
            resid = max(resid, abs(network.risk(ws, Z, loss) - loss.at_zero))
            if network.fro(network.layer_grads(ws, Z, loss)[layer]) == 0:
                bad.append(f"numeric: dR/dW_{layer + 1} = 0 at W_1 = 0 ({loss.name}, seed {seed})")
    return Proof(ok=not bad and resid <= N.rounding(1.0), method="sympy per shape; numeric (dynamics.network)",
                 latex=r"\mathcal{R}(W(0)) = \ell(0),\ \partial\mathcal{R}/\partial W_1 = \ell'(0)\,(W_L\cdots W_2)^\top \bar z^\top",
                 shapes=tuple(shapes_ok), numeric_residual=resid, message=" | ".join(bad))


def _appa2_proof(c=1):
    """The set w_1 = -c w_2 (paper: c = 1) under dw/dt = -grad exp(-w_1 w_2)."""
    w1, w2 = sp.symbols("w1 w2", real=True)
    R = sp.exp(-w1 * w2)
    h = w1 + c * w2
    dh = -sp.diff(R, w1) * sp.diff(h, w1) - sp.diff(R, w2) * sp.diff(h, w2)
    # d h/dt = h * exp(-w1 w2) when c = 1: a linear ODE in h, so h(0) = 0 gives h(t) = 0 (uniqueness)
    on_set = sp.simplify(dh.subs(w1, -c * w2))
    linear = sp.simplify(dh - h * R) == 0
    risk_on_set = sp.simplify(R.subs(w1, -w2))     # = exp(w2^2) >= exp(0)
    risk_ok = bool(sp.simplify(risk_on_set - sp.exp(w2**2)) == 0)
    resid = 0.0
    for a in (0.3, -0.7, 1.5):  # numeric: the simulator's field is tangent to the set
        ws = (np.array([[-c * a]]), np.array([[a]]))
        F = flow.field(ws, np.array([[1.0]]), EXP)
        resid = max(resid, abs(F[0][0, 0] + c * F[1][0, 0]))
        risk_ok &= network.risk(ws, np.array([[1.0]]), EXP) >= EXP.at_zero
    tol = N.rounding(np.exp(1.5**2) * 3)
    ok = on_set == 0 and risk_ok and resid <= tol
    return Proof(ok=bool(ok), method="sympy: d(w1 + w2)/dt = (w1 + w2) e^{-w1 w2} (tangent; invariant by uniqueness); numeric field",
                 latex=sp.latex(sp.Eq(sp.Symbol(r"\frac{d(w_1+w_2)}{dt}"), sp.factor(dh))),
                 numeric_residual=resid,
                 message=f"on the set: d h/dt = {on_set}; linear in h: {linear}; R on the set = {risk_on_set}")


def _known_loss(traj) -> str:
    """A1.1 on a run: its loss is one of the losses proved to satisfy it (exp, logistic)."""
    return "" if traj.loss.name in LOSS_EXPR else f"loss {traj.loss.name} not known to satisfy Assumption 1.1"


def _smooth_loss(traj) -> str:
    """A3.1 on a run: its loss is the one for which beta and G are finite (logistic)."""
    return "" if traj.loss.smooth else f"Assumption 3.1 fails for the {traj.loss.name} loss (l' is not bounded)"


register(
    Claim("A1.1", "Assumption 1.1", "identity", section="setting", requires=_known_loss, statement=
          "loss: l' < 0 continuous, l -> inf at -inf, l -> 0 at +inf (exp, logistic)",
          proof=lru_cache(None)(lambda: _a11_proof(list(LOSS_EXPR.items()))),
          control=lambda: _a11_proof([("square", SQUARE)]), control_note="the square loss (1 - x)^2"),
    Claim("A3.1", "Assumption 3.1", "identity", section="setting", requires=_smooth_loss, statement=
          "l' is beta-Lipschitz and |l'| <= G (logistic: beta = 1/4, G = 1; exp: fails). Holds for logistic "
          "(derived beta = 1/4, G = 1); FALSE for exp (|l'| = e^{-x} and |l''| unbounded): proof ok = the catalogued split",
          proof=lru_cache(None)(_a31_proof), control=lambda: _a31_proof((sp.Rational(1, 2), 1)),
          control_note="logistic beta = 1/2 (factor 2)"),
    Claim("APPA-1", "Appendix A", "identity",
          "W_1(0) = 0 and W_L...W_2 != 0 give R(W(0)) = l(0) and grad R(W(0)) != 0",
          proof=lru_cache(None)(_appa1_proof), control=lambda: _appa1_proof(layer=1),
          control_note="dR/dW_2 claimed non-zero at W_1 = 0 (it is 0)"),
    Claim("APPA-2", "Appendix A", "identity",
          "L = 2, scalar layers: w_1(0) = -w_2(0) stays so for all t, and R >= l(0) forever",
          proof=lru_cache(None)(_appa2_proof), control=lambda: _appa2_proof(c=2),
          control_note="the set w_1 = -2 w_2 claimed invariant"),
)
