"""Eq. (C.6), in the proof of Lemma C.5: under Assumption 3.5 (beta(R_t) >= R_t^{L-1} G),
"||W_k(t+1)||_F <= ||W_k(t)||_F + 1" for every layer k."""
from ..model import Claim, register


def _sides(pair, traj, step=1.0):
    a, b = pair
    return b.fro, a.fro + step


register(Claim(
    "EQC.6", "eq. (C.6)", "step", "||W_k(t+1)||_F <= ||W_k(t)||_F + 1",
    sides=_sides, runs="gd", hypotheses=("A3.1", "A3.5"),
    control=lambda p, t: _sides(p, t, step=0.0), control_note="+1 dropped: norms never grow",
))
