"""The paper's printed expressions, transcribed once on the claims' side (plain numpy, or mpmath numbers in
object arrays for a high-precision replay; nothing from the simulator), so that a claim never judges the simulator with the simulator's own formula.  Each is pinned
against hand-worked values in tests/test_references.py.

  D := (max_k ||W_k(0)||_F^2) - ||W_L(0)||_F^2 + sum_{k<L} ||W_k(0) W_k(0)^T - W_{k+1}(0)^T W_{k+1}(0)||_2
                                                                                    (Section 2.1, before Lemma 2.6)
  beta(R) = 2 L^2 R^{2L-2} (beta + G), for R >= 1                                    (Lemma 3.2)
  logistic loss: beta = 1/4, G = 1 (Assumption 3.1; the exp loss has no finite G)   (Section 3)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dynamics.trajectory import Trajectory

SMOOTHNESS = {"logistic": (0.25, 1.0)}   # (beta, G) of Assumption 3.1, per loss that satisfies it


def _fro2(w: np.ndarray) -> float:
    w = np.asarray(w)
    return np.sum(w * w) if w.dtype == object else float(np.sum(np.asarray(w, float) ** 2))


def _spectral(w: np.ndarray) -> float:
    w = np.asarray(w)
    if w.dtype == object:   # mpmath numbers: a high-precision replay (theorems.engine.precision)
        import mpmath

        S = mpmath.svd_r(mpmath.matrix(w.tolist()), compute_uv=False)
        return max(S[i] for i in range(S.rows))
    return float(np.linalg.norm(np.asarray(w, float), 2))


def balance_gaps(ws0: tuple) -> list[np.ndarray]:
    """W_k(0) W_k(0)^T - W_{k+1}(0)^T W_{k+1}(0), k = 1..L-1."""
    return [ws0[k] @ ws0[k].T - ws0[k + 1].T @ ws0[k + 1] for k in range(len(ws0) - 1)]


def D_of(ws0: tuple) -> float:
    """D, as printed (depends only on the initialisation)."""
    return (max(_fro2(w) for w in ws0) - _fro2(ws0[-1])
            + sum(_spectral(a) for a in balance_gaps(ws0)))


def D(traj: Trajectory) -> float:
    return D_of(traj.ws0)


def A_norms(traj: Trajectory) -> np.ndarray:
    """||W_k(0) W_k(0)^T - W_{k+1}(0)^T W_{k+1}(0)||_2, k = 1..L-1."""
    return np.array([_spectral(a) for a in balance_gaps(traj.ws0)])


def spectral0(traj: Trajectory) -> np.ndarray:
    """||W_k(0)||_2, k = 1..L."""
    return np.array([_spectral(w) for w in traj.ws0])


def beta_of(R: float, L: int, loss_name: str) -> float:
    """beta(R) of Lemma 3.2 for a loss satisfying Assumption 3.1 (KeyError for one that does not)."""
    beta, G = SMOOTHNESS[loss_name]
    return 2.0 * L**2 * R ** (2 * L - 2) * (beta + G)
