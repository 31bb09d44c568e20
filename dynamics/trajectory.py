"""Snapshot / Trajectory: what a simulator keeps, and the log-spaced times at which it keeps it."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import numpy as np
from array_api_compat import array_namespace, device

from . import network
from .backend import to_numpy


def log_checkpoints(horizon: float, count: int, integer: bool) -> np.ndarray:
    """0, 1 and about `count` log-spaced times up to `horizon` (integers for gradient descent)."""
    pts = np.geomspace(1e-3 if not integer else 1, horizon, max(count, 2))
    pts = np.concatenate([[0.0, 1.0] if horizon >= 1 else [0.0], pts])
    if integer:
        pts = np.round(pts)
    return np.unique(pts[pts <= horizon])


class _Named(str, Enum):
    """A str-valued enum that prints as its value (as StrEnum does from Python 3.11 on)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Stop(_Named):
    """Why a run ended."""

    HORIZON = "horizon"
    NORM_REACHED = "norm reached"
    UNTIL = "until"
    ZERO_GRADIENT = "zero gradient"
    MAX_STEPS = "max steps"
    TIME_BUDGET = "time budget"
    SOLVER = "solver failure"

    @property
    def normal(self) -> bool:
        """The run ended where it was asked to (horizon, target norm, or its `until` condition)."""
        return self in (Stop.HORIZON, Stop.NORM_REACHED, Stop.UNTIL)


class Rule(_Named):
    """How a run moves: gradient flow in time or at geometric speed, or gradient descent's step policy."""

    FLOW_TIME = "time"
    FLOW_RISK = "risk"
    ASSUMPTION_35 = "assumption-3.5"
    CONSTANT = "constant"
    RELATIVE = "relative"
    RECORDED = "recorded"          # steps a user's own training took (aligncheck.trajectory)


@dataclass(frozen=True)
class Policy:
    """A run's step rule and its parameters; str() is the label the report prints."""

    rule: Rule
    eta: float | None = None        # constant steps
    radius: float | None = None     # constant steps eta = 1/beta(radius) (Lemma 3.4's setting)
    eps: float | None = None        # relative steps

    def __str__(self) -> str:
        if self.rule is Rule.ASSUMPTION_35:
            return "assumption-3.5(R_{t+1} = max_k ||W_k(t+1)||_F + 1 on exit)"
        if self.rule is Rule.CONSTANT:
            return f"constant(eta={self.eta})" if self.radius is None else f"constant(eta=1/beta({self.radius}))"
        if self.rule is Rule.RELATIVE:
            return f"relative(eps={self.eps})"
        return self.rule.value


@dataclass(frozen=True)
class GDSums:
    """Running sums of Appendix C up to (not including) step t:
    P_k = sum eta^2 G_k G_k^T, Q_k = sum eta^2 G_k^T G_k (G_k = dR/dW_k), and the scalars
    sum eta, sum eta ||grad R||^2, sum eta^2 ||grad R||^2.  Kept on the weights' backend while a run
    goes (Array API); `host()` is the numpy float64 copy a Snapshot holds."""

    P: tuple
    Q: tuple
    eta: float = 0.0
    eta_g2: float = 0.0
    eta2_g2: float = 0.0

    @classmethod
    def zero(cls, ws):
        xp = array_namespace(*ws)
        zeros = lambda d: xp.zeros((d, d), dtype=ws[0].dtype, device=device(ws[0]))  # noqa: E731
        return cls(tuple(zeros(w.shape[0]) for w in ws), tuple(zeros(w.shape[1]) for w in ws))

    def add(self, eta, grads, g2) -> "GDSums":
        """The sums after step t, given eta_t, the layer gradients and g2 = ||grad R(W(t))||^2."""
        xp = array_namespace(*grads)
        with np.errstate(over="ignore"):  # huge relative steps: the sums become inf, honestly, not an exception
            e2 = eta * eta
        return GDSums(
            tuple(p + e2 * g @ xp.matrix_transpose(g) for p, g in zip(self.P, grads)),
            tuple(q + e2 * xp.matrix_transpose(g) @ g for q, g in zip(self.Q, grads)),
            self.eta + eta, self.eta_g2 + eta * g2, self.eta2_g2 + e2 * g2,
        )

    def host(self) -> "GDSums":
        return GDSums(tuple(to_numpy(p) for p in self.P), tuple(to_numpy(q) for q in self.Q),
                      *(float(x) for x in (self.eta, self.eta_g2, self.eta2_g2)))


@dataclass(eq=False)
class Snapshot:
    """The state at one kept time, with the derived quantities computed once, on demand."""

    t: float
    ws: tuple
    Z: np.ndarray = field(repr=False)
    loss: object = field(repr=False)
    step_size: float | None = None   # GD: the eta_t used to go from t to t+1
    radius: float | None = None      # GD under Assumption 3.5: R_t
    sums: GDSums | None = None       # GD: sums up to t

    @cached_property
    def w_prod(self):
        return network.product(self.ws)

    @cached_property
    def _parts(self):
        return network.risk_parts(self.w_prod, self.Z, self.loss)

    @property
    def margins(self):
        return self._parts[0]

    @property
    def log_risk(self) -> float:
        return self._parts[1]

    @property
    def risk(self) -> float:
        return float(np.exp(self.log_risk))

    @cached_property
    def grad_w(self):
        """grad R(w_prod)."""
        return np.exp(self._parts[2]) * self._parts[3]

    @cached_property
    def layer_grads(self):
        return network.layer_grads_from(self.ws, self.grad_w)

    @cached_property
    def grad_norm2(self) -> float:
        """||grad R(W)||^2 = sum_k ||dR/dW_k||_F^2."""
        return float(sum(np.sum(g * g) for g in self.layer_grads))

    @cached_property
    def triplets(self):
        return [network.top_triplet(w) for w in self.ws]

    @cached_property
    def fro(self):
        return np.array([network.fro(w) for w in self.ws])

    @property
    def sigma(self):
        return np.array([s for s, _, _ in self.triplets])


@dataclass(eq=False)
class Trajectory:
    """The kept snapshots of one run and how it was produced."""

    method: str                 # "flow" or "gd"
    ws0: tuple
    Z: np.ndarray = field(repr=False)
    loss: object = field(repr=False)
    snapshots: list
    policy: Policy              # GD step policy, or flow parametrisation (time / risk)
    stop: Stop                  # why the run ended
    stop_detail: str = ""       # the solver's or the exception's own words, if any
    info: dict = field(default_factory=dict)

    @property
    def stop_reason(self) -> str:
        return f"{self.stop} ({self.stop_detail})" if self.stop_detail else str(self.stop)

    @property
    def L(self) -> int:
        return len(self.ws0)

    @cached_property
    def initial(self) -> Snapshot:
        s = self.snapshots[0]
        if s.t != 0:
            raise ValueError("the first snapshot must be the initialisation")
        return s

    def steps(self):
        """Consecutive kept pairs (W(t), W(t+1)) of a gradient-descent run."""
        s = self.snapshots
        return [(a, b) for a, b in zip(s, s[1:]) if b.t == a.t + 1]
