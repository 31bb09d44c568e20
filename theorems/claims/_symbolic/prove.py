"""prove(...) -> Proof: the symbolic proofs (per shape and/or dimension-free) plus the numeric
cross-check, combined: ok only when every symbolic difference is exactly 0 and the numeric residual
is within its tolerance."""
from __future__ import annotations

from functools import lru_cache, partial
from typing import Callable

import sympy as sp

from ...model import Claim, Proof
from . import matrix, shapes

MAX_MSG = 400


def _short(expr) -> str:
    s = str(expr)
    return s if len(s) <= MAX_MSG else s[:MAX_MSG] + " ..."


def prove(*, shape_diff=None, matrix_diff=None, numeric=None, latex: str = "", shape_list=None,
          Ls=matrix.LS) -> Proof:
    """shape_diff(Net) / matrix_diff(MNet): the difference lhs - rhs, which must vanish.
    numeric() -> (residual, tol, where)."""
    shape_list = shapes.SHAPES if shape_list is None else shape_list
    bad, proved, parts = [], [], []
    if shape_diff is not None:
        for s in shape_list:
            diff = shape_diff(shapes.net(s))
            if shapes.is_zero(diff):
                proved.append(s)
            else:
                bad.append(f"shape {s}: lhs - rhs = {_short(shapes.first_nonzero(diff))} != 0 "
                           "(p_a stands for l'(<w_prod, z_a>))")
                break  # one concrete counterexample is enough
        parts.append(f"sympy per shape {list(shape_list)}")
    dim_free = False
    if matrix_diff is not None:
        for L in Ls:
            diff = matrix_diff(matrix.mnet(L))
            if not matrix.mat_zero(diff):
                bad.append(f"dimension-free, L={L}: lhs - rhs = {_short(sp.expand(diff))} != 0")
        dim_free = not any(b.startswith("dimension-free") for b in bad)
        parts.append(f"sympy dimension-free (MatrixSymbol, widths symbolic) for L in {list(Ls)}")
    residual = None
    if numeric is not None:
        residual, tol, where = numeric()
        parts.append(f"numeric cross-check (simulator code): max residual {residual:.3g} vs tol {tol:.3g} at {where}")
        if not residual <= tol:
            bad.append(f"numeric counterexample: residual {residual:.6g} > tol {tol:.3g} at {where}")
    return Proof(ok=not bad, method="; ".join(parts), latex=latex, shapes=tuple(proved),
                 dimension_free=dim_free, numeric_residual=residual, message=" | ".join(bad),
                 exact=any(not b.startswith("numeric") for b in bad))


def identity_claim(cid: str, ref: str, statement: str, latex: str, control_note: str, *, sym: Callable | None = None,
                   mat: Callable | None = None, num: Callable | None = None, good: dict | None = None,
                   bad: dict | None = None, erratum: str = "") -> Claim:
    """An identity claim proved by `prove`.  sym(Net), mat(MNet) and num() take keywords selecting a variant:
    `good` are the claim's own, `bad` the planted wrong ones of its negative control.  A claim with a
    matrix (dimension-free) proof declares it, unless it is an erratum (its proof must fail)."""
    def build(**variant: object) -> Proof:
        return prove(shape_diff=sym and partial(sym, **variant), matrix_diff=mat and partial(mat, **variant),
                     numeric=num and partial(num, **variant), latex=latex)
    return Claim(cid, ref, "identity", statement, proof=lru_cache(None)(partial(build, **(good or {}))),
                 control=lru_cache(None)(partial(build, **(bad or {}))), control_note=control_note,
                 dimension_free=mat is not None and not erratum, erratum=erratum)
