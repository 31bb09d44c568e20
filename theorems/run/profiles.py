"""Profiles: how many runs of which families, how long, how hard to hunt counterexamples.  Every run is a
RunSpec drawn from the command's seed, so every verdict names a run that reproduces it."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from dynamics import losses, network
from dynamics.runs import RunSpec, dataset, initial_weights

from ..model import Claim

PROFILES = {
    # runs per family (flow / gd-a35 / gd-constant), horizon scale, shrink budget (examples), the time
    # budget of one simulation in seconds (past it: an error of the run, reported as such; never a hang), and
    # the hunt's drawn runs steered towards every inequality's bound (run.hunt)
    "quick": dict(runs=3, horizon=1.0, shrink=60, budget=120.0, hunt=10),
    "ci": dict(runs=8, horizon=1.0, shrink=150, budget=120.0, hunt=60),
    "thorough": dict(runs=30, horizon=4.0, shrink=500, budget=600.0, hunt=1500),
}


def scaled(spec: RunSpec, factor: float) -> RunSpec:
    """The same run, `factor` times longer: its horizon (steps or flow time), and the norm it stops at
    for runs that stop at a norm (geometric flow, relative steps)."""
    if factor == 1.0:
        return spec
    horizon = int(round(spec.horizon * factor)) if spec.method == "gd" else spec.horizon * factor
    max_norm = spec.max_norm * factor if spec.max_norm is not None else None
    return spec.with_(horizon=horizon, max_norm=max_norm)


def profile_specs(profile: str, seed: int = 0, data: str | None = None, horizon_scale: float = 1.0) -> list[RunSpec]:
    """The runs of a profile: families chosen so that every claim kind is exercised, with widths,
    depths, losses, data and initialisations drawn from a seeded generator; `horizon_scale` runs each longer."""
    cfg = PROFILES[profile]
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(cfg["runs"]):
        hidden = tuple(int(w) for w in rng.integers(1, 9, size=rng.integers(1, 5)))
        if data is not None:
            source = ("file", data)
        elif i % 2:
            source = ("a27", int(rng.integers(2, 5)), int(rng.integers(0, 8)), 0.3, int(rng.integers(1 << 16)))
        else:
            source = ("random", int(rng.integers(4, 25)), int(rng.integers(2, 6)), 0.1, int(rng.integers(1 << 16)))
        base = RunSpec(data=source, hidden=hidden, seed=int(rng.integers(1 << 16)),
                       init=["gaussian", "gaussian", "balanced", "zero_first"][i % 4],
                       scale=float(rng.choice([0.3, 0.7, 1.2])), checkpoints=24)
        H = cfg["horizon"]
        specs += [
            base.with_(loss=["logistic", "exp"][i % 2], method="flow", horizon=100.0 * H),
            base.with_(loss="logistic", method="gd", policy="a35", horizon=int(1500 * H)),
            base.with_(loss="logistic", method="gd", policy="constant", radius=float(rng.choice([1.5, 2.5])),
                       horizon=int(1500 * H)),
            base.with_(loss=["exp", "logistic"][i % 2], method="gd", policy="constant",
                       eta=float(rng.choice([0.05, 0.2])), horizon=int(500 * H)),
        ]
    specs.append(violating_a12(specs[0]))
    specs += near_bounds(seed, data, cfg["horizon"])
    return [scaled(s, horizon_scale) for s in specs]


def near_bounds(seed: int, data: str | None, horizon: float) -> list[RunSpec]:
    """Runs built to sit near a bound, so that a bound made tighter than the paper's shows: equal singular
    values with a zero last layer (Lemma 2.6a at (r-1)/(r+1) of D at t = 0), the same below the largest
    last layer (D rests on its balance terms alone), and a constant step far above 1/beta(R) (the claims
    resting on Assumption 3.5 must say vacuous there, and hold where they make no such assumption), and a
    chain whose layers 2 and 3 start orthogonal (layer 2 moves alone: Appendix C's sums P and Q part)."""
    src = ("file", data) if data else ("a27", 6, 4, 0.3, 3 + seed)
    base = RunSpec(data=src, hidden=(6,), scale=0.7, seed=seed, checkpoints=24, method="flow", horizon=100.0 * horizon)
    return [base.with_(init="flat_zero_last"), base.with_(init="flat_heavy_last"),
            base.with_(init="flat_heavy_last", hidden=(6, 6)),
            base.with_(init="gaussian", method="gd", policy="constant", eta=20.0, horizon=int(300 * horizon)),
            base.with_(init="broken_chain", hidden=(3, 3), method="gd", policy="constant", eta=0.5,
                       horizon=int(100 * horizon))]


def violating_a12(spec: RunSpec) -> RunSpec:
    """A run whose initialisation, left as drawn, breaks Assumption 1.2 (R(W(0)) > l(0)): it exercises
    the vacuous path.  Seeds are tried in order; no simulation is needed to decide."""
    ds, loss = dataset(spec.data), losses.get(spec.loss)
    for s in range(spec.seed, spec.seed + 200):
        cand = spec.with_(a12=False, init="gaussian", scale=1.2, seed=s)
        if network.risk(initial_weights(cand, ds), ds.Z, loss) > loss.at_zero:
            return cand
    return cand


def long_specs(claims: Iterable[Claim], profile: str, seed: int = 0, data: str | None = None,
               horizon_scale: float = 1.0) -> list[RunSpec]:
    """The long runs the given claims are judged on (each declares its own), each once, in first-named order."""
    out = []
    for claim in claims:
        if claim.long_runs is not None:
            out += [s for s in claim.long_runs(profile, seed, data) if s not in out]
    return [scaled(s, horizon_scale) for s in out]
