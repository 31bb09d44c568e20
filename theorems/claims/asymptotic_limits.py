"""The paper's limits (Theorems 2.2, 2.8, 3.6, 3.7, Corollaries 2.9, 3.8, Lemmas 2.3, 2.6, 3.4, C.5),
checked as trends on long runs (theorems.claims._limit).  Rates are those the lemmas imply:

- Lemma 2.6: "||W_k||_F^2 - ||W_k||_2^2 <= D" gives 1 - ||W_k||_2^2/||W_k||_F^2 <= D x, x = 1/||W_k||_F^2 (p = 1);
  "<v_{k+1}, u_k>^2 >= 1 - (D + ...)/||W_{k+1}||_2^2" gives 1 - |<v_{k+1}, u_k>| <= C x, x = 1/sigma_{k+1}^2 (p = 1);
  both give 1 - |<w_prod/prod ||W_k||_F, v_1>| <= C/min_k ||W_k||_F^2 (p = 1: W_1 v_1 = sigma_1 u_1
  exactly, and each later factor loses O(1/||W||_F^2) relatively).
- Theorem 2.8's proof: ||Pi_perp W_1||_F stops growing once it exceeds Lemma 2.11's threshold, so
  ||Pi_perp v_1|| = O(1/||W_1||_F) by (B.18): 1 - |<v_1, ubar>| <= C/||W_1||_F^2 (p = 1), and
  ||w_prod/prod ||W_k||_F - ubar|| and the normalised margin gap are O(1/||W_1||_F) (p = 1).
- Theorem 2.2 (R -> 0, norms -> inf), Lemmas 2.3, 3.4, C.5: no rate; thresholds and monotone tails only.
Rates are fitted over the last half of a run; the thorough profile's tiny-initialisation runs span >= 3
decades of x for every flow rate and for T3.6c and T3.7a under gradient descent.  Not T3.7b and C3.8
(x = 1/||W_1||_F, 1.7 decades): under Assumption 3.5, eta_t <= 1/beta(R_t) ~ R_t^{2-2L} and |l'| <= l, so
once the normalised margin is >= g > 0 each step adds at most ~ e^{-g N^L} N^{1-L} to N = max_k ||W_k||_F,
and N grows at most like (log t / g)^{1/L}: a 1000-fold fall of 1/||W_1||_F inside the regime needs log t
to grow about 1000^L-fold, beyond any run.
Gradient flow runs are followed at geometric speed (dynamics.flow.geometric_flow: the same path);
Snapshot.t there is the risk-normalised time s of dW/ds = -grad R/R.
"""
import math

import numpy as np

from dynamics import network
from dynamics.geometry import alignment_gap
from dynamics.runs import RunSpec
from dynamics.trajectory import Rule, Stop

from ..model import Claim, Verdict, register
from ._quantities import geom
from ._limit import Limit, check_limit

def _log(x):
    """log of a gap; -inf where it is exactly 0 in float64 (counts as reached, left out of rate fits)."""
    return math.log(x) if x > 0 else -math.inf


def _rank_one_gap(s, traj):
    """max_k 1 - ||W_k||_2^2/||W_k||_F^2 = sum_{i>=2} s_i^2 / ||W_k||_F^2 (no cancellation)."""
    worst = 0.0
    for w in s.ws:
        sv = np.linalg.svd(w, compute_uv=False)
        worst = max(worst, float(np.sum(sv[1:] ** 2) / np.sum(sv ** 2)))
    return worst


def _align_gap(s, traj):
    return max([alignment_gap(s.triplets[k + 1][2], s.triplets[k][1]) for k in range(traj.L - 1)] or [0.0])


def _normalised(s):
    return s.w_prod / np.prod(s.fro)


def _prod_v1_gap(s, traj):
    return 1 - abs(float(_normalised(s) @ s.triplets[0][2]))


def _v1_ubar_gap(s, traj):
    return alignment_gap(s.triplets[0][2], geom(traj).ubar)


def _ubar_gap(s, traj):
    return float(np.linalg.norm(_normalised(s) - geom(traj).ubar))


def _margin_gap(s, traj):
    g = geom(traj)
    return max(g.gamma - float(np.min(traj.Z @ _normalised(s))), 0.0)


def _inv_min_fro(s, traj):
    return -math.log(float(np.min(s.fro)))


def _inv_max_fro(s, traj):
    return -math.log(float(np.max(s.fro)))


def _x_min_fro2(s, traj):
    return -2 * math.log(float(np.min(s.fro)))


def _x_sigma2(s, traj):
    return -2 * math.log(float(np.min(s.sigma[1:]))) if traj.L > 1 else 0.0


def _x_w1(s, traj, power=1):
    return -power * math.log(float(s.fro[0]))


RANK1 = Limit(lambda s, t: _log(_rank_one_gap(s, t)), 1e-4, _x_min_fro2, 1.0,
              "max_k 1 - ||W_k||_2^2/||W_k||_F^2", "Lemma 2.6a: <= D/||W_k||_F^2")
ALIGN = Limit(lambda s, t: _log(_align_gap(s, t)), 1e-4, _x_sigma2, 1.0,
              "max_k 1 - |<v_{k+1}, u_k>|", "Lemma 2.6b: <= (D + ||W_k(0)||^2 + ||W_{k+1}(0)||^2)/sigma_{k+1}^2")
PROD = Limit(lambda s, t: _log(_prod_v1_gap(s, t)), 1e-4, _x_min_fro2, 1.0,
             "1 - |<w_prod/prod ||W_k||_F, v_1>|", "Lemma 2.6a,b: O(1/min_k ||W_k||_F^2)")
RISK = Limit(lambda s, t: s.log_risk, 1e-30, None, None, "R(W)", "Theorem 2.2 gives no rate")
NORMS = Limit(_inv_min_fro, 1 / 20, None, None, "1/min_k ||W_k||_F", "no rate in the paper")
WPROD = Limit(lambda s, t: -math.log(float(np.linalg.norm(s.w_prod))), 1 / 20, None, None, "1/||w_prod||",
              "Theorem 2.2: ||w_prod|| -> inf (no rate)")
V1 = Limit(lambda s, t: _log(_v1_ubar_gap(s, t)), 1e-4, lambda s, t: _x_w1(s, t, 2), 1.0,
           "1 - |<v_1, ubar>|", "Theorem 2.8's proof + (B.18): ||Pi_perp v_1|| = O(1/||W_1||_F)")
UBAR = Limit(lambda s, t: _log(_ubar_gap(s, t)), 1e-2, _x_w1, 1.0,
             "||w_prod/prod ||W_k||_F - ubar||", "Theorem 2.8's proof: O(1/||W_1||_F)")
MARGIN = Limit(lambda s, t: _log(_margin_gap(s, t)), 1e-2, _x_w1, 1.0,
               "gamma - min_i <w_prod/prod ||W_k||_F, z_i>", "Corollary 2.9 via Theorem 2.8: O(1/||W_1||_F)")

# gradient descent under Assumption 3.5 moves slowly by design (eta ~ 1/R^{2L-2}): thresholds that a
# 15000-step run of a shallow network reaches, stated here and in the report
ETA_SUM = 50.0   # LC.5b: sum_t eta_t must pass 50 (eta_t <= 1, so >= 50 steps at full size) and keep growing
GD_SCALE = dict(threshold_rank=1e-2, threshold_norm=1 / 2.5, threshold_risk=1e-2)


def _gd(lim, thr):
    return lim.with_(threshold=thr)


def _wrong(lim, complement):
    """Negative control, 'the wrong limit': the complementary quantity demanded to vanish."""
    return lim.with_(log_gap=complement, what="WRONG LIMIT " + lim.what, proven=None)


def _trend(lim):
    return lambda traj: check_limit(lim, traj)


def _all_of(*limits):
    """One trend rule for a claim that is several limits at once: the first verdict that is not a trend
    decides; the details are the first limit's, with each further limit's summary under "and"."""
    def rule(traj):
        vs = [check_limit(lim, traj) for lim in limits]
        worst = next((v for v in vs if v.status != "trend"), vs[0])
        out = Verdict("", "", worst.status, n_checked=vs[0].n_checked, lhs=vs[0].lhs, rhs=vs[0].rhs, where=vs[0].where,
                      message="; ".join(v.message for v in vs), details=dict(vs[0].details))
        out.details["and"] = [{k: v.details.get(k) for k in ("quantity", "threshold", "final", "reached_at")}
                              for v in vs[1:]]
        return out
    return rule


def _comp(f):
    """log(1 - gap): the quantity tends to 0 instead of 1 (e.g. |<v_{k+1}, u_k>| -> 0)."""
    return lambda s, t: _log(1 - f(s, t))


def _escape(traj, radius_factor=2.0):
    """L2.3-ESCAPE: the flow leaves B(R) for R = radius_factor * max_k ||W_k(0)||_F and never returns
    (over the kept tail), and max_k ||W_k||_F keeps growing."""
    R = radius_factor * network.max_fro(traj.ws0)
    mf = np.array([network.max_fro(s.ws) for s in traj.snapshots])
    inside = np.flatnonzero(mf <= R)
    v = Verdict("", "", "trend", n_checked=len(mf))
    last_in = int(inside[-1]) if inside.size else -1
    v.details = {"radius": R, "last_inside_t": float(traj.snapshots[last_in].t) if last_in >= 0 else None,
                 "final_max_norm": float(mf[-1]), "stop": traj.stop_reason}
    if last_in == len(mf) - 1:
        v.status = "fail" if traj.stop.normal else "inconclusive"
        v.message = f"still inside B({R:.3g}) at the end of the run ({traj.stop_reason})"
    elif not np.all(np.diff(mf[last_in + 1:]) > 0):
        v.status, v.message = "fail", "max_k ||W_k||_F is not increasing after leaving B(R)"
    else:
        v.message = f"left B({R:.3g}) after t={v.details['last_inside_t']:g}; max norm {mf[-1]:.3g} and growing"
    return v


def _leaves_ball(traj, radius=None):
    """L3.4: GD with eta = 1/beta(R) leaves B(R) at some finite t."""
    R = radius if radius is not None else _radius_of(traj)
    v = Verdict("", "", "trend", n_checked=len(traj.snapshots))
    if R is None:
        v.status, v.message = "vacuous", "not a constant-step run with eta = 1/beta(R)"
        return v
    out = [s.t for s in traj.snapshots if network.max_fro(s.ws) > R]
    v.details = {"radius": R, "first_kept_t_outside": out[0] if out else None, "horizon": traj.snapshots[-1].t}
    if out:
        v.message = f"outside B({R:g}) by step {out[0]:g}"
    else:
        v.status = "fail" if traj.stop is Stop.HORIZON else "inconclusive"
        v.message = f"still inside B({R:g}) after {traj.snapshots[-1].t:g} steps ({traj.stop_reason})"
    return v


def _radius_of(traj):
    return next((s.radius for s in traj.snapshots if s.radius is not None), None) if traj.policy.radius is not None else None


def _eta_sum(traj, wrong=False):
    """LC.5b: sum_t eta_t keeps growing (it diverges): 1/sum reaches 1/ETA_SUM and falls over the tail.
    The negative control claims the opposite limit, sum_t eta_t -> 0 (it must be seen growing)."""
    snaps = [s for s in traj.snapshots if s.sums is not None and s.t > 0]
    sign = -1.0 if wrong else 1.0
    lim = Limit(lambda s, t: -sign * math.log(s.sums.eta) if s.sums.eta > 0 else 0.0, 1 / ETA_SUM, None, None,
                "sum_t eta_t" if wrong else "1/sum_t eta_t", "Lemma C.5: the sum diverges (no rate)")
    return check_limit(lim, traj) if snaps else Verdict("", "", "inconclusive", message="no step sums kept")


def _eta_in_ball(traj, radius=None):
    """LC.5c: for R = R_0 := max_k ||W_k(0)||_F + 1, the eta_t summed over t with W(t) in B(R) is finite:
    the run leaves B(R) and the sum of eta up to its last kept snapshot inside B(R) (a bound on the
    in-ball sum up to the next kept snapshot) stops growing: the tail (last half) stays outside.
    The negative control drops B(R) (radius = inf): "sum of all eta_t is finite", which LC.5b refutes."""
    R = network.max_fro(traj.ws0) + 1.0 if radius is None else radius
    snaps = traj.snapshots
    inside = [i for i, s in enumerate(snaps) if network.max_fro(s.ws) <= R]
    v = Verdict("", "", "trend", n_checked=len(snaps))
    last = inside[-1] if inside else -1
    bound = snaps[min(last + 1, len(snaps) - 1)].sums.eta if snaps[0].sums is not None else None
    v.details = {"radius": R, "last_inside_t": snaps[last].t if last >= 0 else None, "in_ball_sum_bound": bound,
                 "total_sum": snaps[-1].sums.eta if snaps[-1].sums is not None else None}
    if snaps[last].t > snaps[-1].t / 2:
        v.status = "fail" if traj.stop is Stop.HORIZON else "inconclusive"
        v.message = f"W(t) still in B({R:.3g}) in the last half of the run (last at t={snaps[last].t:g})"
    else:
        v.message = f"left B({R:.3g}) for good by t={snaps[last + 1].t:g}; in-ball sum <= {bound:.4g}"
    return v


def long_runs(profile: str, seed: int = 0, data: str | None = None) -> list[RunSpec]:
    """The long runs the limits are judged on (shared by every claim of this module).  quick/ci: ~10-25 s in total on 2 cores (L = 2, 3 flow by
    LSODA at geometric speed, one A3.5 run, Lemma 3.4's constant step, one relative-step run);
    thorough: deeper, wider, longer, two from a tiny initialisation (rates fitted over >= 3 decades of
    1/||W||_F^2), and two at a realistic size (L = 8, widths 64, d = 100: gradient descent, flow)."""
    src = ("file", data) if data else ("a27", 3, 4, 0.3, 1 + seed)
    rnd = ("file", data) if data else ("random", 16, 4, 0.1, 7 + seed)
    base = RunSpec(data=src, hidden=(3,), seed=seed, scale=0.5, checkpoints=20)
    out = [
        base.with_(method="flow", param="geometric", max_norm=300.0),
        base.with_(method="flow", param="geometric", max_norm=300.0, loss="exp", data=rnd, hidden=(4,)),
        base.with_(method="flow", param="geometric", max_norm=100.0, hidden=(3, 3)),
        base.with_(method="gd", policy="a35", horizon=15000),
        base.with_(method="gd", policy="constant", radius=2.0, horizon=3000),
        base.with_(method="gd", policy="relative", eta=1e-3, max_norm=300.0, horizon=10**6, hidden=(3, 3)),
        base.with_(method="gd", policy="constant", eta=0.5, horizon=5000),           # SEC4-CONST
    ]
    if profile == "thorough":
        out += [
            base.with_(method="flow", param="geometric", max_norm=1e3, checkpoints=40),
            base.with_(method="flow", param="geometric", max_norm=300.0, hidden=(3, 3), loss="exp"),
            # the fitted rates over >= 3 decades of their rate variable: from a tiny initialisation the norms
            # grow by 7 decades (Lemma 2.6's bounds hold at every t, not only asymptotically)
            base.with_(method="flow", param="geometric", max_norm=1e3, checkpoints=40, scale=1e-4),
            base.with_(method="gd", policy="a35", horizon=20000, checkpoints=40, scale=1e-4),
            base.with_(method="gd", policy="a35", horizon=200000, checkpoints=40),
            base.with_(method="gd", policy="a35", horizon=50000, hidden=(3, 3), data=rnd),
            base.with_(method="gd", policy="constant", eta=0.5, horizon=100000, loss="exp"),
            base.with_(method="gd", policy="relative", eta=3e-4, max_norm=1e3, horizon=10**7, hidden=(8, 8, 8), data=rnd),
            # a realistic size (SEC4-CONST): depth 8, widths 64, d = 100 (compiled when numba is installed)
            base.with_(method="gd", policy="constant", eta=0.5, horizon=200000, hidden=(64,) * 7, scale=0.3,
                       checkpoints=40,
                       data=("file", data) if data else ("random", 200, 100, 0.1, 11 + seed), engine="auto"),
            # the flow at that size (explicit solver: LSODA's dense Jacobian would be 35k x 35k); its stiffness
            # grows like ||W||^(2L-2), so norm 5 (~15 s) is what fits: risk, alignment and escape reach their
            # thresholds there, the rank-one gaps do not (inconclusive)
            base.with_(method="flow", param="geometric", max_norm=5.0, solver="DOP853", hidden=(64,) * 7, scale=0.3,
                       data=("file", data) if data else ("random", 200, 100, 0.1, 11 + seed)),
        ]
    return out


FLOW = ("A1.1", "A1.2")
GDH = ("A1.2", "A3.1", "A3.5")
_claims = []


def _limit_claim(cid, ref, statement, runs, hyps, lim, wrong):
    _claims.append(Claim(cid, ref, "asymptotic", statement, runs=runs, hypotheses=hyps, trend=_trend(lim),
                         long_runs=long_runs,
                         control=_trend(_wrong(lim, wrong)), control_note="the wrong limit (the complement -> 0)"))


_limit_claim("L2.6c", "Lemma 2.6 (third bullet)", "max_k ||W_k||_F -> inf implies |<w_prod / prod_k ||W_k||_F, v_1>| -> 1",
             "flow", (), PROD, _comp(_prod_v1_gap))
_limit_claim("T2.2a", "Theorem 2.2", "flow: R(W(t)) -> 0", "flow", FLOW, RISK, lambda s, t: _log(1 - s.risk))
_limit_claim("T2.2b", "Theorem 2.2", "flow: ||W_k||_F -> inf for every k", "flow", FLOW, NORMS,
             lambda s, t: math.log(float(np.min(s.fro))))
_limit_claim("T2.2c", "Theorem 2.2", "flow: ||W_k/||W_k||_F - u_k v_k^T||_F -> 0 (equivalently ||W_k||_2/||W_k||_F -> 1)",
             "flow", FLOW, RANK1, _comp(_rank_one_gap))
_limit_claim("T2.2d", "Theorem 2.2", "flow: |<v_{k+1}, u_k>| -> 1", "flow", FLOW, ALIGN, _comp(_align_gap))
_claims.append(Claim(
    "T2.2e", "Theorem 2.2", "asymptotic", "flow: |<w_prod / prod ||W_k||_F, v_1>| -> 1 and ||w_prod|| -> inf",
    runs="flow", hypotheses=FLOW, long_runs=long_runs, trend=_all_of(PROD, WPROD),
    control=_all_of(_wrong(PROD, _comp(_prod_v1_gap)), _wrong(WPROD, lambda s, t: -WPROD.log_gap(s, t))),
    control_note="the wrong limits: the alignment gap's complement -> 0 and ||w_prod|| -> 0"))
_limit_claim("T2.8a", "Theorem 2.8", "flow, exp and logistic, A2.7: |<v_1, ubar>| -> 1", "flow", FLOW + ("A2.7",),
             V1, _comp(_v1_ubar_gap))
_limit_claim("T2.8b", "Theorem 2.8", "flow: w_prod / prod ||W_k||_F -> ubar", "flow", FLOW + ("A2.7",), UBAR,
             lambda s, t: _log(abs(float(_normalised(s) @ geom(t).ubar))))
_limit_claim("C2.9", "Corollary 2.9", "flow: min_i y_i (prod_k W_k/||W_k||_F) x_i -> the max-margin value of the normalised problem (= gamma)",
             "flow", FLOW + ("A2.7",), MARGIN, lambda s, t: _log(abs(float(np.min(t.Z @ _normalised(s))))))
_limit_claim("LC.5a", "Lemma C.5", "GD (A3.5): max_k ||W_k(t)||_F unbounded", "gd", GDH,
             Limit(_inv_max_fro, GD_SCALE["threshold_norm"], None, None, "1/max_k ||W_k||_F", "no rate"),
             lambda s, t: math.log(float(np.max(s.fro))))
_limit_claim("T3.6a", "Theorem 3.6", "GD (A3.5): R -> 0", "gd", GDH, RISK.with_(threshold=GD_SCALE["threshold_risk"]),
             lambda s, t: _log(1 - s.risk))
_limit_claim("T3.6b", "Theorem 3.6", "GD (A3.5): ||W_k||_F -> inf", "gd", GDH,
             NORMS.with_(threshold=GD_SCALE["threshold_norm"]), lambda s, t: math.log(float(np.min(s.fro))))
_limit_claim("T3.6c", "Theorem 3.6", "GD (A3.5): |<w_prod / prod ||W_k||_F, v_1>| -> 1", "gd", GDH,
             PROD.with_(threshold=GD_SCALE["threshold_rank"]), _comp(_prod_v1_gap))
_limit_claim("T3.7a", "Theorem 3.7", "GD (A3.5), logistic, A2.7: |<v_1, ubar>| -> 1", "gd", GDH + ("A2.7",),
             V1.with_(threshold=GD_SCALE["threshold_rank"]), _comp(_v1_ubar_gap))
_limit_claim("T3.7b", "Theorem 3.7", "GD: w_prod / prod ||W_k||_F -> ubar", "gd", GDH + ("A2.7",),
             UBAR.with_(threshold=0.2), lambda s, t: _log(abs(float(_normalised(s) @ geom(t).ubar))))
_limit_claim("C3.8", "Corollary 3.8", "GD: the normalised margin -> gamma", "gd", GDH + ("A2.7",),
             MARGIN.with_(threshold=0.2), lambda s, t: _log(abs(float(np.min(t.Z @ _normalised(s))))))

_claims += [
    Claim("L2.3-ESCAPE", "Lemma 2.3 (use in Theorem 2.2)", "asymptotic",
          "flow spends finite time in B(R); max_k ||W_k||_F unbounded", runs="flow", hypotheses=FLOW,
          trend=_escape, long_runs=long_runs, control=lambda traj: _escape(traj, radius_factor=1e6),
          control_note="R = 1e6 max_k ||W_k(0)||_F: a ball the horizon never leaves"),
    Claim("L3.4", "Lemma 3.4", "asymptotic", "GD with constant step 1/beta(R) leaves B(R) at some finite t",
          runs="gd", hypotheses=("A1.2", "A3.1"), trend=_leaves_ball, long_runs=long_runs,
          control=lambda traj: _leaves_ball(traj, radius=1e6), control_note="R = 1e6 (the horizon cannot reach it)"),
    Claim("LC.5b", "Lemma C.5", "asymptotic", "GD (A3.5): sum_t eta_t = inf", runs="gd", hypotheses=GDH,
          trend=_eta_sum, long_runs=long_runs, control=lambda traj: _eta_sum(traj, wrong=True),
          control_note="the opposite limit: sum_t eta_t -> 0"),
    Claim("LC.5c", "Lemma C.5", "asymptotic", "GD (A3.5): sum of eta_t over t with W(t) in B(R) is finite",
          runs="gd", hypotheses=GDH, trend=_eta_in_ball, long_runs=long_runs, control=lambda traj: _eta_in_ball(traj, radius=math.inf),
          control_note="B(R) dropped: the sum of all eta_t claimed finite (LC.5b says it diverges)"),
]
register(*_claims)


def _constant_step(traj, wrong=False):
    """SEC4-CONST (beyond the paper, its open question): GD with a constant step eta (no radius, no
    Assumption 3.5).  Evidence: the risk falls below 1e-2 and keeps falling, and the layers become
    rank one (1 - ||W_k||_2^2/||W_k||_F^2 <= 1e-2, improving).  Reported as a trend, never a pass."""
    if traj.policy.rule is not Rule.CONSTANT or traj.policy.radius is not None:
        return Verdict("", "", "vacuous", message=f"not a constant-step run ({traj.policy})")
    risk = check_limit(RISK.with_(threshold=1e-2), traj)
    rank = check_limit(RANK1.with_(threshold=1e-2, proven=None) if not wrong else
                       _wrong(RANK1, _comp(_rank_one_gap)).with_(threshold=1e-2), traj)
    worst = next((v for v in (risk, rank) if v.status != "trend"), rank)
    out = Verdict("", "", worst.status, n_checked=rank.n_checked, message=f"risk: {risk.message}; rank one: {rank.message}")
    out.details = {"risk": risk.details, "rank_one": rank.details, "eta": str(traj.policy)}
    return out


register(Claim("SEC4-CONST", "Section 4 (open question)", "experiment",
               "beyond the paper (its open question): with constant step sizes, do risk -> 0 and alignment still happen?",
               runs="gd", trend=_constant_step, long_runs=long_runs, control=lambda traj: _constant_step(traj, wrong=True),
               control_note="the wrong limit: ||W_k||_2/||W_k||_F -> 0"))
