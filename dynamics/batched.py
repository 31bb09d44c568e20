"""Batched gradient descent: B deep linear networks (initialisations and/or datasets) advanced together,
each layer one (B, d_k, d_{k-1}) array, on any backend of dynamics.backend (numpy, torch CPU, CUDA).

No kernels of its own: the layer gradients are network.py's and the step policies descent.py's, both
written once against the Array API and batch-shape agnostic, so a batch of one reproduces the per-run
reference (tests/test_backend.py).  Float64 by default, the risk and the gradient in the log domain,
closed-form rank-one layer gradients (15 kFLOP a step instead of autograd's 654 kFLOP on the reference
problem, DESIGN.md section 8).  What is recorded differs from descent.gradient_descent: per-run norms
and alignment ratios at log-spaced steps, no snapshots.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import backend as _backend
from . import network
from . import init as _init
from .trajectory import log_checkpoints


@dataclass
class BatchedRun:
    """What a batched run recorded (numpy arrays on the host): at each kept step t, per run b and layer k."""

    steps: np.ndarray       # (T,)
    log_risk: np.ndarray    # (T, B)
    fro: np.ndarray         # (T, B, L)  ||W_k||_F
    ratio: np.ndarray       # (T, B, L)  ||W_k||_2 / ||W_k||_F
    eta: np.ndarray         # (T, B)     the step size used from t to t+1
    ws: tuple               # final weights, numpy (B, d_k, d_{k-1})
    backend: str
    seconds: float

    @property
    def lower_bounds(self) -> np.ndarray:
        """1/sqrt(rank bound) = 1/sqrt(min(d_k, d_{k-1})): the smallest ||W||_2/||W||_F can be."""
        return np.array([1.0 / math.sqrt(min(w.shape[1:])) for w in self.ws])


def gradient_descent(ws0, Z, loss, policy, steps: int, backend="auto", checkpoints: int = 40) -> BatchedRun:
    """Run `steps` GD steps on every run of the batch; record at log-spaced steps (as descent.py does).

    ws0: per-layer arrays (B, d_k, d_{k-1}) (numpy or torch); Z: (n, d) shared or (B, n, d);
    loss: a dynamics.losses.Loss; policy: a descent.py policy (Constant, Assumption35, Relative);
    backend: a Backend or a device word ("auto", "cpu", "cuda", ...).
    """
    be = backend if isinstance(backend, _backend.Backend) else _backend.get(backend)
    xp = be.xp
    ws = tuple(be.asarray(w) for w in ws0)
    Zb = be.asarray(Z)
    batch = ws[0].shape[:1]
    keep = set(log_checkpoints(steps, checkpoints, integer=True).astype(int).tolist())
    rec = {"t": [], "log_risk": [], "fro": [], "ratio": [], "eta": []}
    with be.small_kernels():
        state = policy.start(ws, loss)
        be.synchronize()
        start = time.perf_counter()
        for t in range(steps + 1):
            grads = network.layer_grads(ws, Zb, loss)
            eta, _ = policy.step_size(state, ws, grads, loss)
            eta = xp.broadcast_to(xp.asarray(eta, dtype=be.float_dtype, device=be.device), batch)
            if t in keep:
                log_risk = network.log_risk_of(network.margins(network.product(ws), Zb), loss)
                f = xp.stack([network.fro(w) for w in ws], axis=1)
                s = xp.stack([network.spectral(w) for w in ws], axis=1)
                for key, val in (("log_risk", log_risk), ("fro", f), ("ratio", s / f), ("eta", eta)):
                    rec[key].append(_backend.to_numpy(val))
                rec["t"].append(t)
            if t == steps:
                break
            ws = tuple(w - eta[:, None, None] * g for w, g in zip(ws, grads))
            policy.after(state, ws, loss)
        be.synchronize()
        seconds = time.perf_counter() - start
    return BatchedRun(np.array(rec["t"]), np.array(rec["log_risk"]), np.array(rec["fro"]), np.array(rec["ratio"]),
                      np.array(rec["eta"]), tuple(_backend.to_numpy(w) for w in ws), be.name, seconds)


def init_batch(dims, seeds, kind: str = "gaussian", scale: float = 0.5):
    """Stack the initialisations init.INITS[kind](dims, scale, seed) over seeds: per-layer (B, ...) arrays."""
    runs = [_init.INITS[kind](dims, scale, int(s)) for s in seeds]
    return tuple(np.stack([r[k] for r in runs]) for k in range(len(dims) - 1))


def crosscheck(specs, device="auto", limit: int = 4) -> dict:
    """Run up to `limit` gradient-descent specs on `device` and compare with the numpy reference.

    For `aligncheck verify --device`: the max relative difference of the final weights, with the
    tolerance 16 * steps * eps of tests/test_backend.py.
    """
    from .runs import simulate

    be = device if isinstance(device, _backend.Backend) else _backend.get(device)
    rows = []
    for spec in [s for s in specs if s.method == "gd" and s.max_norm is None][:limit]:
        got, ref = simulate(spec, be.name), simulate(spec, "numpy")
        diff = max(float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))
                   for a, b in zip(got.snapshots[-1].ws, ref.snapshots[-1].ws))
        tol = 16 * int(spec.horizon) * float(np.finfo(float).eps)
        rows.append({"spec": spec.to_json(), "max_rel_diff": diff, "tolerance": tol, "agree": diff <= tol,
                     "seconds": got.info["seconds"], "numpy_seconds": ref.info["seconds"]})
    return {"backend": be.name, "describe": be.describe(), "runs": rows, "agree": all(r["agree"] for r in rows)}
