"""Numeric cross-checks: random float64 instances run through the simulator's own code.

Tolerances (stated here, used by every identity claim):
  rounding(scale) = 1e3 * eps * scale: both sides are sums of a few dozen products of matrices of
      width <= 3 computed by BLAS, each with error <= (width) * eps * its magnitude; `scale` is the
      magnitude of the summed terms (as theorems.model.ROUNDING).
  fd(D_h, D_h2, f, h): a central difference D_h = (f(x + h v) - f(x - h v)) / 2h has error
      c h^2 + O(h^4) + rounding 2 eps |f| / 2h.  From the two step sizes h and h/2 the truncation of
      D_{h/2} is estimated as |D_h - D_{h/2}| / 3 (Richardson); the tolerance is 10 x (that estimate
      + the rounding term at h/2), the factor 10 covering the O(h^4) remainder and the estimate's
      own rounding.
  gd: a t-step gradient-descent identity telescopes t one-step identities, each exact up to
      rounding; tolerance (t + 1) x rounding(scale).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from dynamics import data
from dynamics.losses import EXP, LOGISTIC

from ...model import EPS
from ...model import rounding as _rounding

if TYPE_CHECKING:
    from dynamics.losses import Loss

H = 1e-4
DIMS = ((3, 2, 1), (3, 3, 2, 1), (2, 3, 3, 2, 1))  # (d_0, ..., d_L), L = 2..4
LOSSES = (EXP, LOGISTIC)
ETA, STEPS = 0.05, 5                                 # gradient-descent cross-checks


def rounding(scale: float) -> float:
    return float(_rounding(float(scale)))


def fd_tol(d_h: np.ndarray | float, d_h2: np.ndarray | float, fscale: float, h: float = H) -> float:
    return 10.0 * (float(np.max(np.abs(np.asarray(d_h) - np.asarray(d_h2)))) / 3 + 2 * EPS * fscale / (h / 2))


def instances(n: int = 6) -> Iterator[tuple[tuple[np.ndarray, ...], np.ndarray, Loss, str]]:
    """(ws, Z, loss, label): every shape of DIMS with both losses, random weights, separable data."""
    for i, dims in enumerate(DIMS):
        for j, loss in enumerate(LOSSES):
            seed = 10 * i + j
            rng = np.random.default_rng(seed)
            Z = data.random_separable(n, dims[0], margin=0.1, seed=seed).Z
            ws = tuple(0.8 * rng.standard_normal((dims[k + 1], dims[k])) for k in range(len(dims) - 1))
            yield ws, Z, loss, f"dims={dims}, {loss.name}, seed={seed}"


def central(f: Callable[[float], object], h: float = H) -> list[np.ndarray | float]:
    """(D_h, D_{h/2}) for a function f(s) of a scalar."""
    return [(np.asarray(f(s)) - np.asarray(f(-s))) / (2 * s) for s in (h, h / 2)]


def move(ws: Sequence[np.ndarray], direction: Sequence[np.ndarray], s: float) -> tuple[np.ndarray, ...]:
    return tuple(w + s * v for w, v in zip(ws, direction))


def worst(results: Iterable[tuple[float, float, str]]) -> tuple[float, float, str]:
    """results: iterable of (residual, tol, label) -> the one with the largest residual/tol ratio,
    and the largest residual."""
    results = list(results)
    r = max(results, key=lambda x: x[0] / max(x[1], 1e-300))
    return r
