"""Gradient flow dW/dt = -grad R(W), by an adaptive explicit Runge-Kutta solver (DOP853).

The flow is not stiff, so an explicit high-order method with tight tolerances is both fast and
accurate (DESIGN.md section 8).  `param="risk"` follows the same path in risk-normalised time,
dW/ds = -grad R(W) / R(W), whose field is computed in the log domain and never underflows; for
L >= 3 that path reaches infinite norm in finite s, so such runs stop on a norm event.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from . import network
from .trajectory import Snapshot, Trajectory, log_checkpoints

RTOL, ATOL = 1e-10, 1e-12


def _pack(ws):
    return np.concatenate([w.ravel() for w in ws])


def _unpacker(ws0):
    shapes = [w.shape for w in ws0]
    cuts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])

    def unpack(x):
        return tuple(x[a:b].reshape(s) for a, b, s in zip(cuts[:-1], cuts[1:], shapes))

    return unpack


def field(ws, Z, loss, param: str):
    """The vector field at W: -grad R(W) (param "time") or -grad R(W)/R(W) (param "risk")."""
    _, log_risk, log_c, ghat = network.risk_parts(network.product(ws), Z, loss)
    scale = np.exp(log_c - (log_risk if param == "risk" else 0.0))
    return tuple(-scale * g for g in network.layer_grads_from(ws, ghat))


def gradient_flow(ws0, Z, loss, horizon: float, param: str = "time", checkpoints: int = 40,
                  rtol: float = RTOL, atol: float = ATOL, max_norm: float | None = None) -> Trajectory:
    """Integrate to `horizon` (or until max_k ||W_k||_F reaches max_norm); keep log-spaced snapshots."""
    if param not in ("time", "risk"):
        raise ValueError("param must be 'time' or 'risk'")
    unpack = _unpacker(ws0)
    times = log_checkpoints(horizon, checkpoints, integer=False)

    def rhs(_, x):
        return _pack(field(unpack(x), Z, loss, param))

    events = []
    if max_norm is not None:
        def norm_event(_, x):
            return network.max_fro(unpack(x)) - max_norm
        norm_event.terminal = True
        events.append(norm_event)
    start = time.perf_counter()
    sol = solve_ivp(rhs, (0.0, float(horizon)), _pack(ws0), method="DOP853", t_eval=times,
                    rtol=rtol, atol=atol, events=events or None)
    if sol.status < 0:
        raise RuntimeError(f"gradient flow solver failed: {sol.message}")
    snaps = [Snapshot(float(t), unpack(x.copy()), Z, loss) for t, x in zip(sol.t, sol.y.T)]
    stop = "norm reached" if sol.status == 1 else "horizon"
    info = {"nfev": int(sol.nfev), "seconds": time.perf_counter() - start, "rtol": rtol, "atol": atol,
            "solver": "DOP853"}
    return Trajectory("flow", tuple(np.array(w) for w in ws0), Z, loss, snaps, policy=param, stop=stop, info=info)
