"""Run the claims: simulate each run of a profile once, check every applicable claim (and its
negative control) on it, prove the identities once, shrink counterexamples of failing claims."""
from __future__ import annotations

import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings

from dynamics.runs import RunSpec, simulate

from . import REGISTRY
from ._claim import Verdict
from .errata import ERRATA
from .asymptotic import evaluate_control, evaluate_trend
from .asymptotic import specs as long_specs
from .evaluate import applies, evaluate, evaluate_identity
from .strategies import run_specs

PROFILES = {
    # runs per family (flow / gd-a35 / gd-constant), horizon scale, shrink budget (examples)
    "quick": dict(runs=3, horizon=1.0, shrink=60),
    "ci": dict(runs=8, horizon=1.0, shrink=150),
    "thorough": dict(runs=30, horizon=4.0, shrink=500),
}


def profile_specs(profile: str, seed: int = 0, data: str | None = None) -> list[RunSpec]:
    """The runs of a profile: families chosen so that every claim kind is exercised, with widths,
    depths, losses, data and initialisations drawn from a seeded generator."""
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
    specs.append(_violating_a12(specs[0]))
    return specs


def _violating_a12(spec: RunSpec) -> RunSpec:
    """A run whose initialisation, left as drawn, breaks Assumption 1.2 (R(W(0)) > l(0)): it exercises
    the vacuous path.  Seeds are tried in order; no simulation is needed to decide."""
    from dynamics import losses, network
    from dynamics.runs import dataset, initial_weights

    ds, loss = dataset(spec.data), losses.get(spec.loss)
    for s in range(spec.seed, spec.seed + 200):
        cand = spec.with_(a12=False, init="gaussian", scale=1.2, seed=s)
        if network.risk(initial_weights(cand, ds), ds.Z, loss) > loss.at_zero:
            return cand
    return cand


@dataclass
class Outcome:
    verdicts: list = field(default_factory=list)          # one per (claim, run), identities once
    controls: list = field(default_factory=list)          # verdicts of the negative controls
    counterexamples: dict = field(default_factory=dict)   # claim id -> shrunk failing Verdict
    specs: list = field(default_factory=list)
    provenance: dict = field(default_factory=dict)


def aggregate(claim_id: str, verdicts: list) -> str:
    """One status per claim over its runs: a failure anywhere decides (erratum if catalogued)."""
    statuses = {v.status for v in verdicts}
    if "fail" in statuses:
        return "erratum" if claim_id in ERRATA else "fail"
    if "error" in statuses:
        return "error"
    if "trend" in statuses:  # a limit: finite-time evidence only, never promoted to pass
        return "trend"
    if "pass" in statuses:
        return "pass"
    return "vacuous" if statuses else "not implemented"


def shrink(claim, budget: int, horizon_scale: float = 1.0):
    """The smallest run hypothesis finds on which `claim` fails (None if it finds none)."""
    method = None if claim.runs == "any" else claim.runs
    loss = "logistic" if "A3.1" in claim.hypotheses else None

    def fails(spec):
        try:
            return evaluate(claim, simulate(spec)).status == "fail"
        except Exception:
            return False

    try:
        spec = find(run_specs(method=method, loss=loss, horizon_scale=horizon_scale), fails,
                    settings=settings(max_examples=budget, database=None, derandomize=True, deadline=None,
                                      phases=[Phase.generate, Phase.shrink],
                                      suppress_health_check=list(HealthCheck)))
    except Exception:  # hypothesis.errors.NoSuchExample: no failing run within the budget
        return None
    return evaluate(claim, simulate(spec), run_id="shrunk", spec=spec.to_json())


def _check_run(out: Outcome, selected, run_id: str, spec: RunSpec, trend: bool, device: str = "numpy") -> None:
    """Simulate `spec` once (gradient descent on `device`) and check on it every selected claim of the
    right family."""
    claims = [c for c in selected if (c.trend is not None) == trend and (trend or c.sides is not None)]
    try:
        traj = simulate(spec, device)
    except Exception as exc:  # the simulation itself broke: every claim it was for reports the error
        out.verdicts += [Verdict(c.id, run_id, "error", message=f"simulation failed: {exc}", spec=spec.to_json())
                         for c in claims]
        return
    for claim in claims:
        if claim.runs not in ("any", traj.method):
            continue
        if trend:
            out.verdicts.append(evaluate_trend(claim, traj, run_id, spec.to_json()))
            if claim.control is not None:
                out.controls.append(evaluate_control(claim, traj, run_id, spec.to_json()))
        elif applies(claim, traj):
            out.verdicts.append(evaluate(claim, traj, run_id, spec.to_json()))
            if claim.negative_control:
                out.controls.append(evaluate(claim.negative_control, traj, run_id, spec.to_json()))


def _device_crosscheck(out: Outcome, device: str) -> None:
    """On a torch backend, record how far a few of its gradient-descent runs are from the numpy reference."""
    from dynamics import backend, batched

    be = backend.get(device)
    out.provenance["backend"] = be.describe()
    if be.is_torch:
        out.provenance["device_crosscheck"] = batched.crosscheck(out.specs, be)


def provenance(profile: str, seed: int, data: str | None) -> dict:
    def version(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=__file__.rsplit("/", 2)[0],
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD") or None
    status = git("status", "--porcelain", "--untracked-files=no")   # at the start: the code this run used
    return {
        "profile": profile, "seed": seed, "data": data, "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "versions": {p: version(p) for p in ("aligncheck", "numpy", "scipy", "quadprog", "sympy", "hypothesis",
                                          "array-api-compat", "torch")},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def verify(profile: str = "ci", seed: int = 0, data: str | None = None, claims=None, progress=None,
           device: str = "auto") -> Outcome:
    """Check every registered claim (or those in `claims`) on the runs of `profile`.

    Gradient-descent runs step on the backend `device` selects (dynamics.backend: "auto" is CUDA when
    torch sees one, else numpy); flows, shrinking and every claim's evaluation are numpy float64.  On
    a torch backend a few runs are also re-run on numpy and their agreement is recorded."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    selected = [REGISTRY[c] for c in (claims or REGISTRY)]
    out = Outcome(specs=profile_specs(profile, seed, data), provenance=provenance(profile, seed, data))
    start = time.perf_counter()
    tick = progress or (lambda *_: None)
    for claim in selected:
        if claim.kind == "identity":
            out.verdicts.append(evaluate_identity(claim))
            if claim.negative_control:
                out.controls.append(evaluate_identity(claim.negative_control))
    tick("identities")
    for i, spec in enumerate(out.specs):
        _check_run(out, selected, f"run{i:03d}", spec, trend=False, device=device)
        tick(f"run{i:03d}")
    # the limits (asymptotic claims) are judged on long runs of their own, numbered after the others
    if any(c.trend is not None for c in selected):
        for spec in long_specs(profile, seed, data):
            run_id = f"run{len(out.specs):03d}"
            out.specs.append(spec)
            _check_run(out, selected, run_id, spec, trend=True, device=device)
            tick(run_id)
    for claim in selected:  # hunt a shrunk counterexample for failing claims and for known errata
        if claim.sides is None or claim.assumption:  # an assumption unmet on a run is no paper error
            continue
        failing = aggregate(claim.id, [v for v in out.verdicts if v.claim_id == claim.id]) in ("fail", "erratum")
        if failing or claim.id in ERRATA:
            tick(f"shrink {claim.id}")
            cx = out.counterexamples[claim.id] = shrink(claim, PROFILES[profile]["shrink"])
            if cx is not None and not failing:
                out.verdicts.append(cx)
    _device_crosscheck(out, device)
    out.provenance["seconds"] = time.perf_counter() - start
    return out
