"""The hunt: attack every bound.  Hypothesis draws runs (shapes, depths, losses, step policies, horizons, and
initialisations built to sit near a bound: balanced, W_1 = 0, equal singular values, a broken chain) and is
steered by `target()` towards each inequality's least relative slack, one label per claim, so one search
serves every claim.  Every drawn run comes from the command's seed.  Per claim it keeps the tightest
verdict and the largest violation; a violation found here becomes fail / erratum like any other."""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import seed as hypothesis_seed

from dynamics.runs import simulate

from ..model import Claim, Verdict
from . import plan
from .strategies import run_specs


def huntable(claim: Claim) -> bool:
    """An inequality checked point by point on runs (not an assumption: unmet there is no paper error)."""
    return claim.sides is not None and claim.relation != "==" and not claim.assumption


def hunt(claims: list, examples: int, seed: int = 0, max_seconds: float | None = None,
         horizon_scale: float = 1.0, stop=None, progress=None) -> tuple[list[Verdict], dict]:
    """(verdicts, stats) of the hunt's runs ("hunt000", ...): per claim the tightest passing verdict and the
    largest violation (fail, and rounding-level inconclusive); stats count the runs, the violating runs per
    claim and the checks that errored (a drawn run too inaccurate to judge, kept out of the claims' verdicts
    and counted here).  `examples` runs at most, each within `max_seconds`;
    `stop()` ends the search early (an interrupt)."""
    targets = [c for c in claims if huntable(c)]
    stats = {"examples": examples, "runs": 0, "unsimulable": 0, "errors": 0, "first_error": "", "violations": {}}
    if not targets or examples <= 0:
        return [], stats
    best: dict[tuple, Verdict] = {}
    order = {c.id: i for i, c in enumerate(targets)}

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate, Phase.target],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(run_specs(horizon_scale=horizon_scale))
    def probe(spec):
        if stop is not None and stop():
            return
        run_id = f"hunt{stats['runs']:03d}"
        stats["runs"] += 1
        if progress is not None:
            progress(run_id)
        try:
            traj = simulate(spec, max_seconds=max_seconds)
        except plan.SIMULATION_ERRORS:
            stats["unsimulable"] += 1   # a drawn run the dynamics cannot take: nothing to aim at
            return
        for claim in targets:
            if not plan.speaks_about(claim, traj):
                continue
            v = plan.check(claim, traj, run_id, spec.to_json())
            if v.status == "error":
                stats["errors"] += 1
                stats["first_error"] = stats["first_error"] or f"{claim.id} on {spec.to_json()}: {v.message[:300]}"
                continue
            if v.rel_slack is None:   # vacuous there, or no point with a nonzero side
                continue
            target(-v.rel_slack, label=claim.id)
            if v.status in ("fail", "inconclusive"):
                stats["violations"][claim.id] = stats["violations"].get(claim.id, 0) + 1
            key = (claim.id, v.status)   # per claim: the tightest pass, the largest violation of each kind
            score = (lambda u: u.rel_slack) if v.status == "pass" else (lambda u: u.worst_slack)
            if key not in best or score(v) < score(best[key]):
                best[key] = v

    probe()
    return [best[k] for k in sorted(best, key=lambda k: (order[k[0]], k[1]))], stats
