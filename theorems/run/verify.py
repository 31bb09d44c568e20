"""verify: prove the identities once, simulate each run of a profile once and check on it every claim
the plan applies (and its negative control), run the experiments, hunt a shrunk counterexample for
failing claims and catalogued errata, replay the deciding violations in high precision, and keep what the
report draws.  The Outcome is all a report reads."""
from __future__ import annotations

import platform
import subprocess
import sys
import time
from concurrent.futures import wait
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from dynamics import backend
from dynamics.runs import RunSpec, simulate

from ..engine.evaluate import slack_series
from ..engine.precision import DEPARTURE, replay
from ..model import REGISTRY, Claim, Outcome, Verdict, aggregate, errata, ordered
from . import plan
from .executor import Executor, one_at_a_time
from .executor import make as make_executor
from .hunt import hunt
from .plan import SIMULATION_ERRORS
from .profiles import PROFILES, long_specs, profile_specs
from .strategies import run_specs

REPLAYS = 3   # failing verdicts of one claim replayed in high precision, largest violation first


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


def confirm(out: Outcome, claims: list, trajectories: dict) -> None:
    """Replay in high precision (theorems.engine.precision) the violations that decide a claim's fail or
    erratum, largest first, until one is confirmed (at most REPLAYS per claim), and the shrunk counterexample.
    A violation the replay does not reproduce is rounding: its verdict becomes inconclusive (rounding).  A run
    whose float64 weights depart from the replayed paper dynamics beyond rounding is an error of the run.
    `trajectories` ({run_id: trajectory}) are the runs this process holds (the others come from the cache)."""
    for claim in claims:
        if claim.sides is None:
            continue
        failing = sorted((v for v in out.verdicts if v.claim_id == claim.id and v.status == "fail"),
                         key=lambda v: v.worst_slack)
        for v in failing[:REPLAYS]:
            _judge_replay(v, replay(claim, v, ran=trajectories.get(v.run_id)))
            if v.status == "fail" and "unavailable" not in v.details["high_precision"]:
                break   # decided: a confirmed violation
        cx = out.counterexamples.get(claim.id)
        if cx is not None and cx.status == "fail" and "high_precision" not in cx.details:
            _judge_replay(cx, replay(claim, cx))


def _judge_replay(v: Verdict, hp: dict) -> None:
    v.details["high_precision"] = hp
    if hp.get("departure") is not None and hp["departure"] > DEPARTURE:
        v.status = "error"
        v.message += (f"; the float64 run departs from the paper's gradient descent replayed in {hp['digits']} "
                      f"digits by {hp['departure']:.3g} (relative; rounding allows {DEPARTURE:g})")
    elif hp.get("confirms") is False:
        v.status = "inconclusive"
        v.details["rounding"] = True
        v.message += f"; not confirmed in {hp['digits']}-digit arithmetic (slack there {hp['slack']})"


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


def _run_task(claim_ids: list[str], run_id: str, spec: RunSpec, device: str, max_seconds: float | None,
              keep: bool) -> tuple[list, list, object]:
    """One run, wherever an executor runs it: (its verdicts, its controls, its trajectory if `keep`, else
    None).  Claims travel by ID (a worker's registry is its own import of the claims)."""
    out, trajectories = Outcome(), {}
    with one_at_a_time():
        _check_run(out, [REGISTRY[c] for c in claim_ids], run_id, spec, device, trajectories, max_seconds)
    return out.verdicts, out.controls, trajectories.get(run_id) if keep else None


def _shrink_task(claim_id: str, budget: int, max_seconds: float | None) -> Verdict | None:
    """shrink(), wherever an executor runs it (hypothesis is derandomized: the same result anywhere)."""
    with one_at_a_time():
        return shrink(REGISTRY[claim_id], budget, max_seconds=max_seconds)


def _shrinkable(claim: Claim) -> bool:
    return claim.sides is not None and not claim.assumption   # an assumption unmet on a run is no paper error


def _prove_task(claim_id: str) -> tuple:
    """An identity claim's proof and its negative control's, wherever an executor runs it."""
    claim = REGISTRY[claim_id]
    with one_at_a_time():
        return plan.check(claim), plan.check_control(claim)


POLL = 0.2   # seconds between two looks at stop() while runs are going


def _run_all(out: Outcome, claims_of: list, device: str, max_seconds: float | None, trajectories: dict,
             finished: dict, executor: Executor, on_run, stop, tick) -> None:
    """Run out.specs[i] checking claims_of[i] on `executor` and take the results in run order: verdicts
    appended, on_run(run_id, ...) and tick(run_id) called here, in order, as the runs before have all
    finished.  Runs in `finished` are taken as they are.  When stop() says so, nothing more is submitted,
    runs not started are cancelled, those running are waited for; what finished is taken in order and
    Interrupted is raised (unless every run had finished)."""
    total, futures = len(out.specs), {}
    submitted = delivered = 0   # runs handed to the executor (or found finished), runs taken in order
    stopping = False
    device = backend.resolve(device)   # here, once: every worker steps on the backend this machine chose

    def deliver(i: int, result: tuple) -> None:
        run_id = f"run{i:03d}"
        if result is None:   # from the journal
            out.verdicts += finished[run_id][0]
            out.controls += finished[run_id][1]
        else:
            verdicts, controls, traj = result
            out.verdicts += verdicts
            out.controls += controls
            if traj is not None:
                trajectories[run_id] = traj
            if on_run is not None:
                on_run(run_id, verdicts, controls)
        tick(run_id)

    def ready(i: int) -> bool:
        return i not in futures or futures[i].done()

    try:
        while delivered < total:
            while not stopping and submitted < total and submitted - delivered < executor.window:
                run_id, claims = f"run{submitted:03d}", claims_of[submitted]
                if run_id not in finished:
                    keep = executor.in_process or any(c.sides is not None for c in claims)  # for keep_series
                    futures[submitted] = executor.submit(_run_task, [c.id for c in claims], run_id,
                                                         out.specs[submitted], device, max_seconds, keep)
                submitted += 1
            if delivered < submitted and ready(delivered):
                deliver(delivered, futures.pop(delivered).result() if delivered in futures else None)
                delivered += 1
                stopping = stopping or (stop is not None and stop() and delivered < total)
            elif stopping:
                break
            else:
                wait([futures[delivered]], timeout=POLL)
                stopping = stop is not None and stop()
        if stopping and delivered < total:   # nothing more starts; what is running finishes and is kept, in order
            for f in futures.values():
                f.cancel()
            wait([f for f in futures.values() if not f.cancelled()])
            for i in range(delivered, submitted):
                if i not in futures or not futures[i].cancelled():
                    deliver(i, futures.pop(i).result() if i in futures else None)
                    delivered += 1
            out.provenance["interrupted"] = f"{delivered} of {total} runs"
            raise Interrupted(out, delivered, total)
    finally:
        for f in futures.values():   # an error: nothing left running for us
            f.cancel()


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
           stop: Callable[[], bool] | None = None, jobs: int = 1, executor: Executor | None = None,
           hunt_examples: int | None = None) -> Outcome:
    """Check every registered claim (or those in `claims`) on the runs of `profile`.

    Gradient-descent runs step on the backend `device` selects (dynamics.backend: "auto" is CUDA when
    torch sees one, else numpy); flows, shrinking and every claim's evaluation are numpy float64.  On
    a torch backend a few runs are also re-run on numpy and their agreement is recorded.  `alexnet`: a
    finished `aligncheck alexnet` result (theorems.experiments.alexnet.load_result) for FIG3a/FIG3b.
    `horizon_scale` runs every simulation that many times longer (for limits left inconclusive).
    `hunt_examples` (default: the profile's) drawn runs steered towards every inequality's bound (run.hunt).

    Interrupt and resume: after each run `on_run(run_id, verdicts, controls)` is called (to journal them),
    then `stop()` is asked; if it says so, Interrupted is raised with the outcome of what finished.  Runs in
    `finished` ({run_id: (verdicts, controls)}, from a journal) are not simulated again: their verdicts are
    taken as they are, so a resumed run's results equal an uninterrupted one's.

    Parallel runs: the runs are independent simulations; `jobs` > 1 runs them in that many local processes
    (theorems.run.executor; 1: one after the other, here), or `executor` (an Executor, e.g. a DaskExecutor,
    left open) runs them wherever it does.  The verdicts, their order and on_run's order are the same
    whatever runs them; on a stop, runs not yet started are cancelled and those running are finished."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    selected = ordered(REGISTRY[c] for c in (claims or REGISTRY))
    out = Outcome(specs=profile_specs(profile, seed, data, horizon_scale), provenance=provenance(profile, seed, data))
    out.provenance["horizon_scale"] = horizon_scale
    owned = ExitStack()   # an executor made here is closed after the runs; one passed in is its caller's
    if executor is None:
        executor = owned.enter_context(make_executor("local", jobs))
    start = time.perf_counter()
    tick = progress or (lambda *_: None)
    executor.warm()
    # the identities' proofs (sympy, ~10 s of CPU) go to the executor first, so a pool proves them beside the runs
    proofs = [executor.submit(_prove_task, c.id) for c in selected if c.kind == "identity"]
    trajectories, finished = {}, finished or {}
    max_seconds = PROFILES[profile]["budget"] * horizon_scale
    on_runs = [c for c in selected if plan.needs_run(c) and not plan.on_long_runs(c)]
    # the limits (asymptotic claims) are judged on long runs of their own, numbered after the others
    limits = [c for c in selected if plan.on_long_runs(c)]
    short, long = len(out.specs), long_specs(limits, profile, seed, data, horizon_scale)
    out.specs += long
    known = errata()
    with owned:
        try:
            _run_all(out, [on_runs if i < short else limits for i in range(len(out.specs))], device, max_seconds,
                     trajectories, finished, executor, on_run, stop, tick)
        except BaseException:   # interrupted (or broken): proofs not yet started are dropped
            for f in proofs:
                f.cancel()
            raise
        finally:   # identities first in the outcome, whatever ran them
            proved = [f.result() for f in proofs if not f.cancelled()]
            out.verdicts[:0] = [v for v, _ in proved]
            out.controls[:0] = [c for _, c in proved if c is not None]
        tick("identities")
        # the catalogued errata are shrunk whatever the runs show: a pool does it beside the hunt below
        shrinking = {} if executor.in_process else {
            c.id: executor.submit(_shrink_task, c.id, PROFILES[profile]["shrink"], max_seconds)
            for c in selected if _shrinkable(c) and c.id in known}
        try:
            examples = PROFILES[profile]["hunt"] if hunt_examples is None else hunt_examples
            if examples:
                tick("hunt")
                found, out.provenance["hunt"] = hunt(on_runs, examples, seed, max_seconds, horizon_scale, stop=stop,
                                                     progress=tick)
                out.verdicts += found
                if stop is not None and stop():
                    out.provenance["interrupted"] = f"{len(out.specs)} of {len(out.specs)} runs, during the hunt"
                    raise Interrupted(out, len(out.specs), len(out.specs))
            experiments = [c for c in selected if c.experiment is not None]
            for claim in experiments:
                out.verdicts.append(plan.check(claim))
            if experiments:
                from ..experiments.figures import figure_runs

                out.figures.update(figure_runs())
                tick("experiments")
            if alexnet is not None:  # asked for by name (--alexnet DIR): reported whatever --claim says
                add_alexnet(out, alexnet)
            for claim in selected:   # the catalogued counterexample of each erratum checked on runs
                if claim.witness is not None:
                    out.verdicts.append(plan.check(claim, simulate(claim.witness), "witness", claim.witness.to_json()))
            for claim in filter(_shrinkable, selected):  # a shrunk counterexample for failing claims and known errata
                failing = aggregate(claim.id, [v for v in out.verdicts if v.claim_id == claim.id]) in ("fail", "erratum")
                if failing or claim.id in known:
                    tick(f"shrink {claim.id}")
                    cx = out.counterexamples[claim.id] = (shrinking[claim.id].result() if claim.id in shrinking else
                                                          shrink(claim, PROFILES[profile]["shrink"], max_seconds=max_seconds))
                    if cx is not None and not failing:
                        out.verdicts.append(cx)
        except BaseException:   # interrupted (or broken): shrinks not yet started are dropped
            for f in shrinking.values():
                f.cancel()
            raise
    confirm(out, selected, trajectories)
    keep_series(out, selected, trajectories)
    _device_crosscheck(out, device)
    out.provenance["seconds"] = time.perf_counter() - start
    return out
