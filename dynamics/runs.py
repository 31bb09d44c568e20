"""RunSpec: a small, JSON-able description of one run, and `simulate(spec)` that produces it.

A spec names everything needed to re-run: the data (a generator with its seed, or a file), the
loss, the hidden widths, the initialisation, and the dynamics.  Reports print specs as reproduce
commands; `simulate` is cached, so that many claims checked on the same spec simulate it once.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

from . import backend, data, descent, flow, init, losses


@dataclass(frozen=True)
class RunSpec:
    data: tuple = ("random", 12, 3, 0.1, 0)   # ("random", n, d, margin, seed) | ("a27", d, n_extra, gamma, seed) | ("file", path)
    loss: str = "logistic"
    hidden: tuple = (3, 2)                     # d_1, ..., d_{L-1}; d_0 comes from the data, d_L = 1
    init: str = "gaussian"
    scale: float = 0.5
    seed: int = 0
    a12: bool = True                           # repair the init to satisfy Assumption 1.2 (init.satisfy_a12)
    method: str = "flow"                       # "flow" | "gd"
    policy: str | None = None                  # gd: "a35" | "constant" | "relative"
    eta: float | None = None                   # gd constant: the step size
    radius: float | None = None                # gd constant: eta = 1/beta(radius) (Lemma 3.4)
    horizon: float = 100.0                     # flow time, or number of gd steps
    checkpoints: int = 30
    param: str = "time"                        # flow: "time" (flow.gradient_flow) | "geometric" (flow.geometric_flow)
    max_norm: float | None = None              # flow "geometric" / gd "relative": stop at max_k ||W_k||_F = max_norm
    solver: str = "LSODA"                      # flow "geometric": the scipy solver (the path is stiff for large norms)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        raw = json.loads(text)
        raw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**raw)

    def with_(self, **kw) -> "RunSpec":
        return replace(self, **kw)

    @property
    def L(self) -> int:
        return len(self.hidden) + 1


@lru_cache(maxsize=64)
def dataset(source: tuple) -> data.Dataset:
    kind, *args = source
    if kind == "random":
        n, d, margin, seed = args
        return data.random_separable(int(n), int(d), float(margin), int(seed))
    if kind == "a27":
        d, n_extra, gamma, seed = args
        return data.assumption_27(int(d), int(n_extra), float(gamma), int(seed))
    if kind == "file":
        return data.load(args[0])
    raise ValueError(f"unknown data source {kind!r}")


def initial_weights(spec: RunSpec, ds: data.Dataset):
    loss = losses.get(spec.loss)
    dims = (ds.d,) + tuple(spec.hidden) + (1,)
    if spec.init not in init.INITS:
        raise ValueError(f"unknown init {spec.init!r}; choose one of {sorted(init.INITS)}")
    ws = init.INITS[spec.init](dims, spec.scale, spec.seed)
    return init.satisfy_a12(ws, ds.Z, loss) if spec.a12 else ws


def policy(spec: RunSpec):
    if spec.policy == "a35":
        return descent.Assumption35()
    if spec.policy == "constant":
        return descent.Constant(eta=spec.eta, radius=spec.radius)
    if spec.policy == "relative":
        return descent.Relative(spec.eta or 0.05)
    raise ValueError(f"unknown step policy {spec.policy!r}")


def on_device(spec: RunSpec) -> bool:
    """Whether `spec` runs on the chosen backend: gradient descent with a step policy does; the flows
    (scipy's integrators) and the lean relative-step loop (relative_descent) are numpy only."""
    return spec.method == "gd" and not (spec.policy == "relative" and spec.max_norm is not None)


def simulate(spec: RunSpec, device: str = "numpy"):
    """The trajectory of `spec` (cached: simulate once, check many); gradient-descent steps run on
    `device` (see dynamics.backend), every snapshot is numpy float64."""
    return _simulate(spec, backend.resolve(device) if on_device(spec) else "numpy")


@lru_cache(maxsize=256)
def _simulate(spec: RunSpec, device: str):
    ds = dataset(spec.data)
    loss = losses.get(spec.loss)
    ws0 = initial_weights(spec, ds)
    if spec.method == "flow" and spec.param == "geometric":
        return flow.geometric_flow(ws0, ds.Z, loss, spec.max_norm, levels=spec.checkpoints, method=spec.solver)
    if spec.method == "gd" and not on_device(spec):
        return descent.relative_descent(ws0, ds.Z, loss, spec.eta or 0.05, spec.max_norm, levels=spec.checkpoints,
                                        max_steps=int(spec.horizon))
    if spec.method == "flow":
        if spec.param != "time":
            raise ValueError(f"unknown flow parametrisation {spec.param!r}; choose 'time' or 'geometric'")
        return flow.gradient_flow(ws0, ds.Z, loss, spec.horizon, checkpoints=spec.checkpoints)
    if spec.method == "gd":
        return descent.gradient_descent(ws0, ds.Z, loss, policy(spec), int(spec.horizon), spec.checkpoints,
                                        backend=device)
    raise ValueError(f"unknown method {spec.method!r}")
