"""The paper's assumptions as predicates on a trajectory: holds(id, trajectory) -> (ok, reason).

The assumptions that are also claims (SET-DATA, A1.2, A2.7, A3.5) are decided by evaluating those
claims, so a hypothesis and its check are one piece of code.
"""
from __future__ import annotations

from dynamics import losses


def _by_claim(cid):
    def check(traj):
        from .evaluate import evaluate
        from ._claim import REGISTRY

        v = evaluate(REGISTRY[cid], traj)
        return v.status == "pass", v.message or f"{cid} {v.status}"
    return check


def _a11(traj):
    ok = traj.loss.name in losses.LOSSES
    return ok, "" if ok else f"loss {traj.loss.name} not known to satisfy Assumption 1.1"


def _a31(traj):
    ok = traj.loss.smooth
    return ok, "" if ok else f"Assumption 3.1 fails for the {traj.loss.name} loss (l' is not bounded)"


def _a35(traj):
    if not traj.policy.startswith("assumption-3.5"):
        return False, f"step sizes are {traj.policy}, not Assumption 3.5's"
    return _by_claim("A3.5")(traj)


PREDICATES = {
    "SET-DATA": _by_claim("SET-DATA"),
    "A1.1": _a11,
    "A1.2": _by_claim("A1.2"),
    "A2.7": _by_claim("A2.7"),
    "A3.1": _a31,
    "A3.5": _a35,
}


def holds(aid: str, traj) -> tuple[bool, str]:
    return PREDICATES[aid](traj)
