"""Gradient descent W(t+1) = W(t) - eta_t grad R(W(t)) with step-size policies.

Policies are small objects with `start(ws, loss)` -> state, `step_size(state, ws, grads, loss)` ->
(eta, radius) and `after(state, ws_next, loss)`, which updates their state.  Like the kernels of
network.py they are written once against the Array API: the same policy steps one numpy network here
and a batch of torch networks in dynamics/batched.py (eta and radius then have the batch's shape).
Assumption 3.5 is implemented exactly as stated, with the growth rule stated in `Assumption35`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from array_api_compat import array_namespace

from . import backend as _backend
from . import budget
from . import network
from .trajectory import GDSums, Policy, Rule, Snapshot, Stop, Trajectory, log_checkpoints


@dataclass(frozen=True)
class Constant:
    """eta_t = eta, or eta_t = 1/beta(radius) when a radius R is given (Lemma 3.4's setting)."""

    eta: float | None = None
    radius: float | None = None

    def describe(self) -> Policy:
        return Policy(Rule.CONSTANT, eta=self.eta, radius=self.radius)

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

    def describe(self) -> Policy:
        return Policy(Rule.ASSUMPTION_35)

    def start(self, ws, loss):
        if not loss.smooth:
            raise ValueError("Assumption 3.5's step needs Assumption 3.1 (beta, G); the exp loss has no finite G")
        return {"R": network.max_fro(ws) + 1.0}

    def step_size(self, state, ws, grads, loss):
        R = state["R"]
        eta = 1.0 / network.beta_of_R(R, len(ws), loss.beta, loss.G)
        xp = array_namespace(eta)
        return xp.where(eta < 1.0, eta, xp.ones_like(eta)), R

    def after(self, state, ws_next, loss):
        top = network.max_fro(ws_next)
        state["R"] = array_namespace(top).where(top > state["R"] - 1.0, top + 1.0, state["R"])


@dataclass(frozen=True)
class Relative:
    """Scale-invariant steps: eta_t = eps * min_k ||W_k||_F / ||dR/dW_k||_F over the layers with a
    nonzero gradient, 0 if none (each layer moves by at most a fraction eps of its norm).  Beyond the
    paper; for reaching large norms cheaply."""

    eps: float = 0.05

    def describe(self) -> Policy:
        return Policy(Rule.RELATIVE, eps=self.eps)

    def start(self, ws, loss):
        return {}

    def step_size(self, state, ws, grads, loss):
        xp = array_namespace(*ws)
        ratios = []
        for w, g in zip(ws, grads):
            gn = xp.asarray(network.fro(g))
            safe = xp.where(gn > 0, gn, xp.ones_like(gn))
            ratios.append(xp.where(gn > 0, network.fro(w) / safe, xp.full_like(gn, math.inf)))
        r = xp.min(xp.stack(ratios, axis=-1), axis=-1)
        return xp.where(xp.isfinite(r), self.eps * r, xp.zeros_like(r)), None

    def after(self, state, ws_next, loss):
        pass


def gradient_descent(ws0, Z, loss, policy, steps: int, checkpoints: int = 40, progress=None,
                     backend="numpy", engine: str = "numpy") -> Trajectory:
    """Run `steps` steps; keep W(t) and W(t+1) at log-spaced t (so per-step claims see real steps).

    The steps run on `backend` (a dynamics.backend.Backend or device word: "numpy", "torch-cpu",
    "cuda", ...); the kept snapshots and the Appendix-C sums are numpy float64 whatever the backend, so
    the claims read every run the same way.  engine="numba" (or "auto": numba if installed) runs the same
    steps in dynamics.compiled's loop (numpy backend only); "numpy", the default, is this loop, the reference.
    """
    if engine != "numpy" and _compiled_engine(engine, backend):
        from . import compiled

        return compiled.gradient_descent(ws0, Z, loss, policy, steps, checkpoints, progress)
    be = backend if isinstance(backend, _backend.Backend) else _backend.get(backend)
    keep = set(log_checkpoints(steps, checkpoints, integer=True).astype(int).tolist())
    keep |= {t + 1 for t in keep if t < steps}
    ws, Zb = tuple(be.asarray(w) for w in ws0), be.asarray(Z)
    state = policy.start(ws, loss)
    sums, snaps, stop, detail = GDSums.zero(ws), [], Stop.HORIZON, ""
    start = time.perf_counter()
    with be.small_kernels():
        for t in range(steps + 1):
            budget.check()
            grads = network.layer_grads(ws, Zb, loss)
            eta, radius = policy.step_size(state, ws, grads, loss)
            g2 = _sq_norm(grads)   # ||grad R(W(t))||^2, once: the stall test and the Appendix-C sums
            stalled = t < steps and (float(eta) == 0.0 or float(g2) == 0.0)
            if t in keep or t == steps or stalled:
                snaps.append(_snapshot(t, ws, Z, loss, sums, eta, radius))
            if t == steps:
                break
            if stalled:
                stop, detail = Stop.ZERO_GRADIENT, "underflow or critical point"
                break
            sums = sums.add(eta, grads, g2)
            ws = tuple(w - eta * g for w, g in zip(ws, grads))
            policy.after(state, ws, loss)
            if progress is not None:
                progress(1)
    info = {"steps": t, "seconds": time.perf_counter() - start, "backend": be.name}
    return Trajectory("gd", ws0, Z, loss, snaps, policy=policy.describe(), stop=stop, stop_detail=detail,
                      info=info)


def _compiled_engine(engine: str, backend) -> bool:
    """Whether `engine` selects the compiled loop (numba) rather than this module's loop: "auto" does on the
    numpy backend when numba imports; "numba" does, and is refused beside a torch backend."""
    from . import compiled

    name = compiled.resolve(engine)
    if isinstance(backend, _backend.Backend):
        on_numpy = backend.name == "numpy"
    else:   # a device word: only "auto" needs resolving (a torch word is not numpy, with or without torch)
        on_numpy = backend in ("numpy", "cpu") or (backend == "auto" and _backend.resolve(backend) == "numpy")
    if name == "numba" and not on_numpy:
        if engine == "auto":
            return False
        raise ValueError(f"engine 'numba' runs on the numpy backend only; got backend {backend!r}")
    return name == "numba"


def _sq_norm(grads):
    xp = array_namespace(*grads)
    return sum(xp.sum(g * g) for g in grads)


def _snapshot(t, ws, Z, loss, sums, eta, radius) -> Snapshot:
    """A numpy float64 Snapshot of the (possibly device-resident) state at step t."""
    ws = tuple(_backend.to_numpy(w) for w in ws)
    return Snapshot(t, ws, Z, loss, step_size=float(eta), radius=None if radius is None else float(radius),
                    sums=sums.host())


def relative_descent(ws0, Z, loss, eps: float, max_norm: float, levels: int = 40, until=None,
                     max_steps: int = 10**7, engine: str = "numpy") -> Trajectory:
    """Gradient descent with the scale-invariant steps of `Relative` (each layer moves by at most a
    fraction eps of its Frobenius norm), in a lean loop, until max_k ||W_k||_F reaches `max_norm`.

    eta_t G_t = eps min_k(||W_k||/||Ghat_k||) Ghat_t with G = exp(log_c) Ghat (network.grad_parts), so
    the update never under/overflows however small the risk; eta_t itself is kept as log eta_t in
    Snapshot.step_size's place (info["log_eta"]).  Snapshots are kept where max_k ||W_k||_F crosses
    geometrically spaced levels; `until(snapshot)` stops early.  Beyond the paper: a discretisation of
    the flow's path whose error does not shrink with the norm (an angle floor of order eps, DESIGN.md 8).
    Stops with a reason: "norm reached", "until", "zero gradient" or "max steps".
    engine="numba" (or "auto") runs the same steps in dynamics.compiled's loop; "numpy" is the reference.
    """
    if engine != "numpy" and _compiled_engine(engine, "numpy"):
        from . import compiled

        return compiled.relative_descent(ws0, Z, loss, eps, max_norm, levels, until, max_steps)
    ws = [np.array(w, dtype=float) for w in ws0]
    start_norm = network.max_fro(ws)
    targets = list(np.geomspace(start_norm, max_norm, max(levels, 2) + 1)[1:])
    snaps, log_eta, steps = [Snapshot(0, tuple(w.copy() for w in ws), Z, loss)], [], []
    why, begin, t = Stop.MAX_STEPS, time.perf_counter(), 0
    L = len(ws)
    while t < max_steps:
        budget.check()
        # the rank-one factors of the gradients, dR/dW_k = exp(log_c) a_k c_k^T: their norms are cheap
        log_c, ghat = network.grad_parts(network.margins(network.product(ws), Z), Z, loss)
        a, cs = network.grad_factors(ws, ghat)
        gnorm = [float(np.sqrt((a[k] @ a[k]) * (cs[k] @ cs[k]))) for k in range(L)]
        fros = [float(np.sqrt(np.sum(w * w))) for w in ws]
        ratios = [f / g for f, g in zip(fros, gnorm) if g > 0]
        if not ratios:
            why = Stop.ZERO_GRADIENT
            break
        step = eps * min(ratios)
        for k in range(L):
            ws[k] -= step * np.outer(a[k], cs[k])
        t += 1
        top = max(fros)  # the norms before this step: a snapshot may lag its level by one step
        if top >= targets[0]:
            while targets and top >= targets[0]:
                targets.pop(0)
            s = Snapshot(t, tuple(w.copy() for w in ws), Z, loss)
            snaps.append(s)
            log_eta.append(float(np.log(step) - log_c))
            steps.append(t)
            if not targets:
                why = Stop.NORM_REACHED
                break
            if until is not None and until(s):
                why = Stop.UNTIL
                break
    info = {"steps": t, "seconds": time.perf_counter() - begin, "eps": eps, "log_eta": log_eta,
            "max_norm": float(max_norm)}
    return Trajectory("gd", tuple(np.array(w) for w in ws0), Z, loss, snaps, policy=Policy(Rule.RELATIVE, eps=eps),
                      stop=why, info=info)
