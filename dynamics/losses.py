"""Losses of Assumption 1.1, evaluated exactly at any margin.

Every quantity is also available in the log domain (log l, log |l'|) so that risks of 1e-300 or
margins of 1e6 neither overflow nor underflow to 0; the plain values are exp() of those and are
exact wherever float64 can represent them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_expit


def _exp_log_value(m):
    return -np.asarray(m, dtype=float)


def _logistic_log_value(m):
    # log(log1p(e^{-m})).  For m > 0 write log1p(x) = x * (log1p(x)/x), x = e^{-m}: the first factor
    # is exact in the log domain and the second lies in (1/2, 1], so nothing underflows.
    m = np.asarray(m, dtype=float)
    out = np.empty_like(m)
    pos = m > 0
    x = np.exp(-m[pos])
    ratio = np.where(x > 1e-8, np.log1p(x) / np.where(x > 0, x, 1.0), 1.0 - x / 2)
    out[pos] = -m[pos] + np.log(ratio)
    neg = ~pos
    out[neg] = np.log(np.logaddexp(0.0, -m[neg]))
    return out


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
        return np.exp(self.log_value(m))

    def deriv(self, m):
        return -np.exp(self.log_neg_deriv(m))

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
    _log_neg_deriv=lambda m: log_expit(-np.asarray(m, dtype=float)),
)
LOSSES = {loss.name: loss for loss in (EXP, LOGISTIC)}


def get(name: str) -> Loss:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None


# --- The same log-domain formulas for any Array API namespace (numpy, torch CPU/CUDA) -------------
# Used by the batched simulators (dynamics/batched.py).  They agree with the numpy functions above to
# a few ulps (different log1p/exp implementations); the numpy functions stay the reference.

def _softplus_xp(xp, x):
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|})."""
    return xp.where(x > 0, x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def log_value_xp(name: str, m, xp):
    """log l(m) for an array m of namespace xp, as exact as `Loss.log_value`."""
    if name == "exp":
        return -m
    if name != "logistic":
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    # m > 0: log(log1p(x)) = -m + log(log1p(x)/x), x = e^{-m} in (0, 1); for x <= 1e-8 the ratio is
    # 1 - x/2 to float64 precision.  Both branches are evaluated on safe inputs (where() evaluates all).
    x = xp.exp(-xp.abs(m))
    safe_x = xp.where(x > 0, x, xp.ones_like(x))
    ratio = xp.where(x > 1e-8, xp.log1p(safe_x) / safe_x, 1.0 - x / 2)
    pos = -m + xp.log(ratio)
    neg = xp.log(_softplus_xp(xp, -xp.where(m > 0, xp.zeros_like(m), m)))  # m <= 0 only: no log(0)
    return xp.where(m > 0, pos, neg)


def log_neg_deriv_xp(name: str, m, xp):
    """log |l'(m)| for an array m of namespace xp: exp: -m; logistic: log sigmoid(-m) = -softplus(m)."""
    if name == "exp":
        return -m
    if name != "logistic":
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return -_softplus_xp(xp, m)


__all__ = ["Loss", "EXP", "LOGISTIC", "LOSSES", "get", "log_value_xp", "log_neg_deriv_xp"]
