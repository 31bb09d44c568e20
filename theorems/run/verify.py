"""verify: prove the identities once, simulate each run of a profile once and check on it every claim
the plan applies (and its negative control), run the experiments, hunt a shrunk counterexample for
failing claims and catalogued errata, and keep what the report draws.  The Outcome is all a report reads."""
from __future__ import annotations

import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from dynamics.budget import BudgetExceeded
from dynamics.runs import RunSpec, simulate

from ..engine.evaluate import slack_series
from ..model import REGISTRY, Claim, Outcome, Verdict, aggregate, errata, ordered
from . import plan
from .profiles import PROFILES, long_specs, profile_specs
from .strategies import run_specs

# what simulating a drawn run may raise when its dynamics break down (overflow, a solver or a step policy
# refusing its input); anything else is a bug of the suite and propagates
SIMULATION_ERRORS = (ArithmeticError, ValueError, RuntimeError, BudgetExceeded)


def shrink(claim: Claim, budget: int, horizon_scale: float = 1.0, max_seconds: float | None = None) -> Verdict | None:
    """The smallest run hypothesis finds on which `claim` fails (None if it finds none within the budget;
    an `error` verdict if a drawn run could not be simulated)."""
    method = None if claim.runs == "any" else claim.runs
    loss = "logistic" if "A3.1" in claim.hypotheses else None

    def fails(spec):
        return plan.check(claim, simulate(spec, max_seconds=max_seconds)).status == "fail"

    try:
        spec = find(run_specs(method=method, loss=loss, horizon_scale=horizon_scale), fails,
                    settings=settings(max_examples=budget, database=None, derandomize=True, deadline=None,
                                      phases=[Phase.generate, Phase.shrink],
                                      suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return None
    except SIMULATION_ERRORS as exc:
        return Verdict(claim.id, "shrunk", "error",
                       message=f"counterexample hunt: a drawn run could not be simulated: {type(exc).__name__}: {exc}")
    return plan.check(claim, simulate(spec), run_id="shrunk", spec=spec.to_json())


def _check_run(out: Outcome, claims: list, run_id: str, spec: RunSpec, device: str, trajectories: dict,
               max_seconds: float | None = None) -> None:
    """Simulate `spec` once (gradient descent on `device`, within `max_seconds`) and check on it every claim
    that speaks about it."""
    try:
        traj = simulate(spec, device, max_seconds)
    except SIMULATION_ERRORS as exc:  # the simulation itself broke: every claim it was for reports the error
        out.verdicts += [Verdict(c.id, run_id, "error", spec=spec.to_json(),
                                 message=f"simulation failed: {type(exc).__name__}: {exc}") for c in claims]
        return
    trajectories[run_id] = traj
    for claim in claims:
        if not plan.speaks_about(claim, traj):
            continue
        out.verdicts.append(plan.check(claim, traj, run_id, spec.to_json()))
        control = plan.check_control(claim, traj, run_id, spec.to_json())
        if control is not None:
            out.controls.append(control)


def _representative(cid: str, outcome: Outcome) -> Verdict | None:
    """The verdict whose run the report plots: the shrunk counterexample if any, else the run with the
    smallest slack."""
    cx = outcome.counterexamples.get(cid)
    if cx is not None and cx.spec:
        return cx
    vs = [v for v in outcome.verdicts if v.claim_id == cid and v.spec and v.worst_slack is not None
          and v.status in ("pass", "fail")]
    return min(vs, key=lambda v: v.worst_slack) if vs else None


def keep_series(out: Outcome, claims: list, trajectories: dict) -> None:
    """Both sides of every inequality along its representative run, for the report's slack plots."""
    for claim in claims:
        rep = _representative(claim.id, out) if claim.sides is not None else None
        if rep is None:
            continue
        traj = trajectories.get(rep.run_id) or simulate(RunSpec.from_json(rep.spec))  # the shrunk run is cached
        which = "the shrunk counterexample" if rep.run_id == "shrunk" else "the run with the smallest slack"
        out.series[claim.id] = {"run": rep.run_id, "which": which, "relation": claim.relation,
                                "series": slack_series(claim, traj)}


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
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
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


def add_alexnet(out: Outcome, result: dict) -> None:
    """Figure 3's verdicts and controls from a finished `aligncheck alexnet` result (its input, not a run here)."""
    from ..experiments.alexnet import report_verdicts

    verdicts, controls = report_verdicts(result)
    out.verdicts += verdicts
    out.controls += controls
    out.figures["fig3"] = result
    out.provenance["alexnet"] = result["dir"]


class Interrupted(Exception):
    """verify stopped at a safe point (between runs) because `stop()` said so; `outcome` holds what finished."""

    def __init__(self, outcome: Outcome, done: int, total: int):
        super().__init__(f"interrupted ({done} of {total} runs)")
        self.outcome, self.done, self.total = outcome, done, total


def verify(profile: str = "ci", seed: int = 0, data: str | None = None, claims: list[str] | None = None,
           progress: Callable[[str], None] | None = None, device: str = "auto", alexnet: dict | None = None,
           horizon_scale: float = 1.0, finished: dict | None = None,
           on_run: Callable[[str, list, list], None] | None = None,
           stop: Callable[[], bool] | None = None) -> Outcome:
    """Check every registered claim (or those in `claims`) on the runs of `profile`.

    Gradient-descent runs step on the backend `device` selects (dynamics.backend: "auto" is CUDA when
    torch sees one, else numpy); flows, shrinking and every claim's evaluation are numpy float64.  On
    a torch backend a few runs are also re-run on numpy and their agreement is recorded.  `alexnet`: a
    finished `aligncheck alexnet` result (theorems.experiments.alexnet.load_result) for FIG3a/FIG3b.
    `horizon_scale` runs every simulation that many times longer (for limits left inconclusive).

    Interrupt and resume: after each run `on_run(run_id, verdicts, controls)` is called (to journal them),
    then `stop()` is asked; if it says so, Interrupted is raised with the outcome of what finished.  Runs in
    `finished` ({run_id: (verdicts, controls)}, from a journal) are not simulated again: their verdicts are
    taken as they are, so a resumed run's results equal an uninterrupted one's."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    selected = ordered(REGISTRY[c] for c in (claims or REGISTRY))
    out = Outcome(specs=profile_specs(profile, seed, data, horizon_scale), provenance=provenance(profile, seed, data))
    out.provenance["horizon_scale"] = horizon_scale
    start = time.perf_counter()
    tick = progress or (lambda *_: None)
    for claim in selected:
        if claim.kind == "identity":
            out.verdicts.append(plan.check(claim))
            control = plan.check_control(claim)
            if control is not None:
                out.controls.append(control)
    tick("identities")
    trajectories, finished = {}, finished or {}
    max_seconds = PROFILES[profile]["budget"] * horizon_scale
    on_runs = [c for c in selected if plan.needs_run(c) and not plan.on_long_runs(c)]
    # the limits (asymptotic claims) are judged on long runs of their own, numbered after the others
    limits = [c for c in selected if plan.on_long_runs(c)]
    short, long = len(out.specs), long_specs(limits, profile, seed, data, horizon_scale)
    out.specs += long
    for i, spec in enumerate(out.specs):
        run_id, n_v, n_c = f"run{i:03d}", len(out.verdicts), len(out.controls)
        if run_id in finished:
            out.verdicts += finished[run_id][0]
            out.controls += finished[run_id][1]
        else:
            _check_run(out, on_runs if i < short else limits, run_id, spec, device, trajectories, max_seconds)
            if on_run is not None:
                on_run(run_id, out.verdicts[n_v:], out.controls[n_c:])
        tick(run_id)
        if stop is not None and stop() and i + 1 < len(out.specs):
            out.provenance["interrupted"] = f"{i + 1} of {len(out.specs)} runs"
            raise Interrupted(out, i + 1, len(out.specs))
    experiments = [c for c in selected if c.experiment is not None]
    for claim in experiments:
        out.verdicts.append(plan.check(claim))
    if experiments:
        from ..experiments.figures import figure_runs

        out.figures.update(figure_runs())
        tick("experiments")
    if alexnet is not None:  # asked for by name (--alexnet DIR): reported whatever --claim says
        add_alexnet(out, alexnet)
    known = errata()
    for claim in selected:  # hunt a shrunk counterexample for failing claims and for known errata
        if claim.sides is None or claim.assumption:  # an assumption unmet on a run is no paper error
            continue
        failing = aggregate(claim.id, [v for v in out.verdicts if v.claim_id == claim.id]) in ("fail", "erratum")
        if failing or claim.id in known:
            tick(f"shrink {claim.id}")
            cx = out.counterexamples[claim.id] = shrink(claim, PROFILES[profile]["shrink"], max_seconds=max_seconds)
            if cx is not None and not failing:
                out.verdicts.append(cx)
    keep_series(out, selected, trajectories)
    _device_crosscheck(out, device)
    out.provenance["seconds"] = time.perf_counter() - start
    return out
