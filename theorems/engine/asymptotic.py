"""Asymptotic claims (and experiments judged on runs) on one trajectory: their hypotheses first (unmet ->
vacuous), then the claim's own trend rule (theorems.claims._limit for the limits).  `trend` is never
`pass`: a limit cannot be verified at a finite horizon."""
from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING

from ..model import Claim, Verdict
from .evaluate import unmet_hypotheses, vacuous_message

if TYPE_CHECKING:
    from dynamics.trajectory import Trajectory


def evaluate_trend(claim: Claim, traj: Trajectory, run_id: str = "", spec: str = "") -> Verdict:
    """Check a claim with a `trend` rule on one trajectory."""
    start = time.perf_counter()
    v = Verdict(claim.id, run_id, "vacuous", spec=spec)
    try:
        if claim.runs not in ("any", traj.method):
            v.message = f"claim speaks about {claim.runs} runs, not {traj.method}"
            return v
        unmet = unmet_hypotheses(claim, traj)
        if unmet:
            v.message = vacuous_message(unmet)
            return v
        out = claim.trend(traj)
        out.claim_id, out.run_id, out.spec = claim.id, run_id, spec
        v = out
    except Exception as exc:  # an error is a finding too: reported as `error`, never hidden
        v.status, v.message = "error", f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)
    finally:
        v.seconds = time.perf_counter() - start
    return v
