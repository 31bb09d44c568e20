"""prove(...) -> Proof: the symbolic proofs (per shape and/or dimension-free) plus the numeric
cross-check, combined: ok only when every symbolic difference is exactly 0 and the numeric residual
is within its tolerance."""
from __future__ import annotations

import sympy as sp

from ...model import Proof
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
                 dimension_free=dim_free, numeric_residual=residual, message=" | ".join(bad))
