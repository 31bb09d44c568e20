"""Lemma 2.6 and the steps of its proof (Appendix B), along gradient flow.

"For any 1 <= k <= L, ||W_k||_F^2 - ||W_k||_2^2 <= D.  For any 1 <= k < L,
<v_{k+1}, u_k>^2 >= 1 - (D + ||W_{k+1}(0)||_2^2 + ||W_k(0)||_2^2) / ||W_{k+1}||_2^2."
(B.2) sigma_k^2 >= sigma_{k+1}^2 - ||A_{k,k+1}||_2;  (B.5) u_k^T W_{k+1}^T W_{k+1} u_k >= sigma_k^2 - ||W_k(0)||_2^2;
(B.7) sigma_k^2 <= <u_k, v_{k+1}>^2 sigma_{k+1}^2 + D + ||W_k(0)||_2^2;
(B.8) sigma_k^2 / sigma_{k+1}^2 >= 1 - ||W_{k+1}(0)||_2^2 / sigma_{k+1}^2.
All rest on eq. (2.4), so their tolerance includes how far the numerical path is from it ("balance"; divided by
sigma_{k+1}^2 for the bounds divided by it).
"""
import numpy as np

from ..model import Claim, register
from ._paper import A_norms, D, spectral0
from ._quantities import align2, ks, next_layer_vanishes, rhs_nonpositive
from ._tolerances import BALANCE, BALANCE_PER_SIGMA2


def _b2(s, traj, drop_A=False):
    sg2 = s.sigma**2
    A = 0 * A_norms(traj) if drop_A else A_norms(traj)
    return sg2[:-1], sg2[1:] - A, sg2[1:] + A_norms(traj)


def _l26a(s, traj, bound=None):
    bound = D(traj) if bound is None else bound
    return s.fro**2 - s.sigma**2, bound, s.fro**2 + D(traj)


def _b5(s, traj, drop=False):
    w0 = 0 * spectral0(traj) if drop else spectral0(traj)
    lhs = [float(np.sum((s.ws[k + 1] @ s.triplets[k][1]) ** 2)) for k in ks(traj)]
    return lhs, s.sigma[:-1] ** 2 - w0[:-1] ** 2, s.sigma[:-1] ** 2 + spectral0(traj)[:-1] ** 2


def _b7(s, traj, drop=False):
    extra = 0.0 if drop else D(traj) + spectral0(traj)[:-1] ** 2
    rhs = np.array([align2(s, k) for k in ks(traj)]) * s.sigma[1:] ** 2 + extra
    return s.sigma[:-1] ** 2, rhs, s.sigma[1:] ** 2 + s.sigma[:-1] ** 2 + D(traj) + spectral0(traj)[:-1] ** 2


def _b8(s, traj, drop=False):
    if next_layer_vanishes(s):
        return None
    sg2 = s.sigma**2
    rhs = 1 - (0 if drop else spectral0(traj)[1:] ** 2 / sg2[1:])
    return sg2[:-1] / sg2[1:], rhs, sg2[:-1] / sg2[1:] + 1 + spectral0(traj)[1:] ** 2 / sg2[1:]


def _l26b(s, traj, drop=False):
    if next_layer_vanishes(s):
        return None
    num = D(traj) + spectral0(traj)[1:] ** 2 + spectral0(traj)[:-1] ** 2
    rhs = 1 - (0 if drop else num / s.sigma[1:] ** 2)
    return [align2(s, k) for k in ks(traj)], rhs, 1 + num / s.sigma[1:] ** 2


def _flow(cid, ref, statement, sides, relation, control, note, tolerance=BALANCE):
    """A flow claim resting on eq. (2.4); every lower bound here bounds a non-negative quantity."""
    return Claim(cid, ref, "snapshot", statement, sides=sides, relation=relation, runs="flow",
                 tolerance=tolerance, control=control, control_note=note,
                 trivial=rhs_nonpositive if relation == ">=" else None)


register(
    _flow("EQB.2", "eq. (B.2)", "sigma_k^2 >= sigma_{k+1}^2 - ||A_{k,k+1}||_2", _b2, ">=",
          lambda s, t: _b2(s, t, drop_A=True), "||A_{k,k+1}||_2 dropped"),
    _flow("L2.6a", "Lemma 2.6, bullet 1", "||W_k||_F^2 - ||W_k||_2^2 <= D", _l26a, "<=",
          lambda s, t: _l26a(s, t, bound=0.0), "D replaced by 0"),
    _flow("EQB.5", "eq. (B.5)", "u_k^T W_{k+1}^T W_{k+1} u_k >= sigma_k^2 - ||W_k(0)||_2^2", _b5, ">=",
          lambda s, t: _b5(s, t, drop=True), "||W_k(0)||_2^2 dropped"),
    _flow("EQB.7", "eq. (B.7)", "sigma_k^2 <= <u_k, v_{k+1}>^2 sigma_{k+1}^2 + D + ||W_k(0)||_2^2", _b7, "<=",
          lambda s, t: _b7(s, t, drop=True), "D + ||W_k(0)||_2^2 dropped"),
    _flow("EQB.8", "eq. (B.8)", "sigma_k^2 / sigma_{k+1}^2 >= 1 - ||W_{k+1}(0)||_2^2 / sigma_{k+1}^2", _b8, ">=",
          lambda s, t: _b8(s, t, drop=True), "||W_{k+1}(0)||_2^2 / sigma_{k+1}^2 dropped", BALANCE_PER_SIGMA2),
    _flow("L2.6b", "Lemma 2.6, bullet 2",
          "<v_{k+1}, u_k>^2 >= 1 - (D + ||W_{k+1}(0)||_2^2 + ||W_k(0)||_2^2) / ||W_{k+1}||_2^2", _l26b, ">=",
          lambda s, t: _l26b(s, t, drop=True), "the correction term dropped: <v_{k+1}, u_k>^2 >= 1",
          BALANCE_PER_SIGMA2),
)
