"""Batched gradient descent: B deep linear networks (initialisations and/or datasets) advanced together,
each layer one (B, d_k, d_{k-1}) array, on any backend of dynamics.backend (numpy, torch CPU, CUDA).

The kernels are written once against the Array API namespace `xp`; the per-run numpy code of
network.py / descent.py is the reference they must reproduce (tests/test_backend.py).  Same numerics
as network.py: float64 by default, the risk and the gradient in the log domain (grad R = exp(log_c) *
ghat with ||ghat|| <= 1), closed-form rank-one layer gradients (15 kFLOP a step instead of autograd's
654 kFLOP on the reference problem, DESIGN.md section 8).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import backend as _backend
from . import init as _init
from .losses import log_neg_deriv_xp, log_value_xp
from .trajectory import log_checkpoints


# --- pure kernels: arrays of one namespace xp in, arrays out ----------------------------------------

def _logsumexp(xp, a, axis=-1):
    mx = xp.max(a, axis=axis, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
    return xp.squeeze(mx, axis=axis) + xp.log(xp.sum(xp.exp(a - mx), axis=axis))


def _softmax(xp, a, axis=-1):
    e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def product(ws, xp):
    """w_prod of each run: (B, d_0)."""
    acc = ws[0]
    for w in ws[1:]:
        acc = w @ acc
    return acc[:, 0, :]


def margins(w, Z, xp):
    """m_i = <z_i, w> for each run; Z is (n, d) shared by all runs or (B, n, d)."""
    if Z.ndim == 2:
        return w @ xp.matrix_transpose(Z)
    return (Z @ w[..., None])[..., 0]


def risk_parts(w, Z, loss: str, xp):
    """(margins, log R, log_c, ghat), each with a leading batch axis; grad R(w) = exp(log_c) * ghat."""
    m = margins(w, Z, xp)
    log_n = math.log(m.shape[-1])
    log_risk = _logsumexp(xp, log_value_xp(loss, m, xp)) - log_n
    lg = log_neg_deriv_xp(loss, m, xp)
    log_c = _logsumexp(xp, lg) - log_n
    p = _softmax(xp, lg)
    ghat = -(p @ Z) if Z.ndim == 2 else -(p[:, None, :] @ Z)[:, 0, :]
    return m, log_risk, log_c, ghat


def layer_grads_from(ws, g, xp):
    """dR/dW_k = a_k c_k^T (eq. EQ-GRAD) for each run: a_k = (W_L...W_{k+1})^T, c_k = W_{k-1}...W_1 g."""
    B = g.shape[0]
    a = [xp.ones((B, 1), dtype=g.dtype, device=_device(g))]
    for w in reversed(ws[1:]):
        a.append((xp.matrix_transpose(w) @ a[-1][..., None])[..., 0])
    a = a[::-1]
    grads, c = [], g
    for k, w in enumerate(ws):
        grads.append(a[k][:, :, None] * c[:, None, :])
        c = (w @ c[..., None])[..., 0]
    return tuple(grads)


def layer_grads(ws, Z, loss: str, xp):
    """(grads, log R): the closed-form layer gradients of every run and its log risk."""
    _, log_risk, log_c, ghat = risk_parts(product(ws, xp), Z, loss, xp)
    return layer_grads_from(ws, xp.exp(log_c)[:, None] * ghat, xp), log_risk


def fro(w, xp):
    """||W||_F of each run: (B,)."""
    return xp.sqrt(xp.sum(w * w, axis=(-2, -1)))


def spectral(w, xp):
    """||W||_2 of each run: (B,) (largest singular value, on the array's device)."""
    return xp.linalg.svdvals(w)[..., 0]


def _device(a):
    from array_api_compat import device

    return device(a)


# --- step policies (the per-run ones of descent.py, vectorised over the batch) -----------------------

def beta_of_R(R, L: int, beta: float, G: float):
    """beta(R) = 2 L^2 R^{2L-2} (beta + G), Lemma 3.2, elementwise."""
    return 2.0 * L**2 * R ** (2 * L - 2) * (beta + G)


@dataclass(frozen=True)
class Policy:
    """kind: "constant" (eta, or 1/beta(radius)), "relative" (eps = eta) or "a35" (Assumption 3.5)."""

    kind: str = "constant"
    eta: float | None = None
    radius: float | None = None

    def start(self, ws, loss, xp):
        B, L = ws[0].shape[0], len(ws)
        if self.kind == "a35" or (self.kind == "constant" and self.radius is not None):
            if loss.name != "logistic":
                raise ValueError(f"policy {self.kind} needs Assumption 3.1 (beta, G); the exp loss has none")
        if self.kind == "a35":
            return {"R": _max_fro(ws, xp) + 1.0}
        if self.kind == "constant":
            eta = self.eta if self.radius is None else 1.0 / beta_of_R(self.radius, L, loss.beta, loss.G)
            return {"eta": xp.full((B,), float(eta), dtype=ws[0].dtype, device=_device(ws[0]))}
        if self.kind == "relative":
            return {}
        raise ValueError(f"unknown policy {self.kind!r}; choose constant, relative or a35")

    def step_size(self, state, ws, grads, loss, xp):
        if self.kind == "constant":
            return state["eta"]
        if self.kind == "a35":
            eta = 1.0 / beta_of_R(state["R"], len(ws), loss.beta, loss.G)
            return xp.where(eta < 1.0, eta, xp.ones_like(eta))
        # relative: eps * min_k ||W_k||_F / ||G_k||_F over layers with G_k != 0 (0 if none)
        ratios = []
        for w, g in zip(ws, grads):
            gn = fro(g, xp)
            ratios.append(xp.where(gn > 0, fro(w, xp) / xp.where(gn > 0, gn, xp.ones_like(gn)),
                                   xp.full_like(gn, math.inf)))
        r = xp.min(xp.stack(ratios, axis=1), axis=1)
        eps = 0.05 if self.eta is None else self.eta
        return xp.where(xp.isfinite(r), eps * r, xp.zeros_like(r))

    def after(self, state, ws_next, xp):
        if self.kind == "a35":
            m = _max_fro(ws_next, xp)
            state["R"] = xp.where(m > state["R"] - 1.0, m + 1.0, state["R"])


def _max_fro(ws, xp):
    return xp.max(xp.stack([fro(w, xp) for w in ws], axis=1), axis=1)


# --- the driver ----------------------------------------------------------------------------------

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


def gradient_descent(ws0, Z, loss, policy: Policy, steps: int, backend="auto", checkpoints: int = 40) -> BatchedRun:
    """Run `steps` GD steps on every run of the batch; record at log-spaced steps (as descent.py does).

    ws0: per-layer arrays (B, d_k, d_{k-1}) (numpy or torch); Z: (n, d) shared or (B, n, d);
    loss: a dynamics.losses.Loss; backend: a Backend or a device word ("auto", "cpu", "cuda", ...).
    """
    be = backend if isinstance(backend, _backend.Backend) else _backend.get(backend)
    xp = be.xp
    ws = tuple(be.asarray(w) for w in ws0)
    Zb = be.asarray(Z)
    keep = set(log_checkpoints(steps, checkpoints, integer=True).astype(int).tolist())
    state = policy.start(ws, loss, xp)
    with be.small_kernels():
        return _run(be, xp, ws, Zb, loss, policy, steps, keep, state)


def _run(be, xp, ws, Zb, loss, policy, steps, keep, state) -> BatchedRun:
    rec = {"t": [], "log_risk": [], "fro": [], "ratio": [], "eta": []}
    be.synchronize()
    start = time.perf_counter()
    for t in range(steps + 1):
        grads, log_risk = layer_grads(ws, Zb, loss.name, xp)
        eta = policy.step_size(state, ws, grads, loss, xp)
        if t in keep:
            f = xp.stack([fro(w, xp) for w in ws], axis=1)
            s = xp.stack([spectral(w, xp) for w in ws], axis=1)
            for key, val in (("log_risk", log_risk), ("fro", f), ("ratio", s / f), ("eta", eta)):
                rec[key].append(_backend.to_numpy(val))
            rec["t"].append(t)
        if t == steps:
            break
        ws = tuple(w - eta[:, None, None] * g for w, g in zip(ws, grads))
        policy.after(state, ws, xp)
    be.synchronize()
    seconds = time.perf_counter() - start
    return BatchedRun(np.array(rec["t"]), np.array(rec["log_risk"]), np.array(rec["fro"]), np.array(rec["ratio"]),
                      np.array(rec["eta"]), tuple(_backend.to_numpy(w) for w in ws), be.name, seconds)


def init_batch(dims, seeds, kind: str = "gaussian", scale: float = 0.5):
    """Stack the initialisations init.INITS[kind](dims, scale, seed) over seeds: per-layer (B, ...) arrays."""
    runs = [_init.INITS[kind](dims, scale, int(s)) for s in seeds]
    return tuple(np.stack([r[k] for r in runs]) for k in range(len(dims) - 1))


def replay(spec, backend="auto"):
    """Re-run a gradient-descent RunSpec (dynamics.runs) on `backend` as a batch of one.

    Returns (final weights as a numpy tuple, BatchedRun); used to check a device against the numpy
    reference trajectory of the same spec.
    """
    from . import losses
    from .runs import dataset, initial_weights

    if spec.method != "gd":
        raise ValueError("replay runs gradient-descent specs only (method='gd')")
    ds, loss = dataset(spec.data), losses.get(spec.loss)
    ws0 = tuple(w[None] for w in initial_weights(spec, ds))
    pol = Policy(spec.policy, spec.eta, spec.radius) if spec.policy != "relative" else Policy("relative", spec.eta)
    run = gradient_descent(ws0, ds.Z, loss, pol, int(spec.horizon), backend, checkpoints=spec.checkpoints)
    return tuple(w[0] for w in run.ws), run


def crosscheck(specs, device="auto", limit: int = 4) -> dict:
    """Re-run up to `limit` gradient-descent specs on `device` and compare with the numpy reference.

    For `aligncheck verify --device`: verdicts are computed on the numpy float64 trajectories; this
    records which backend ran and how far its trajectories are from the reference (max relative
    difference of the final weights, with the tolerance 16 * steps * eps of tests/test_backend.py).
    """
    from .runs import simulate

    be = device if isinstance(device, _backend.Backend) else _backend.get(device)
    rows = []
    for spec in [s for s in specs if s.method == "gd"][:limit]:
        ws, run = replay(spec, be)
        ref = simulate(spec).snapshots[-1].ws
        diff = max(float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300)) for a, b in zip(ws, ref))
        tol = 16 * int(spec.horizon) * float(np.finfo(float).eps)
        rows.append({"spec": spec.to_json(), "max_rel_diff": diff, "tolerance": tol, "agree": diff <= tol,
                     "seconds": run.seconds})
    return {"backend": be.name, "describe": be.describe(), "runs": rows, "agree": all(r["agree"] for r in rows)}
