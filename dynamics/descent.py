"""Gradient descent W(t+1) = W(t) - eta_t grad R(W(t)) with step-size policies.

Policies are small objects with `start(ws)` -> state and `step(state, ws, grads)` -> (eta, radius);
`after(state, ws_next)` updates their state.  Assumption 3.5 is implemented exactly as stated, with
the growth rule stated in `Assumption35`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import network
from .trajectory import GDSums, Snapshot, Trajectory, log_checkpoints


@dataclass(frozen=True)
class Constant:
    """eta_t = eta, or eta_t = 1/beta(radius) when a radius R is given (Lemma 3.4's setting)."""

    eta: float | None = None
    radius: float | None = None

    def name(self):
        return f"constant(eta={self.eta})" if self.radius is None else f"constant(eta=1/beta({self.radius}))"

    def start(self, ws, loss):
        if self.radius is None:
            return {"eta": self.eta}
        if not loss.smooth:
            raise ValueError("eta = 1/beta(R) needs Assumption 3.1 (beta, G); the exp loss has no finite G")
        return {"eta": 1.0 / network.beta_of_R(self.radius, len(ws), loss.beta, loss.G)}

    def step_size(self, state, ws, grads, loss):
        return state["eta"], self.radius

    def after(self, state, ws_next, loss):
        pass


@dataclass(frozen=True)
class Assumption35:
    """eta_t = min(1/beta(R_t), 1) with W(t) in B(R_t - 1), and R_{t+1} = R_t while W(t+1) in B(R_t - 1).

    Growth rule (the paper leaves it open): R_0 = max_k ||W_k(0)||_F + 1, and when W(t+1) leaves
    B(R_t - 1), R_{t+1} = max_k ||W_k(t+1)||_F + 1, the smallest radius the assumption allows.
    Since beta(R) >= 2 L^2 (beta + G) for R >= 1, every R_t is >= 1 as Lemma 3.2 needs.
    """

    def name(self):
        return "assumption-3.5(R_{t+1} = max_k ||W_k(t+1)||_F + 1 on exit)"

    def start(self, ws, loss):
        if not loss.smooth:
            raise ValueError("Assumption 3.5's step needs Assumption 3.1 (beta, G); the exp loss has no finite G")
        return {"R": network.max_fro(ws) + 1.0}

    def step_size(self, state, ws, grads, loss):
        R = state["R"]
        return min(1.0 / network.beta_of_R(R, len(ws), loss.beta, loss.G), 1.0), R

    def after(self, state, ws_next, loss):
        if network.max_fro(ws_next) > state["R"] - 1.0:
            state["R"] = network.max_fro(ws_next) + 1.0


@dataclass(frozen=True)
class Relative:
    """Scale-invariant steps: eta_t = eps * min_k ||W_k||_F / ||dR/dW_k||_F (each layer moves by at
    most a fraction eps of its norm).  Beyond the paper; for reaching large norms cheaply."""

    eps: float = 0.05

    def name(self):
        return f"relative(eps={self.eps})"

    def start(self, ws, loss):
        return {}

    def step_size(self, state, ws, grads, loss):
        ratios = [network.fro(w) / network.fro(g) for w, g in zip(ws, grads) if network.fro(g) > 0]
        return (self.eps * min(ratios) if ratios else 0.0), None

    def after(self, state, ws_next, loss):
        pass


def gradient_descent(ws0, Z, loss, policy, steps: int, checkpoints: int = 40, progress=None) -> Trajectory:
    """Run `steps` steps; keep W(t) and W(t+1) at log-spaced t (so per-step claims see real steps)."""
    keep = set(log_checkpoints(steps, checkpoints, integer=True).astype(int).tolist())
    keep |= {t + 1 for t in keep if t < steps}
    state = policy.start(ws0, loss)
    ws, sums, snaps, stop = tuple(np.array(w, dtype=float) for w in ws0), GDSums.zero(ws0), [], "horizon"
    start = time.perf_counter()
    for t in range(steps + 1):
        snap = Snapshot(t, ws, Z, loss, sums=sums)
        grads = snap.layer_grads
        eta, radius = policy.step_size(state, ws, grads, loss)
        snap.step_size, snap.radius = eta, radius
        if t in keep:
            snaps.append(snap)
        if t == steps:
            break
        if eta == 0.0 or snap.grad_norm2 == 0.0:
            stop = "zero gradient (underflow or critical point)"
            snaps.append(snap) if t not in keep else None
            break
        sums = sums.add(eta, grads)
        ws = tuple(w - eta * g for w, g in zip(ws, grads))
        policy.after(state, ws, loss)
        if progress is not None:
            progress(1)
    info = {"steps": t, "seconds": time.perf_counter() - start}
    return Trajectory("gd", ws0, Z, loss, snaps, policy=policy.name(), stop=stop, info=info)
