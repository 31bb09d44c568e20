"""Losses of Assumption 1.1, evaluated exactly at any margin.

Every quantity is also available in the log domain (log l, log |l'|) so that risks of 1e-300 or
margins of 1e6 neither overflow nor underflow to 0; the plain values are exp() of those and are
exact wherever float64 can represent them.  The formulas are written once against the Array API, so
they take numpy arrays, torch tensors (CPU or CUDA) or Python numbers (-> numpy float64).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj


def _as_array(m):
    """m as an array of its own namespace (numpy, torch CPU/CUDA); Python numbers become float64 numpy."""
    if is_array_api_obj(m):
        return m, array_namespace(m)
    return np.asarray(m, dtype=float), array_namespace(np.empty(0))


def _softplus(xp, x):
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|})."""
    return xp.where(x > 0, x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def _exp_log_value(m):
    return -_as_array(m)[0]


def _logistic_log_value(m):
    # log(log1p(e^{-m})).  For m > 0 write log1p(x) = x * (log1p(x)/x), x = e^{-m}: the first factor
    # is exact in the log domain and the second lies in (1/2, 1] (1 - x/2 to float64 precision for
    # x <= 1e-8), so nothing underflows.  where() evaluates both branches: each gets safe inputs.
    m, xp = _as_array(m)
    x = xp.exp(-xp.abs(m))
    safe_x = xp.where(x > 0, x, xp.ones_like(x))
    ratio = xp.where(x > 1e-8, xp.log1p(safe_x) / safe_x, 1.0 - x / 2)
    pos = -m + xp.log(ratio)
    neg = xp.log(_softplus(xp, -xp.where(m > 0, xp.zeros_like(m), m)))  # m <= 0 only: no log(0)
    return xp.where(m > 0, pos, neg)


def _logistic_log_neg_deriv(m):
    # log sigmoid(-m) = -softplus(m)
    m, xp = _as_array(m)
    return -_softplus(xp, m)


@dataclass(frozen=True)
class Loss:
    """A loss l with l' < 0: value, derivative and their logs, plus the constants of Assumption 3.1.

    beta: Lipschitz constant of l' (None if l' is not Lipschitz on R).
    G: bound on |l'| (None if unbounded).
    """

    name: str
    beta: float | None
    G: float | None
    _log_value: object
    _log_neg_deriv: object

    def log_value(self, m):
        """log l(m), exact for every finite m."""
        return self._log_value(m)

    def log_neg_deriv(self, m):
        """log |l'(m)|, exact for every finite m."""
        return self._log_neg_deriv(m)

    def value(self, m):
        lv = self.log_value(m)
        return _as_array(lv)[1].exp(lv)

    def deriv(self, m):
        lg = self.log_neg_deriv(m)
        return -_as_array(lg)[1].exp(lg)

    def inverse(self, v: float) -> float:
        """l^{-1}(v) for v > 0 (l is a strictly decreasing bijection onto (0, inf))."""
        if self.name == "exp":
            return -math.log(v)
        # logistic: log(1 + e^{-m}) = v  <=>  m = -log(expm1(v))
        return -math.log(math.expm1(v))

    @property
    def at_zero(self) -> float:
        """l(0), the risk of the trivial predictor (Assumption 1.2)."""
        return float(self.value(0.0))

    @property
    def smooth(self) -> bool:
        """Assumption 3.1: l' is beta-Lipschitz and |l'| <= G."""
        return self.beta is not None and self.G is not None


EXP = Loss("exp", beta=None, G=None, _log_value=_exp_log_value, _log_neg_deriv=_exp_log_value)
LOGISTIC = Loss(
    "logistic",
    beta=0.25,
    G=1.0,
    _log_value=_logistic_log_value,
    _log_neg_deriv=_logistic_log_neg_deriv,
)
LOSSES = {loss.name: loss for loss in (EXP, LOGISTIC)}


def get(name: str) -> Loss:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None


__all__ = ["Loss", "EXP", "LOGISTIC", "LOSSES", "get"]
