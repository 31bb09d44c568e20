"""SymPy machinery for the identity claims (CLAIMS.md, "Identities").

Two ways of proving an identity lhs = rhs, both ending in "the difference expands to exactly 0":

- `shapes`: concrete shapes (d_0, ..., d_L) with every matrix entry its own real symbol and the loss
  an undefined sympy Function l; gradients come from sympy's own `diff`, and l'(<w_prod, z_a>) is
  then renamed p_a (a generic scalar: an identity proved for every p_a holds for p_a = l'(m_a)).
- `matrix`: dimension-free, with MatrixSymbols of symbolic widths d_0, ..., d_{L-1} (L fixed),
  sympy's matrix calculus for the derivative of a margin, and a canonical form for traces (cyclic
  rotation and transposition are the only rules used; one more for a symmetric idempotent Pi).

`numeric` holds the tolerances and random instances of the numeric cross-checks (which use the
simulator's own code, never the sympy expressions), and `prove` assembles a `Proof`.
"""
# submodules: shapes, matrix, numeric, prove (imported by the claim modules that need them)

