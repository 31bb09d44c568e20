"""Eq. (2.1): "dR(W)/dt = <grad R(W), dW/dt> = -||grad R(W)||^2 <= 0": gradient flow never
increases the risk.  Checked between consecutive kept snapshots of a flow run."""
from ..model import Claim, register
from ._quantities import pairs
from ._tolerances import PATH


def _mono(pair, traj, reverse=False):
    a, b = pair
    lhs, rhs = (b.risk, a.risk) if not reverse else (a.risk, b.risk)
    return lhs, rhs


register(Claim(
    "EQ2.1-MONO", "eq. (2.1)", "snapshot", "R(W(t)) is non-increasing",
    sides=_mono, runs="flow", points=pairs, tolerance=PATH,
    control=lambda p, traj: _mono(p, traj, reverse=True), control_note="direction reversed: R non-decreasing",
))
