"""The one plan: for a claim and a run, what is checked and how.  verify, `aligncheck check`, the
tests and the report all call `check`, so every verdict reproduces from its own command."""
from __future__ import annotations

from typing import TYPE_CHECKING

from dynamics.budget import BudgetExceeded

from ..engine.asymptotic import evaluate_trend
from ..engine.evaluate import evaluate, evaluate_identity
from ..model import Claim, Verdict

if TYPE_CHECKING:
    from dynamics.trajectory import Trajectory


# what simulating a run may raise when its dynamics break down (overflow, a solver or a step policy refusing its
# input, the time budget): an error of that run, reported as such; anything else is a bug of the suite
SIMULATION_ERRORS = (ArithmeticError, ValueError, RuntimeError, BudgetExceeded)


def needs_run(claim: Claim) -> bool:
    """Whether the claim is checked on a simulated run (identities are proved, experiments run themselves)."""
    return claim.sides is not None or claim.trend is not None


def on_long_runs(claim: Claim) -> bool:
    """Limits are judged on long runs of their own (claim.long_runs), the other run claims on a profile's runs."""
    return claim.trend is not None


def speaks_about(claim: Claim, traj: Trajectory) -> bool:
    """Whether `claim` says anything about a run of this method (flow or gradient descent)."""
    return needs_run(claim) and claim.runs in ("any", traj.method)


def check(claim: Claim, traj: Trajectory | None = None, run_id: str = "", spec: str = "") -> Verdict:
    """The verdict of `claim` (on `traj` when it needs a run)."""
    if claim.kind == "identity":
        return evaluate_identity(claim)
    if claim.experiment is not None:
        return claim.experiment()
    if traj is None:
        raise ValueError(f"{claim.id} is checked on a run: give its trajectory")
    if claim.trend is not None:
        return evaluate_trend(claim, traj, run_id, spec)
    return evaluate(claim, traj, run_id, spec)


def check_control(claim: Claim, traj: Trajectory | None = None, run_id: str = "",
                  spec: str = "") -> Verdict | None:
    """The verdict of the claim's negative control (None if it has none): it must come out failing."""
    control = claim.negative_control
    return None if control is None else check(control, traj, run_id, spec)
