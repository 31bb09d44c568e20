"""Concrete-shape networks with symbolic entries and an undefined loss l (per-shape proofs)."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache, reduce

import sympy as sp

N_DATA = 2                       # two data points: enough to see the (1/n) sum over examples
l = sp.Function("l")             # the loss, left undefined: nothing about exp/logistic is used
eta = sp.Symbol("eta", positive=True)

# Shapes (d_0, ..., d_L), d_L = 1: L = 2..4, widths 1..3 (kept small so every proof is fast).
SHAPES = ((3, 2, 1), (1, 3, 1), (2, 2, 2, 1), (3, 1, 2, 1), (2, 2, 2, 2, 1))


def _matrix(name, rows, cols):
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


class Net:
    """Symbolic W_1..W_L, data z_a, risk R = (1/n) sum_a l(<w_prod, z_a>) and its gradients by diff."""

    def __init__(self, dims: Sequence[int]) -> None:
        self.dims, self.L = tuple(dims), len(dims) - 1
        self.Ws = tuple(_matrix(f"w{k + 1}", dims[k + 1], dims[k]) for k in range(self.L))
        self.zs = tuple(_matrix(f"z{a}", dims[0], 1) for a in range(N_DATA))
        self.p = sp.symbols(f"p0:{N_DATA}", real=True)   # stand-ins for l'(m_a)
        self.wprod = product_T(self.Ws)                    # (W_L ... W_1)^T, d_0 x 1
        self.m = tuple(sp.expand((self.wprod.T * z)[0]) for z in self.zs)
        self.R = sum(l(m) for m in self.m) / N_DATA
        self.G = tuple(self.grad(self.R, W) for W in self.Ws)  # dR/dW_k, by sympy's diff
        self.g = sum((pa * z for pa, z in zip(self.p, self.zs)), sp.zeros(dims[0], 1)) / N_DATA
        self.symbols = [s for W in self.Ws for s in W]

    def to_p(self, expr: sp.Expr) -> sp.Expr:
        """Rename every l'(m_a) sympy produced (a Subs of a Derivative of l) to p_a."""
        key = {m: pa for m, pa in zip(self.m, self.p)}

        def sub(e: sp.Subs) -> sp.Symbol:
            return key[sp.expand(e.point[0])]
        out = expr.replace(lambda e: isinstance(e, sp.Subs) and e.expr.has(l), sub)
        out = out.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == l,
                          lambda e: key[sp.expand(e.variables[0])])
        assert not out.has(l), "an l-term was left unnamed"
        return out

    def grad(self, expr: sp.Expr, W: sp.MatrixBase) -> sp.MatrixBase:
        return W.applyfunc(lambda w: self.to_p(sp.diff(expr, w)))

    def flow_derivative(self, expr: sp.Expr | sp.MatrixBase) -> sp.Expr | sp.MatrixBase:
        """d expr/dt along dW/dt = -grad R(W): the chain rule sum_w (d expr/dw) (-dR/dw), by diff."""
        if isinstance(expr, sp.MatrixBase):
            return expr.applyfunc(self.flow_derivative)
        total = sum(-sp.diff(expr, W[i, j]) * G[i, j] for W, G in zip(self.Ws, self.G)
                    for i in range(W.rows) for j in range(W.cols))
        return sp.expand(self.to_p(total))

    def step(self) -> tuple[sp.MatrixBase, ...]:
        """One gradient-descent step W - eta dR/dW."""
        return tuple(W - eta * G for W, G in zip(self.Ws, self.G))


def product_T(Ws: Sequence[sp.MatrixBase]) -> sp.MatrixBase:
    """(W_L ... W_1)^T."""
    return reduce(lambda acc, W: W * acc, Ws[1:], Ws[0]).T


def fro2(M: sp.MatrixBase) -> sp.Expr:
    return sum(x**2 for x in M)


def inner(A: sp.MatrixBase, B: sp.MatrixBase) -> sp.Expr:
    return sum(a * b for a, b in zip(A, B))


@lru_cache(maxsize=None)
def net(dims: tuple[int, ...]) -> Net:
    return Net(dims)


def is_zero(expr: sp.Expr | sp.MatrixBase) -> bool:
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    return sp.expand(expr) == 0


def first_nonzero(expr: sp.Expr | sp.MatrixBase) -> sp.Expr:
    """The first non-zero entry of a difference (for failure messages), expanded."""
    if isinstance(expr, sp.MatrixBase):
        for e in expr:
            if sp.expand(e) != 0:
                return sp.expand(e)
        return sp.S.Zero
    return sp.expand(expr)
