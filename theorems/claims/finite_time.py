"""The finite-time forms behind the limits of Theorems 2.2 and 3.6: at every t the gaps those limits send to 0
are bounded by a constant over a norm that grows (Lemma 2.6 for the flow, Lemma C.7 for gradient descent).
Checked as pass/fail beside the trends (T2.2c, T2.2d, T3.6c's rank and alignment parts):

  T2.2c-rate   flow:      1 - ||W_k||_2^2 / ||W_k||_F^2 <= D / ||W_k||_F^2
  T2.2d-rate   flow:      1 - <v_{k+1}, u_k>^2 <= (D + ||W_{k+1}(0)||_2^2 + ||W_k(0)||_2^2) / ||W_{k+1}||_2^2
  T3.6-rank-rate   GD:    1 - ||W_k||_2^2 / ||W_k||_F^2 <= (D + 2R(W(0))) / ||W_k||_F^2
  T3.6-align-rate  GD:    1 - <v_{k+1}, u_k>^2 <= (D + ||W_k(0)||_2^2 + ||W_{k+1}(0)||_2^2 + 3R(W(0))) / ||W_{k+1}||_2^2

Their sides are Lemma 2.6's and C.7's divided by a squared norm, so their tolerance is the `balance` defect
divided by the same norm, element by element (theorems/claims/_tolerances.py).
"""
import numpy as np

from ..model import Claim, register
from ._paper import D, spectral0
from ._quantities import R0, align2, ks, lacks_sums
from ._tolerances import BALANCE_PER_FRO2, BALANCE_PER_SIGMA2


def _rank(s, traj, constant=None):
    keep = s.fro > 0
    if not np.any(keep) or lacks_sums(s, traj):
        return None
    c = D(traj) + (2 * R0(traj) if traj.method == "gd" else 0.0) if constant is None else constant
    gap = 1 - s.sigma[keep] ** 2 / s.fro[keep] ** 2
    return gap, c / s.fro[keep] ** 2, 1 + abs(c) / s.fro[keep] ** 2


def _align(s, traj, drop=False):
    if np.any(s.sigma[1:] == 0) or lacks_sums(s, traj):
        return None
    w0 = spectral0(traj)
    num = D(traj) + w0[1:] ** 2 + w0[:-1] ** 2 + (3 * R0(traj) if traj.method == "gd" else 0.0)
    gap = 1 - np.array([align2(s, k) for k in ks(traj)])
    return gap, 0.0 if drop else num / s.sigma[1:] ** 2, 1 + num / s.sigma[1:] ** 2


GD = ("A3.1", "A3.5")


def _claim(cid, ref, statement, runs, sides, control, note, hypotheses=()):
    return Claim(cid, ref, "snapshot", statement, sides=sides, relation="<=", runs=runs, hypotheses=hypotheses,
                 tolerance=BALANCE_PER_FRO2 if sides is _rank else BALANCE_PER_SIGMA2, control=control, control_note=note,
                 section="asymptotic")


register(
    _claim("T2.2c-rate", "Theorem 2.2 (c) at finite t, from Lemma 2.6 bullet 1",
           "flow: 1 - ||W_k||_2^2 / ||W_k||_F^2 <= D / ||W_k||_F^2 at every t", "flow", _rank,
           lambda s, t: _rank(s, t, constant=0.0), "D replaced by 0"),
    _claim("T2.2d-rate", "Theorem 2.2 (d) at finite t, from Lemma 2.6 bullet 2",
           "flow: 1 - <v_{k+1}, u_k>^2 <= (D + ||W_{k+1}(0)||_2^2 + ||W_k(0)||_2^2) / ||W_{k+1}||_2^2 at every t",
           "flow", _align, lambda s, t: _align(s, t, drop=True), "the bound replaced by 0"),
    _claim("T3.6-rank-rate", "Theorem 3.6 at finite t, from Lemma C.7 bullet 1",
           "GD (A3.5): 1 - ||W_k||_2^2 / ||W_k||_F^2 <= (D + 2R(W(0))) / ||W_k||_F^2 at every t", "gd", _rank,
           lambda s, t: _rank(s, t, constant=0.0), "D + 2R(W(0)) replaced by 0", GD),
    _claim("T3.6-align-rate", "Theorem 3.6 at finite t, from Lemma C.7 (as its proof concludes)",
           "GD (A3.5): 1 - <v_{k+1}, u_k>^2 <= (D + ||W_k(0)||_2^2 + ||W_{k+1}(0)||_2^2 + 3R(W(0))) / ||W_{k+1}||_2^2 "
           "at every t", "gd", _align, lambda s, t: _align(s, t, drop=True), "the bound replaced by 0", GD),
)
