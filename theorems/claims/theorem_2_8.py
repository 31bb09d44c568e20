"""Steps of the proof of Theorem 2.8 (Appendix B) that hold at every time.

(B.18) "||Pi_perp v_1|| >= ||Pi_perp W_1||_F / ||W_1||_F - sqrt(dD) / ||W_1||_2"  (along gradient flow:
it uses ||W_1||_F^2 - ||W_1||_2^2 <= D from Lemma 2.6).
Bullet 4: "R(W) <= l(0)/n, which implies <w_prod, z_i> >= 0 for all 1 <= i <= n [...] and therefore
<w_prod, ubar> >= 0."  (An implication about any W; checked at every snapshot of every run.)
"""
import numpy as np

from dynamics import network

from ..model import Claim, register
from ._paper import A_norms, D, spectral0
from ._quantities import geom, perp_W1, rhs_nonpositive
from ._tolerances import BALANCE


def _b18(s, traj, drop=False):
    g = geom(traj)
    W1 = s.ws[0]
    if not network.fro(W1) > 0:  # both ratios are undefined at W_1 = 0 (e.g. Appendix A's initialisation)
        return None
    lhs = np.linalg.norm(g.perp @ s.triplets[0][2])
    corr = 0.0 if drop else np.sqrt(g.d * D(traj)) / network.spectral(W1)
    return lhs, network.fro(perp_W1(s, traj)) / network.fro(W1) - corr, 1.0 + corr


def _b4(s, traj, premise=True):
    if premise and not s.risk <= traj.loss.at_zero / len(traj.Z):
        return None
    return [s.margins.min(), s.w_prod @ geom(traj).ubar], 0.0, np.linalg.norm(s.w_prod)


register(
    Claim("EQB.18", "eq. (B.18)", "snapshot",
          "||Pi_perp v_1|| >= ||Pi_perp W_1||_F/||W_1||_F - sqrt(d D)/||W_1||_2",
          sides=_b18, relation=">=", runs="flow", trivial=rhs_nonpositive, tolerance=BALANCE,
          control=lambda s, t: _b18(s, t, drop=True), control_note="sqrt(d D)/||W_1||_2 dropped"),
    Claim("T2.8-B4", "proof of Theorem 2.8, bullet 4", "snapshot",
          "R(W) <= l(0)/n implies <w_prod, z_i> >= 0 for all i, and then <w_prod, ubar> >= 0",
          sides=_b4, relation=">=", runs="any",
          control=lambda s, t: _b4(s, t, premise=False), control_note="premise R <= l(0)/n dropped"),
)
