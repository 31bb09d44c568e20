"""RunSpec: a small, JSON-able description of one run, and `simulate(spec)` that produces it.

A spec names everything needed to re-run: the data (a generator with its seed, or a file), the
loss, the hidden widths, the initialisation, and the dynamics.  Reports print specs as reproduce
commands; `simulate` is cached, so that many claims checked on the same spec simulate it once.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

from . import backend, budget, data, descent, flow, init, losses, network

# Limits a RunSpec is checked against before any work (RunSpec.validate): each refusal is one line.
MAX_N = 100_000              # data rows (random: n; a27: d + n_extra)
MAX_D = 10_000               # data dimension (random)
MAX_A27_D = 1_000            # a27 builds d x d QR and SVD factors and has d support vectors
MAX_WIDTH = 4096             # every hidden width
MAX_DEPTH = 50               # L = len(hidden) + 1
MAX_GD_STEPS = 10**7         # gd horizon (steps); the thorough profile's longest relative run uses 10**7
MAX_FLOW_TIME = 1e9          # flow horizon (time): norms grow like log t, so longer horizons show nothing new;
                             # use param="geometric" (with max_norm) for the long-run limit
MAX_CHECKPOINTS = 10_000
MAX_SCALE = 1e3              # init scale
MAX_ETA = 100.0              # constant step size (larger steps only overflow)
MAX_RELATIVE_ETA = 1.0       # relative step: the fraction of ||W_k||_F a layer moves per step
MAX_RADIUS = 1e6
MAX_NORM = 1e6               # max_norm of the geometric flow / relative descent
MAX_SEED = 2**63 - 1
MAX_BYTES = 4 * 2**30        # estimated memory of a run (`memory_estimate`)
MAX_WORK = 1e13              # estimated floating-point operations of a gd run (`work_estimate`)
MEMORY_FACTOR = 3            # derived quantities kept with each snapshot (SVD factors, products, gradients)
SOURCES = {"random": 5, "a27": 5, "file": 2}   # data source kind -> tuple length (kind included)
METHODS = ("flow", "gd")
POLICIES = ("a35", "constant", "relative")
PARAMS = ("time", "geometric")
ENGINES = ("numpy", "numba", "auto")
SOLVERS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")   # scipy.integrate.solve_ivp's methods


def _integer(name: str, v, lo: int, hi: int) -> int:
    """v as an int in lo..hi (an integral float such as 1e3 is accepted), else a one-line ValueError."""
    ok = isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and math.isfinite(v) and v.is_integer()
    if not ok or not lo <= v <= hi:
        raise ValueError(f"spec field {name} must be an integer in {lo}..{hi}; got {v!r}")
    return int(v)


def _real(name: str, v, hi: float, lo: float = 0.0) -> float:
    """v as a finite float with lo < v <= hi, else a one-line ValueError."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or not lo < v <= hi:
        raise ValueError(f"spec field {name} must be a finite number in ({lo:g}, {hi:g}]; got {v!r}")
    return float(v)


def _choice(name: str, v, allowed) -> None:
    if not (isinstance(v, str) and v in allowed):
        raise ValueError(f"spec field {name} must be one of {sorted(allowed)}; got {v!r}")


def _unit_interval(name: str, v) -> float:
    """v as a finite float strictly between 0 and 1, else a one-line ValueError."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or not 0 < v < 1:
        raise ValueError(f"spec field {name} must be a number in (0, 1); got {v!r}")
    return float(v)


def _validate_model(spec: "RunSpec") -> None:
    """loss, hidden widths and depth, initialisation, scale, seed, a12."""
    _choice("loss", spec.loss, losses.LOSSES)
    if not isinstance(spec.hidden, (tuple, list)) or len(spec.hidden) > MAX_DEPTH - 1:
        raise ValueError(f"spec field hidden must be a list of at most {MAX_DEPTH - 1} widths "
                         f"(depth L <= {MAX_DEPTH}); got {spec.hidden!r}")
    for k, w in enumerate(spec.hidden):
        _integer(f"hidden[{k}]", w, 1, MAX_WIDTH)
    _choice("init", spec.init, init.INITS)
    if spec.init == "broken_chain" and (len(spec.hidden) < 2 or spec.hidden[1] < 2):
        raise ValueError(f"spec: init broken_chain needs at least two hidden layers, the second of width >= 2; "
                         f"got hidden {list(spec.hidden)}")
    _real("scale", spec.scale, MAX_SCALE)
    _integer("seed", spec.seed, 0, MAX_SEED)
    if not isinstance(spec.a12, bool):
        raise ValueError(f"spec field a12 must be true or false; got {spec.a12!r}")


def _validate_dynamics(spec: "RunSpec") -> None:
    """method, param, solver, checkpoints, policy and its step sizes, max_norm, horizon."""
    _choice("method", spec.method, METHODS)
    _choice("param", spec.param, PARAMS)
    _choice("solver", spec.solver, SOLVERS)
    _choice("engine", spec.engine, ENGINES)
    _integer("checkpoints", spec.checkpoints, 1, MAX_CHECKPOINTS)
    if spec.policy is not None:
        _choice("policy", spec.policy, POLICIES)
    for name, hi in (("eta", MAX_RELATIVE_ETA if spec.policy == "relative" else MAX_ETA),
                     ("radius", MAX_RADIUS), ("max_norm", MAX_NORM)):
        if getattr(spec, name) is not None:
            _real(name, getattr(spec, name), hi)
    if spec.method == "gd":
        _validate_gd(spec)
    else:
        _real("horizon (flow time)", spec.horizon, MAX_FLOW_TIME)
        if spec.param == "geometric" and spec.max_norm is None:
            raise ValueError("spec with param geometric needs max_norm (the flow stops there)")


def _validate_gd(spec: "RunSpec") -> None:
    _real("horizon (gd steps)", spec.horizon, MAX_GD_STEPS)
    if spec.horizon < 1:
        raise ValueError(f"spec field horizon (gd steps) must be at least 1; got {spec.horizon!r}")
    if spec.policy is None:
        raise ValueError(f"spec field policy is needed for method gd: one of {list(POLICIES)}")
    if spec.policy == "constant" and spec.eta is None and spec.radius is None:
        raise ValueError("spec with policy constant needs eta (the step) or radius (eta = 1/beta(radius))")
    if spec.policy == "constant" and spec.eta is None and not losses.get(spec.loss).smooth:
        raise ValueError(f"spec: radius (eta = 1/beta(radius)) needs a loss with finite beta and G "
                         f"(Assumption 3.1); {spec.loss!r} has none: give eta instead")


def data_shape(source) -> tuple[int | None, int | None]:
    """(n, d) of a validated data source; (None, None) for a file (known once it is read)."""
    kind, *args = source
    if kind == "random":
        return int(args[0]), int(args[1])
    if kind == "a27":
        return int(args[0]) + int(args[1]), int(args[0])
    return None, None


def validate_source(source) -> None:
    """The data field: ("random", n, d, margin, seed) | ("a27", d, n_extra, gamma, seed) | ("file", path)."""
    if not isinstance(source, (tuple, list)) or not source or not isinstance(source[0], str) \
            or source[0] not in SOURCES \
            or len(source) != SOURCES[source[0]]:
        raise ValueError('spec field data must be ["random", n, d, margin, seed], ["a27", d, n_extra, gamma, seed] '
                         f'or ["file", path]; got {source!r}')
    kind, *args = source
    if kind == "random":
        _integer("data n", args[0], 1, MAX_N)
        _integer("data d", args[1], 1, MAX_D)
        _unit_interval("data margin", args[2])
        _integer("data seed", args[3], 0, MAX_SEED)
    elif kind == "a27":
        d = _integer("data d (a27)", args[0], 2, MAX_A27_D)
        _integer("data n_extra (a27)", args[1], 0, MAX_N - d)
        _unit_interval("data gamma (a27)", args[2])
        _integer("data seed", args[3], 0, MAX_SEED)
    elif not isinstance(args[0], str) or not Path(args[0]).is_file():
        raise ValueError(f"spec field data: no such file {args[0]!r}")


def layer_dims(spec: "RunSpec", d: int) -> tuple[int, ...]:
    """(d_0, d_1, ..., d_{L-1}, 1)."""
    return (d,) + tuple(int(h) for h in spec.hidden) + (1,)


def snapshot_count(spec: "RunSpec") -> int:
    """An upper bound on the snapshots a run keeps (log-spaced checkpoints or norm levels, plus 0 and 1)."""
    return int(spec.checkpoints) + 3


def memory_estimate(spec: "RunSpec", n: int, d: int) -> float:
    """Bytes a run needs, roughly: every snapshot's layers (and, for gd, the running sums P_k, Q_k of
    Appendix C: d_k^2 + d_{k-1}^2 per layer) times MEMORY_FACTOR for what is derived from them, plus
    the data (X, y, Z and copies) and the max-margin solver's Gram matrix (the smaller of n^2 and d^2)."""
    dims = layer_dims(spec, d)
    layers = sum(i * o for i, o in zip(dims[:-1], dims[1:]))
    sums = sum(i * i + o * o for i, o in zip(dims[:-1], dims[1:])) if spec.method == "gd" else 0
    per_snapshot = MEMORY_FACTOR * (layers + sums)
    return 8.0 * (snapshot_count(spec) * per_snapshot + 4 * n * d + 2 * min(n, d) ** 2)


def work_estimate(spec: "RunSpec", n: int, d: int) -> float:
    """Floating-point operations of a gd run, roughly: per step the margins and risk gradient (~4 n d)
    and per layer the gradient and the running sums (d_{k-1} d_k (d_{k-1} + d_k + 2)); 0 for a flow
    (bounded by MAX_FLOW_TIME and the solver's tolerance instead)."""
    if spec.method != "gd":
        return 0.0
    dims = layer_dims(spec, d)
    per_step = 4.0 * n * d + sum(i * o * (i + o + 2) for i, o in zip(dims[:-1], dims[1:]))
    return float(spec.horizon) * per_step


def memory_cap() -> float:
    """MAX_BYTES, or half of this machine's physical memory when that is smaller (and known)."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return float(MAX_BYTES)
    return float(min(MAX_BYTES, physical / 2)) if physical > 0 else float(MAX_BYTES)


def check_budget(spec: "RunSpec", n: int, d: int) -> None:
    """Refuse a run whose memory or work estimate exceeds memory_cap() or MAX_WORK (one line)."""
    mem, cap = memory_estimate(spec, n, d), memory_cap()
    if mem > cap:
        raise ValueError(f"spec needs about {mem / 2**30:.3g} GiB (n={n}, d={d}, hidden={tuple(spec.hidden)}, "
                         f"checkpoints={spec.checkpoints}); the limit is {cap / 2**30:.3g} GiB")
    work = work_estimate(spec, n, d)
    if work > MAX_WORK:
        raise ValueError(f"spec needs about {work:.3g} floating-point operations (horizon={spec.horizon:g} steps, "
                         f"n={n}, d={d}, hidden={tuple(spec.hidden)}); the limit is {MAX_WORK:g}")


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
    engine: str = "numpy"                      # gd on the numpy backend and the time-parametrised flow's field:
                                               # "numpy" (the reference), "numba" (compiled, the `fast` extra) or
                                               # "auto" (numba if installed, else numpy)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        """A validated spec from JSON; anything else is a one-line ValueError."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"spec is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(f"spec is not valid JSON: {type(exc).__name__}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"spec must be a JSON object {{field: value, ...}}; got {type(raw).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"spec has unknown field(s) {unknown}; the fields are {known}")
        spec = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
        spec.validate()
        return spec

    def validate(self) -> "RunSpec":
        """Range-check every field (limits: the MAX_* constants of this module) and, when the data's
        shape is known without reading a file, the memory and work estimates; returns self.  Raises a
        one-line ValueError naming the field and its limit."""
        validate_source(self.data)
        _validate_model(self)
        _validate_dynamics(self)
        n, d = data_shape(self.data)
        if n is not None:
            check_budget(self, n, d)
        return self

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


def simulate(spec: RunSpec, device: str = "numpy", max_seconds: float | None = None):
    """The trajectory of `spec` (cached: simulate once, check many); gradient-descent steps run on
    `device` (see dynamics.backend), every snapshot is numpy float64.  The spec is validated first.
    A simulation running past `max_seconds` raises dynamics.budget.BudgetExceeded (nothing is cached)."""
    spec.validate()
    with budget.time_budget(max_seconds):
        return _simulate(spec, backend.resolve(device) if on_device(spec) else "numpy")


@lru_cache(maxsize=256)
def _simulate(spec: RunSpec, device: str):
    ds = dataset(spec.data)
    check_budget(spec, ds.n, ds.d)
    loss = losses.get(spec.loss)
    ws0 = initial_weights(spec, ds)
    if spec.max_norm is not None and ((spec.method, spec.param) == ("flow", "geometric") or not on_device(spec)):
        start = network.max_fro(ws0)
        if not spec.max_norm > start:
            raise ValueError(f"spec field max_norm {spec.max_norm:g} must exceed the initial "
                             f"max_k ||W_k||_F = {start:.6g}")
    if spec.method == "flow" and spec.param == "geometric":
        return flow.geometric_flow(ws0, ds.Z, loss, spec.max_norm, levels=spec.checkpoints, method=spec.solver)
    if spec.method == "gd" and not on_device(spec):
        return descent.relative_descent(ws0, ds.Z, loss, spec.eta or 0.05, spec.max_norm, levels=spec.checkpoints,
                                        max_steps=int(spec.horizon), engine=spec.engine)
    if spec.method == "flow":
        if spec.param != "time":
            raise ValueError(f"unknown flow parametrisation {spec.param!r}; choose 'time' or 'geometric'")
        return flow.gradient_flow(ws0, ds.Z, loss, spec.horizon, checkpoints=spec.checkpoints, engine=spec.engine)
    if spec.method == "gd":
        return descent.gradient_descent(ws0, ds.Z, loss, policy(spec), int(spec.horizon), spec.checkpoints,
                                        backend=device, engine=spec.engine)
    raise ValueError(f"unknown method {spec.method!r}")
