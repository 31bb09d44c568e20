"""Gradient flow dW/dt = -grad R(W), by an adaptive explicit Runge-Kutta solver (DOP853).

The flow is not stiff, so an explicit high-order method with tight tolerances is both fast and
accurate (DESIGN.md section 8).  For long horizons `geometric_flow` follows the same path at a
speed that never blows up (risk-normalised time dW/ds = -grad R/R reaches infinite norm in finite s
for L >= 3, so an s horizon is the wrong stopping rule).
"""
from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from . import budget, network
from .trajectory import Policy, Rule, Snapshot, Stop, Trajectory, log_checkpoints

RTOL, ATOL = 1e-10, 1e-12


def _pack(ws):
    return np.concatenate([w.ravel() for w in ws])


def _unpacker(ws0):
    shapes = [w.shape for w in ws0]
    cuts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])

    def unpack(x):
        return tuple(x[a:b].reshape(s) for a, b, s in zip(cuts[:-1], cuts[1:], shapes))

    return unpack


def field(ws, Z, loss):
    """The vector field of gradient flow at W: -grad R(W)."""
    _, _, log_c, ghat = network.risk_parts(network.product(ws), Z, loss)
    return tuple(-np.exp(log_c) * g for g in network.layer_grads_from(ws, ghat))


def gradient_flow(ws0, Z, loss, horizon: float, checkpoints: int = 40,
                  rtol: float = RTOL, atol: float = ATOL, max_norm: float | None = None,
                  engine: str = "numpy") -> Trajectory:
    """Integrate to `horizon` (or until max_k ||W_k||_F reaches max_norm); keep log-spaced snapshots.
    engine "numba" (or "auto": numba if installed) evaluates the field compiled (dynamics.compiled.flow_field);
    "numpy", the default, is `field`, the reference."""
    unpack = _unpacker(ws0)
    times = log_checkpoints(horizon, checkpoints, integer=False)
    compiled_field = _compiled_field(engine, ws0, Z, loss)

    def rhs(_, x):
        budget.check()
        return compiled_field(x) if compiled_field is not None else _pack(field(unpack(x), Z, loss))

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
    stop = Stop.NORM_REACHED if sol.status == 1 else Stop.HORIZON
    info = {"nfev": int(sol.nfev), "seconds": time.perf_counter() - start, "rtol": rtol, "atol": atol,
            "solver": "DOP853", "engine": "numba" if compiled_field is not None else "numpy"}
    return Trajectory("flow", tuple(np.array(w) for w in ws0), Z, loss, snaps, policy=Policy(Rule.FLOW_TIME),
                      stop=stop, info=info)


def _compiled_field(engine: str, ws0, Z, loss):
    """The compiled field x -> -grad R(W) if `engine` selects numba, else None (this module's `field`)."""
    if engine == "numpy":
        return None
    from . import compiled

    return compiled.flow_field(ws0, Z, loss) if compiled.resolve(engine) == "numba" else None


# --- Long-horizon engine: the same path at geometric speed ---------------------------------------
#
# dW/ds = -grad R/R reaches infinite norm in finite s for L >= 3 (DESIGN.md section 8), so an s
# horizon is the wrong stopping rule.  Dividing the field by its own norm and multiplying by ||W||
# gives dW/dtau = -||W|| g/||g||, g = grad R/R: still a positive multiple of -grad R, hence the same
# path (a gradient flow path does not depend on its parametrisation), but now ||W|| grows at most
# like e^tau, so tau ~ log ||W|| and no blow-up happens at any finite tau.  The risk-normalised time
# s is carried along as one extra state, ds/dtau = ||W||/||g||, with ||g|| = exp(log ||grad R|| - log R)
# computed in the log domain so nothing under/overflows.

def _log_grad_parts(ws, Z, loss):
    """(log R, log ||grad R(W)||, direction -grad R/||grad R|| per layer), all in the log domain."""
    _, log_risk, log_c, ghat = network.risk_parts(network.product(ws), Z, loss)
    grads = network.layer_grads_from(ws, ghat)          # grad R(W) = exp(log_c) * grads
    gn = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    if not gn > 0:
        return log_risk, -np.inf, None
    return log_risk, log_c + np.log(gn), tuple(-g / gn for g in grads)


class _OutOfTime(Exception):
    """Raised inside the solver's right-hand side once geometric_flow's max_seconds have passed."""


def geometric_flow(ws0, Z, loss, max_norm: float, levels: int = 40, until=None, rtol: float = 1e-10,
                   atol: float = 1e-12, method: str = "DOP853", max_seconds: float | None = None) -> Trajectory:
    """Gradient flow followed at geometric speed until max_k ||W_k||_F reaches `max_norm`.

    Snapshots are kept where max_k ||W_k||_F crosses `levels` geometrically spaced levels between
    its initial value and `max_norm` (terminal events of the solver, located to its tolerance).
    `until(snapshot) -> bool` stops early (e.g. once every target is reached).  `max_seconds` is checked
    at every evaluation of the field, so a budget of X s ends the run within one solver step of X s
    (the snapshots of the levels reached so far are kept).  Snapshot.t is the
    risk-normalised time s (dW/ds = -grad R/R); info["tau"] holds the solver's variable.  The run
    says why it stopped: "norm reached", "until", "zero gradient" (the field's direction is
    undefined), "time budget", or the solver's message.
    """
    unpack = _unpacker(ws0)
    n_w = sum(int(np.prod(w.shape)) for w in ws0)
    start_norm = network.max_fro(ws0)
    if not max_norm > start_norm:
        raise ValueError(f"max_norm {max_norm} must exceed the initial max_k ||W_k||_F = {start_norm:.6g}")
    targets = np.geomspace(start_norm, max_norm, max(levels, 2) + 1)[1:]
    why, detail = Stop.NORM_REACHED, ""
    begin = time.perf_counter()
    deadline = None if max_seconds is None else begin + max_seconds

    def rhs(_, x):
        budget.check()                                      # the caller's budget (simulate's max_seconds)
        if deadline is not None and time.perf_counter() > deadline:
            raise _OutOfTime                                # checked at every evaluation, within a level
        ws = unpack(x[:n_w])
        log_risk, log_g, dirs = _log_grad_parts(ws, Z, loss)
        if dirs is None:
            raise FloatingPointError("zero gradient")
        wn = float(np.sqrt(np.sum(x[:n_w] ** 2)))
        ds = np.exp(np.log(wn) - (log_g - log_risk))      # ||W|| / ||grad R / R||
        return np.concatenate([_pack(tuple(wn * d for d in dirs)), [ds]])

    def snap(x):
        return Snapshot(float(x[n_w]), unpack(x[:n_w].copy()), Z, loss)

    x = np.concatenate([_pack(ws0), [0.0]])
    snaps, tau_kept, tau, nfev = [snap(x)], [0.0], 0.0, 0
    # ||W|| <= ||W(0)|| e^tau, so a level needs tau >= log(level/||W(0)||); 50x the whole range is ample
    span = 50.0 * (np.log(targets[-1] / start_norm) + 1.0)
    for level in targets:
        def event(_, y, level=level):
            return network.max_fro(unpack(y[:n_w])) - level
        event.terminal, event.direction = True, 1
        try:
            sol = solve_ivp(rhs, (tau, tau + span), x, method=method, rtol=rtol, atol=atol, events=event)
        except FloatingPointError as exc:
            why, detail = Stop.ZERO_GRADIENT, str(exc)
            break
        except _OutOfTime:
            why = Stop.TIME_BUDGET
            detail = f"max_seconds={max_seconds:g} reached between levels {len(snaps) - 1} and {len(snaps)}"
            break
        nfev += int(sol.nfev)
        if sol.status < 0 or not sol.t_events[0].size:
            why, detail = Stop.SOLVER, sol.message if sol.status < 0 else "level not reached within the tau span"
            break
        tau, x = float(sol.t_events[0][0]), sol.y_events[0][0]
        s = snap(x)
        snaps.append(s)
        tau_kept.append(tau)
        if until is not None and until(s):
            why = Stop.UNTIL
            break
        if deadline is not None and time.perf_counter() > deadline:
            why = Stop.TIME_BUDGET
            break
    info = {"nfev": nfev, "seconds": time.perf_counter() - begin, "rtol": rtol, "atol": atol, "solver": method,
            "param": "geometric speed (same path); Snapshot.t = s of dW/ds = -grad R/R", "tau": tau_kept,
            "max_norm": float(max_norm)}
    return Trajectory("flow", tuple(np.array(w) for w in ws0), Z, loss, snaps, policy=Policy(Rule.FLOW_RISK),
                      stop=why, stop_detail=detail, info=info)
