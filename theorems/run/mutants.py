"""Mutation testing: the suite measures its own detection power (issue 11, item 6).

A catalogue of deliberately broken simulators and claims.  Each `Mutant` breaks one thing by temporarily
replacing ONE function, method, constant, registry entry or frozen field (`Mutant.apply()` is a context
manager that restores it on exit).  A function is replaced wherever a module binds it (`_everywhere`), so a
name imported elsewhere (`from ._limit import check_limit`) sees the break as it would after a source edit.

Running a mutant: a FRESH interpreter (`python -m theorems.run.mutants --worker ...`) applies the patch,
runs `theorems.run.verify.verify(profile, seed)` and hands the Outcome to a judge (a "module:function" that
digests it the way `aligncheck verify` reports it; the command line passes aligncheck.mutants_cli:judge, so
this module never imports the reporting room).  The digest is compared with the unmutated baseline's: the
mutant is KILLED when a claim turns fail/error, a negative control is no longer caught, a catalogued
erratum is no longer found, a claim becomes checked nowhere, or the exit decision changes; a run past its
time budget is killed by "hang", a verify that raises by "crash".  Fresh processes keep patches and the
lru caches (dynamics.runs.simulate, theorems.claims._problem.certify) from leaking between mutants.

Counted: a mutant whose statement or simulation is wrong.  Not counted (listed, never scored): a change
that leaves every statement true (a stronger bound that still holds, a weaker bound implied by the true
one, a more accurate solver) or code that verify never runs: no verdict can, or should, change.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, ContextManager, Iterator

import numpy as np

from dynamics import descent, flow, geometry, init, losses, network
from dynamics.trajectory import GDSums

from .. import model
from ..claims import _limit, _paper, _problem

ROOT = Path(__file__).resolve().parents[2]
BUDGET_FACTOR = 4.0      # a mutant's run may take this many times the baseline's seconds ...
BUDGET_FLOOR = 120.0     # ... and never less than this (import time and a busy machine)
NOWHERE = ("vacuous", "inconclusive")


# ---- the record ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: what is broken, where, and how to apply it (a context manager factory)."""

    name: str
    broken: str
    where: str
    apply: Callable[[], ContextManager] = field(repr=False, compare=False)
    counted: bool = True
    why_not_counted: str = ""

    def describe(self) -> dict:
        return {"name": self.name, "broken": self.broken, "where": self.where, "counted": self.counted,
                "why_not_counted": self.why_not_counted}


# ---- how a break is applied -------------------------------------------------------------------------

def bindings(obj: object) -> list[tuple[object, str]]:
    """Every (module, name) whose module-level attribute is `obj` (the function itself, or a name that
    imported it), among the modules loaded now."""
    out = []
    for mod in list(sys.modules.values()):
        for name, value in list(getattr(mod, "__dict__", {}).items()):
            if value is obj:
                out.append((mod, name))
    return out


@contextmanager
def _everywhere(module: object, name: str, make: Callable) -> Iterator[None]:
    """Replace module.name by make(original) in every module that binds the original."""
    original = getattr(module, name)
    new = make(original)
    with ExitStack() as stack:
        for mod, attr in bindings(original):
            stack.enter_context(_setting(mod, attr, new))
        yield


@contextmanager
def _setting(obj: object, name: str, value: object) -> Iterator[None]:
    """obj.name = value for the duration (frozen dataclasses included), restored on exit."""
    original = getattr(obj, name)
    _set(obj, name, value)
    try:
        yield
    finally:
        _set(obj, name, original)


def _set(obj: object, name: str, value: object) -> None:
    """setattr, past a frozen dataclass's guard (FrozenInstanceError is an AttributeError)."""
    try:
        setattr(obj, name, value)
    except AttributeError:
        object.__setattr__(obj, name, value)


@contextmanager
def _setting_dict(d: dict, key: str, value: object) -> Iterator[None]:
    """d[key] = value for the duration (e.g. a registry of initialisations), restored on exit."""
    original = d[key]
    d[key] = value
    try:
        yield
    finally:
        d[key] = original


@contextmanager
def _defaults(func: Callable, **changes: object) -> Iterator[None]:
    """func's keyword defaults changed by parameter name (what editing the default in its source does)."""
    params = [p for p in inspect.signature(func).parameters.values()      # the ones __defaults__ holds
              if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty]
    unknown = set(changes) - {p.name for p in params}
    if unknown:
        raise AttributeError(f"{func.__qualname__} has no defaults {sorted(unknown)}")
    with _setting(func, "__defaults__", tuple(changes.get(p.name, p.default) for p in params)):
        yield


@contextmanager
def _claim(cid: str, change: Callable) -> Iterator[None]:
    """The registered claim `cid` replaced by change(claim) (a dataclasses.replace of some field)."""
    original = model.REGISTRY[cid]
    model.REGISTRY[cid] = change(original)
    try:
        yield
    finally:
        model.REGISTRY[cid] = original


def _sides(transform: Callable) -> Callable:
    """A Claim change: its sides (lhs, rhs[, scale]) at every point passed through transform(point,
    traj, sides) -> sides."""
    def change(claim):
        orig = claim.sides

        def sides(point, traj):
            out = orig(point, traj)
            return None if out is None else transform(point, traj, out)
        return replace(claim, sides=sides)
    return change


# ---- the breaks (each a function of the original, or of the claim's sides) -------------------------

def _flip_last_layer(orig):
    def layer_grads_from(ws, g):
        grads = tuple(orig(ws, g))
        return grads[:-1] + (-grads[-1],)
    return layer_grads_from


def _scaled_log(log_factor: float):
    def make(orig):
        def log_neg_deriv(m):
            return orig(m) + log_factor
        return log_neg_deriv
    return make


def _offset_log_risk(offset: float):
    def make(orig):
        def log_risk_of(m, loss):
            return orig(m, loss) + offset
        return log_risk_of
    return make


def _doubled_step(orig):
    def step_size(self, state, ws, grads, loss):
        eta, R = orig(self, state, ws, grads, loss)
        return 2 * eta, R
    return step_size


def _times(factor: float):
    def make(orig):
        def scaled(*args, **kw):
            return factor * orig(*args, **kw)
        return scaled
    return make


def _rotated_ubar(angle: float):
    """The certified max-margin direction turned by `angle` (radians) towards the least aligned axis."""
    def make(orig):
        def certify(Z, u, lam):
            mm = orig(Z, u, lam)
            if len(mm.ubar) < 2:
                return mm
            axis = np.eye(len(mm.ubar))[int(np.argmin(np.abs(mm.ubar)))]
            perp = axis - (axis @ mm.ubar) * mm.ubar
            ubar = math.cos(angle) * mm.ubar + math.sin(angle) * perp / np.linalg.norm(perp)
            return replace(mm, ubar=ubar)
        return certify
    return make


def _scaled_gamma(factor: float):
    def make(orig):
        def certify(Z, u, lam):
            mm = orig(Z, u, lam)
            return replace(mm, gamma=factor * mm.gamma)
        return certify
    return make


def _field_times(factor: float):
    def make(orig):
        def field(ws, Z, loss):
            return tuple(factor * g for g in orig(ws, Z, loss))
        return field
    return make


def _unbalanced(orig):
    def balanced(dims, scale=0.5, seed=0):
        ws = orig(dims, scale, seed)
        return ws[:-1] + (2 * ws[-1],)
    return balanced


def _eta2_sums(factor: float):
    """GDSums.add with its eta^2 G G^T terms multiplied by `factor` (0: dropped, 2: doubled)."""
    def make(orig):
        def add(self, eta, grads, g2):
            new = orig(self, eta, grads, g2)
            return replace(new, P=tuple(p + factor * (q - p) for p, q in zip(self.P, new.P)),
                           Q=tuple(p + factor * (q - p) for p, q in zip(self.Q, new.Q)))
        return add
    return make


def _thresholds_over(factor: float):
    def make(orig):
        def thresholds(n, alpha):
            return {k: v / factor for k, v in orig(n, alpha).items()}
        return thresholds
    return make


def _D_without_balance(orig):
    def D_of(ws0):
        return (max(float(np.sum(np.asarray(w) ** 2)) for w in ws0) - float(np.sum(np.asarray(ws0[-1]) ** 2)))
    return D_of


def _loosened_limits(factor: float):
    def make(orig):
        def check_limit(lim, traj, claim_id=""):
            return orig(lim.with_(threshold=lim.threshold * factor), traj, claim_id)
        return check_limit
    return make


def _rhs_times(factor: float):
    def transform(point, traj, out):
        lhs, rhs, *scale = out
        return (lhs, factor * np.asarray(rhs, float), *scale)
    return transform


def _l26a_sigma_exponent(s, traj, out):
    """||W_k||_F^2 - ||W_k||_2 (exponent 2 -> 1 on the spectral norm)."""
    _, rhs, *scale = out
    return (s.fro**2 - s.sigma, rhs, *scale)


def _c19_strengthened(pair, traj, out):
    """First inequality eta^2 ||dR/dW_1||^2 <= eta^2 ||grad R||^2 (eta <= 1: stronger, still true)."""
    lhs, rhs, *scale = out
    rhs = list(rhs)
    rhs[0] = pair[0].step_size * rhs[0]
    return (lhs, rhs, *scale)


def _premise_dropped(claim):
    """The claim checked with its premise dropped: its negative control's sides (declared to be exactly that)."""
    return replace(claim, sides=claim.control)


def _without_hypotheses(claim):
    return replace(claim, hypotheses=())


# ---- the catalogue ----------------------------------------------------------------------------------

def _m(name, broken, where, apply, counted=True, why=""):
    return Mutant(name, broken, where, apply, counted, why)


CATALOGUE: tuple[Mutant, ...] = (
    # the simulators (dynamics/)
    _m("grad-sign-last-layer", "dR/dW_L returned with its sign flipped (every other layer right)",
       "dynamics/network.py layer_grads_from", lambda: _everywhere(network, "layer_grads_from", _flip_last_layer)),
    _m("loss-deriv-x1.5", "the logistic loss derivative l' scaled by 1.5 (l itself right)",
       "dynamics/losses.py LOGISTIC._log_neg_deriv",
       lambda: _setting(losses.LOGISTIC, "_log_neg_deriv", _scaled_log(math.log(1.5))(losses.LOGISTIC._log_neg_deriv))),
    _m("a35-step-doubled", "Assumption 3.5's step eta_t = 2 min(1/beta(R_t), 1)",
       "dynamics/descent.py Assumption35.step_size",
       lambda: _setting(descent.Assumption35, "step_size", _doubled_step(descent.Assumption35.step_size))),
    _m("beta-halved", "beta(R) = L^2 R^{2L-2} (beta + G) (half of Lemma 3.2's)",
       "dynamics/network.py beta_of_R", lambda: _everywhere(network, "beta_of_R", _times(0.5))),
    _m("ubar-rotated", "the max-margin direction ubar turned by 0.1 rad (gamma, support, dual right)",
       "dynamics/geometry.py _certify", lambda: _everywhere(geometry, "_certify", _rotated_ubar(0.1))),
    _m("gamma-x1.1", "the margin gamma reported 10% too large", "dynamics/geometry.py _certify",
       lambda: _everywhere(geometry, "_certify", _scaled_gamma(1.1))),
    _m("alpha-x2", "Lemma 2.10's alpha doubled", "dynamics/geometry.py alpha",
       lambda: _everywhere(geometry, "alpha", _times(2.0))),
    _m("support-test-strict", "the support-vector test <u, z_i> <= 1 - 1e-6 (sign slip): no support vectors",
       "dynamics/geometry.py SUPPORT_RTOL", lambda: _setting(geometry, "SUPPORT_RTOL", -1e-6)),
    _m("log-risk-offset", "log R(W) off by log(1/2): the risk halved (its gradient right)",
       "dynamics/network.py log_risk_of",
       lambda: _everywhere(network, "log_risk_of", _offset_log_risk(math.log(0.5)))),
    _m("flow-tolerance-loose", "gradient flow integrated at rtol 1e-3, atol 1e-6 (not 1e-10, 1e-12)",
       "dynamics/flow.py gradient_flow (RTOL, ATOL)", lambda: _defaults(flow.gradient_flow, rtol=1e-3, atol=1e-6)),
    _m("flow-field-x2", "the flow's vector field -2 grad R (the path right, its clock twice too fast)",
       "dynamics/flow.py field", lambda: _everywhere(flow, "field", _field_times(2.0))),
    _m("balanced-init-broken", "the 'balanced' initialisation with W_L doubled (D != 0)",
       "dynamics/init.py balanced (INITS)", lambda: _setting_dict(init.INITS, "balanced", _unbalanced(init.INITS["balanced"]))),
    _m("gd-sums-eta2-dropped", "the Appendix C sums P_k, Q_k never accumulate eta^2 G G^T",
       "dynamics/trajectory.py GDSums.add", lambda: _setting(GDSums, "add", _eta2_sums(0.0)(GDSums.add))),
    _m("gd-sums-eta2-doubled", "the Appendix C sums P_k, Q_k accumulate 2 eta^2 G G^T",
       "dynamics/trajectory.py GDSums.add", lambda: _setting(GDSums, "add", _eta2_sums(2.0)(GDSums.add))),
    # the claims (theorems/)
    _m("D-balance-term-dropped", "D computed without sum_k ||A_{k,k+1}||_2",
       "theorems/claims/_paper.py D_of", lambda: _everywhere(_paper, "D_of", _D_without_balance)),
    _m("L2.6a-D-halved", "Lemma 2.6's first bound D replaced by D/2", "theorems/claims/lemma_2_6.py L2.6a sides",
       lambda: _claim("L2.6a", _sides(_rhs_times(0.5)))),
    _m("L2.6a-exponent", "Lemma 2.6's first bound with ||W_k||_2 for ||W_k||_2^2 (an exponent 2 -> 1)",
       "theorems/claims/lemma_2_6.py L2.6a sides", lambda: _claim("L2.6a", _sides(_l26a_sigma_exponent))),
    _m("B4-premise-dropped", "Theorem 2.8 bullet 4 checked without its premise R(W) <= l(0)/n",
       "theorems/claims/theorem_2_8.py T2.8-B4 sides", lambda: _claim("T2.8-B4", _premise_dropped)),
    _m("EQ3.3-A35-premise-dropped", "eq. (3.3) under Assumption 3.5 checked on every run (hypotheses A3.1, A3.5 dropped)",
       "theorems/claims/eq_3_3.py EQ3.3-A35 hypotheses", lambda: _claim("EQ3.3-A35", _without_hypotheses)),
    _m("rounding-x1e6", "the rounding tolerance 1e9 eps scale (not 1e3 eps scale)", "theorems/model.py ROUNDING_FACTOR",
       lambda: _setting(model, "ROUNDING_FACTOR", model.ROUNDING_FACTOR * 1e6)),
    _m("L2.11-thresholds-div10", "every Lemma 2.11 threshold divided by 10",
       "theorems/claims/_problem.py lemma_2_11_thresholds",
       lambda: _everywhere(_problem, "lemma_2_11_thresholds", _thresholds_over(10.0))),
    _m("limit-rate-doubled", "every limit's proven rate exponent demanded twice over (q >= 2p)",
       "theorems/claims/_limit.py RATE_SLACK", lambda: _setting(_limit, "RATE_SLACK", -1.0)),
    # not counted: every statement stays true, or verify never runs the code
    _m("flow-tolerance-tight", "gradient flow integrated at rtol 1e-11, atol 1e-13 (more accurate)",
       "dynamics/flow.py gradient_flow (RTOL, ATOL)", lambda: _defaults(flow.gradient_flow, rtol=1e-11, atol=1e-13),
       counted=False, why="a more accurate solver: the simulated path only gets closer to the true flow"),
    _m("EQC.19-strengthened", "eq. (C.19)'s first bound eta^2 ||dR/dW_1||^2 <= eta^2 ||grad R||^2",
       "theorems/claims/theorem_3_7.py EQC.19 sides", lambda: _claim("EQC.19", _sides(_c19_strengthened)),
       counted=False, why="stronger (eta_t <= 1 under Assumption 3.5) yet still true: ||dR/dW_1||_F <= ||grad R(W)||"),
    _m("limit-threshold-x100", "every limit's threshold loosened 100x", "theorems/claims/_limit.py check_limit",
       lambda: _everywhere(_limit, "check_limit", _loosened_limits(100.0)),
       counted=False, why="a weaker check of a true limit: a quantity tending to 0 reaches a looser threshold "
                          "sooner, so no trend of a true limit can turn fail (a negative control, the wrong limit "
                          "judged by the same loosened threshold, may still notice)"),
)


def by_name(name: str) -> Mutant:
    for m in CATALOGUE:
        if m.name == name:
            return m
    raise KeyError(f"unknown mutant {name!r}; choose one of {[m.name for m in CATALOGUE]}")


# ---- one run in a fresh interpreter -----------------------------------------------------------------

@dataclass
class RunConfig:
    """What every run of one catalogue pass shares."""

    profile: str = "ci"
    seed: int = 0
    claims: list[str] | None = None
    horizon_scale: float = 1.0
    judge: str = "aligncheck.mutants_cli:judge"

    def argv(self) -> list[str]:
        out = ["--profile", self.profile, "--seed", str(self.seed), "--horizon-scale", repr(self.horizon_scale),
               "--judge", self.judge]
        return out + (["--claims", ",".join(self.claims)] if self.claims else [])


def load(spec: str) -> Callable:
    """The callable named "module:function"."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def run_once(name: str | None, cfg: RunConfig, timeout: float | None) -> dict:
    """verify under mutant `name` (None: the baseline) in a fresh interpreter: {"digest": ...} or
    {"crash": message} or {"hang": True}, with "seconds"."""
    with tempfile.TemporaryDirectory(prefix="aligncheck-mutant-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "theorems.run.mutants", "--worker", name or "-", "--out", str(out), *cfg.argv()]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return {"hang": True, "seconds": time.perf_counter() - start}
        seconds = time.perf_counter() - start
        if out.exists():
            return {**json.loads(out.read_text()), "seconds": seconds}
        return {"crash": f"worker exited {proc.returncode}: {proc.stderr.strip()[-400:]}", "seconds": seconds}


def worker(name: str | None, cfg: RunConfig) -> dict:
    """Inside the fresh interpreter: apply the mutant, verify, judge the Outcome."""
    from .verify import verify

    judge = load(cfg.judge)
    mutant = by_name(name) if name else None
    with (mutant.apply() if mutant else ExitStack()):
        try:
            outcome = verify(cfg.profile, seed=cfg.seed, claims=cfg.claims, horizon_scale=cfg.horizon_scale,
                             device="numpy")
        except Exception as exc:  # a verify that raises is a crash the user sees (a traceback, exit != 0)
            return {"crash": f"{type(exc).__name__}: {exc}"[:400]}
        return {"digest": judge(outcome)}


# ---- comparing a mutant with the baseline -----------------------------------------------------------

def _nowhere(status: str) -> bool:
    return status in NOWHERE or status.startswith("met 0/")


def caught_by(base: dict, mutant: dict) -> list[str]:
    """The claims whose report differs in a way the suite reports (a digest is {"status": {id: status},
    "control_caught": {id: bool}, "exit": int}), each with what happened.  A lost negative control is
    listed only for a claim still judged (one that errs or turns vacuous takes its control with it)."""
    out = []
    for cid, was in base["status"].items():
        change = status_change(was, mutant["status"].get(cid, "not checked"))
        if change:
            out.append(f"{cid} ({change})")
        elif base["control_caught"].get(cid) and not mutant["control_caught"].get(cid):
            out.append(f"{cid}~control (no longer caught)")
    return out


def status_change(was: str, now: str) -> str:
    """How a claim's status got worse in a way verify reports ("" if it did not)."""
    if now in ("fail", "error") and was not in ("fail", "error"):
        return now
    if was == "erratum" and now != "erratum":
        return f"erratum lost: {now}"
    if _nowhere(now) and not _nowhere(was):
        return now
    return ""


def judge_result(mutant: Mutant, base: dict, raw: dict) -> dict:
    """One row of the report: killed?, by which claims (or "hang" / "crash"), and the seconds."""
    row = {**mutant.describe(), "seconds": round(raw.get("seconds", 0.0), 1)}
    if raw.get("hang"):
        return {**row, "killed": True, "by": ["hang"]}
    if "crash" in raw:
        return {**row, "killed": True, "by": ["crash"], "crash": raw["crash"]}
    by = caught_by(base, raw["digest"])
    exit_changed = raw["digest"]["exit"] != base["exit"]
    if exit_changed:
        by.append(f"exit {base['exit']} -> {raw['digest']['exit']}")
    return {**row, "killed": bool(by), "by": by}


def score(rows: list[dict]) -> tuple[int, int, float | None]:
    """(killed, counted, killed/counted) over the counted mutants."""
    counted = [r for r in rows if r["counted"]]
    killed = sum(r["killed"] for r in counted)
    return killed, len(counted), (killed / len(counted) if counted else None)


# ---- the whole catalogue ----------------------------------------------------------------------------

def budget(baseline_seconds: float, factor: float = BUDGET_FACTOR) -> float:
    return max(factor * baseline_seconds, BUDGET_FLOOR)


def run_baseline(cfg: RunConfig) -> dict:
    """The unmutated run every mutant is compared with (it must not crash or hang)."""
    raw = run_once(None, cfg, timeout=None)
    if "digest" not in raw:
        raise RuntimeError(f"the unmutated baseline did not complete: {raw.get('crash', raw)}")
    return raw


def run_catalogue(cfg: RunConfig, workers: int = 2, names: list[str] | None = None,
                  on_result: Callable[[dict], None] | None = None, budget_factor: float = BUDGET_FACTOR) -> dict:
    """Baseline first, then every mutant (or those named) `workers` at a time, each in a fresh interpreter
    with a time budget of budget_factor x the baseline's seconds.  Returns the report's dict."""
    mutants = [by_name(n) for n in names] if names else list(CATALOGUE)
    base = run_baseline(cfg)
    limit = budget(base["seconds"], budget_factor)
    rows = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(run_once, m.name, cfg, limit): m for m in mutants}
        for fut in as_completed(futures):
            row = judge_result(futures[fut], base["digest"], fut.result())
            rows.append(row)
            if on_result is not None:
                on_result(row)
    order = {m.name: i for i, m in enumerate(mutants)}
    rows.sort(key=lambda r: order[r["name"]])
    killed, counted, frac = score(rows)
    return {"mutants": rows, "score": frac, "killed": killed, "counted": counted, "profile": cfg.profile,
            "seed": cfg.seed, "claims": cfg.claims, "baseline_seconds": round(base["seconds"], 1),
            "budget_seconds": round(limit, 1), "baseline_exit": base["digest"]["exit"]}


def _main(argv: list[str] | None = None) -> int:
    """The worker's entry point: `python -m theorems.run.mutants --worker NAME|- --out FILE ...`."""
    p = argparse.ArgumentParser(prog="python -m theorems.run.mutants")
    p.add_argument("--worker", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--profile", default="ci")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--horizon-scale", type=float, default=1.0)
    p.add_argument("--claims", default="")
    p.add_argument("--judge", required=True)
    a = p.parse_args(argv)
    cfg = RunConfig(a.profile, a.seed, [c for c in a.claims.split(",") if c] or None, a.horizon_scale, a.judge)
    result = worker(None if a.worker == "-" else a.worker, cfg)
    Path(a.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
