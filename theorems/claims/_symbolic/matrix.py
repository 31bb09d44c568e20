"""Dimension-free networks: MatrixSymbols of symbolic widths d_0..d_{L-1} (d_L = 1), L fixed.

Matrix-valued differences are expanded by sympy and must vanish term by term.  Scalar (trace)
differences are put in a canonical form first: a trace of a product is identified with its cyclic
rotations and with the trace of its transpose (tr(AB) = tr(BA), tr(A^T) = tr(A)), and, where a
projection Pi is declared, Pi^T = Pi and Pi Pi = Pi.  Those are the only rules used.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import sympy as sp
from sympy.combinatorics import Permutation
from sympy.tensor.array.expressions import ArrayTensorProduct, PermuteDims
from sympy.tensor.array.expressions.from_array_to_matrix import convert_array_to_matrix

eta = sp.Symbol("eta", positive=True)
LS = (2, 3, 4)  # depths for the dimension-free proofs (an identity for general L is by the same algebra)


class MNet:
    def __init__(self, L: int) -> None:
        self.L = L
        self.d = sp.symbols(f"d0:{L}", integer=True, positive=True) + (sp.S.One,)
        self.Ws = tuple(sp.MatrixSymbol(f"W{k + 1}", self.d[k + 1], self.d[k]) for k in range(L))
        self.g = sp.MatrixSymbol("g", self.d[0], 1)        # grad R(w_prod)
        self.z = sp.MatrixSymbol("z", self.d[0], 1)        # one data point
        self.Pi = sp.MatrixSymbol("Pi", self.d[0], self.d[0])  # projection onto ubar-perp
        self.G = tuple(self.formula(k, self.g) for k in range(1, L + 1))
        self.wprod_T = sp.MatMul(*reversed(self.Ws))        # W_L ... W_1 (1 x d_0)

    def formula(self, k: int, v: sp.MatrixExpr) -> sp.MatrixExpr:
        """W_{k+1}^T ... W_L^T v^T W_1^T ... W_{k-1}^T (EQ-GRAD with grad R(w_prod) = v), k 1-based."""
        Ws = self.Ws
        return sp.MatMul(*[W.T for W in Ws[k:]], v.T, *[W.T for W in Ws[:k - 1]])

    def step(self) -> tuple[sp.MatrixExpr, ...]:
        return tuple(W - eta * G for W, G in zip(self.Ws, self.G))


@lru_cache(maxsize=None)
def mnet(L: int) -> MNet:
    return MNet(L)


def as_matrix(expr: sp.Basic, shape: tuple) -> sp.MatrixExpr:
    """sympy's derivative of a 1x1 expression by a matrix, as a matrix of that matrix's shape.
    The array form ArrayTensorProduct(a, b) permuted to (p, q, 1, 1) is the outer product a b^T."""
    if isinstance(expr, PermuteDims) and isinstance(expr.expr, ArrayTensorProduct):
        a, b = expr.expr.args
        assert expr.permutation == Permutation([0, 2, 1, 3]) and a.shape[1] == b.shape[1] == 1
        out = a * b.T
    else:
        out = expr
    if out.shape != shape and out.shape[::-1] == shape:  # sympy returns row derivatives as columns
        out = out.T
    assert out.shape == shape, (out.shape, shape)
    return out


def margin_grad(net: MNet, k: int) -> sp.MatrixExpr:
    """d<w_prod, z>/dW_k by sympy's matrix calculus (k 1-based)."""
    m = net.wprod_T * net.z
    return as_matrix(convert_array_to_matrix(m.diff(net.Ws[k - 1])), net.Ws[k - 1].shape)


def mat_zero(expr: sp.Basic) -> bool:
    e = sp.expand(expr).doit()
    return e == 0 or isinstance(e, sp.ZeroMatrix) or sp.expand(e) == 0


def eta_coeff(expr: sp.Expr, power: int) -> sp.Expr:
    """The coefficient of eta^power in a matrix expression polynomial in eta."""
    e = sp.expand(expr)
    terms = e.args if isinstance(e, sp.MatAdd) else (e,)
    out = []
    for t in terms:
        c, mm = t.as_coeff_mmul()
        c = sp.expand(c).coeff(eta, power) if power else sp.expand(c).subs(eta, 0)
        if c != 0:
            out.append(c * mm)
    return sp.MatAdd(*out) if out else sp.S.Zero


# ---- traces -----------------------------------------------------------------------------------

def _T(f):
    return f.arg if isinstance(f, sp.Transpose) else f.T


def _factors(mm, projections):
    fs = list(mm.args) if isinstance(mm, sp.MatMul) else [mm]
    fs = [f for f in fs if not f.is_number]
    fs = [f.arg if isinstance(f, sp.Transpose) and f.arg in projections else f for f in fs]  # Pi^T = Pi
    out = []
    for f in fs:  # Pi Pi = Pi
        if out and f in projections and out[-1] == f:
            continue
        out.append(f)
    while len(out) > 1 and out[0] in projections and out[0] == out[-1]:  # cyclically too
        out.pop()
    return out


def _key(fs, projections=()):
    """Canonical name of tr(f_1 ... f_r): the least over rotations of the word and its transpose."""
    words = [fs, [f if f in projections else _T(f) for f in reversed(fs)]]
    cands = [tuple(map(str, w[i:] + w[:i])) for w in words for i in range(len(w))]
    return sp.Symbol("tr[" + "*".join(min(cands)) + "]")


def canon(expr: sp.Expr, projections: Iterable[sp.MatrixExpr] = ()) -> sp.Expr:
    """A scalar expression in traces (and 1x1 matrices), in canonical form; equal forms mean equal."""
    projections = tuple(projections)

    def tr(X: sp.MatrixExpr) -> sp.Expr:
        X = sp.expand(X)
        terms = X.args if isinstance(X, sp.MatAdd) else (X,)
        total = sp.S.Zero
        for t in terms:
            c, mm = t.as_coeff_mmul()
            total += c * _key(_factors(mm, projections), projections)
        return total

    e = expr.replace(lambda x: isinstance(x, sp.Trace), lambda x: tr(x.arg))
    return sp.expand(e)


def trace(X: sp.MatrixExpr) -> sp.Trace:
    return sp.Trace(X)


def fro2(X: sp.MatrixExpr) -> sp.Trace:
    return sp.Trace(X.T * X)


def inner(A: sp.MatrixExpr, B: sp.MatrixExpr) -> sp.Trace:
    """<A, B> = tr(A^T B)."""
    return sp.Trace(A.T * B)
