"""Errata beyond doubt and bounds attacked: the high-precision replay (theorems.engine.precision), the
rounding margin (theorems.model.DECISIVE) and the hunt (theorems.run.hunt)."""
import numpy as np
import pytest

from dynamics.runs import RunSpec, simulate
from theorems import REGISTRY
from theorems.engine.evaluate import evaluate
from theorems.engine.precision import DEPARTURE, replay
from theorems.model import DECISIVE, Claim, aggregate, errata
from theorems.run import plan
from theorems.run.hunt import hunt
from theorems.run.verify import _judge_replay

SMALL = dict(data=("a27", 3, 2, 0.3, 1), hidden=(2, 3), scale=0.7, method="gd", horizon=12, checkpoints=4)


@pytest.mark.parametrize("policy", [dict(policy="constant", eta=0.5), dict(policy="constant", radius=1.5),
                                    dict(policy="a35"), dict(policy="relative", eta=0.1)])
def test_the_replay_follows_the_simulator_to_rounding(policy):
    """The paper's gradient descent, transcribed in mpmath, and the simulator agree to float64 rounding."""
    spec = RunSpec(**SMALL, **policy)
    claim = REGISTRY["EQC.11-corrected"]
    v = plan.check(claim, simulate(spec), "r", spec.to_json())
    hp = replay(claim, v, until=SMALL["horizon"])
    assert "unavailable" not in hp, hp
    assert hp["departure"] is not None and hp["departure"] <= DEPARTURE, hp
    assert hp["confirms"] is False   # the corrected bound holds in 50 digits too


def test_eqc11_counterexample_is_confirmed_in_50_digits():
    claim = REGISTRY["EQC.11"]
    v = plan.check(claim, simulate(claim.witness), "witness", claim.witness.to_json())
    assert v.status == "fail" and -v.worst_slack > DECISIVE * v.tol, v.message
    hp = replay(claim, v)
    assert hp["digits"] >= 40 and hp["confirms"] is True, hp
    assert float(hp["slack"]) < -1e-4 and hp["departure"] < DEPARTURE, hp


def test_every_catalogued_erratum_is_confirmed_beyond_float64():
    """Identities in exact arithmetic (sympy), the others by a >= 40-digit replay of a failing run."""
    for cid in errata():
        claim = REGISTRY[cid]
        if claim.kind == "identity":
            v = plan.check(claim)
            assert v.status == "fail" and v.details["high_precision"]["confirms"] is True, (cid, v.details)
            continue
        spec = claim.witness or RunSpec(**{**SMALL, "hidden": (3, 3)}, policy="a35")
        v = plan.check(claim, simulate(spec), "r", spec.to_json())
        assert v.status == "fail", (cid, v.message)
        hp = replay(claim, v)
        assert hp["digits"] >= 40 and hp["confirms"] is True, (cid, hp)


def _noisy(extra: float) -> Claim:
    """||W_1||_F^2 >= ||W_1||_F^2 + extra * tolerance: a violation of a chosen size against the rounding tolerance."""
    def sides(s, traj):
        f = float(s.fro[0] ** 2)
        return f, f + extra * 1e3 * np.finfo(float).eps * 2 * f, 2 * f
    return Claim("NOISY", "test", "snapshot", "noisy", sides=sides, relation=">=")


def test_a_violation_within_the_margin_is_rounding_not_a_failure():
    traj = simulate(RunSpec(**SMALL, policy="constant", eta=0.5))
    small, large = evaluate(_noisy(3.0), traj), evaluate(_noisy(10 * DECISIVE), traj)
    assert small.status == "inconclusive" and small.details["rounding"], small.message
    assert large.status == "fail", large.message
    assert aggregate("NOISY", [small, evaluate(_noisy(-1.0), traj)]) == "inconclusive"   # never hidden by a pass


def test_a_violation_the_replay_does_not_reproduce_is_inconclusive():
    claim = REGISTRY["EQC.11-corrected"]
    spec = RunSpec(**SMALL, policy="constant", eta=0.5)
    v = plan.check(claim, simulate(spec), "r", spec.to_json())
    v.status = "fail"   # as if float64 had reported a violation
    _judge_replay(v, replay(claim, v))
    assert v.status == "inconclusive" and v.details["rounding"], v.message


def test_hunt_is_reproducible_and_reports_the_tightest_instances():
    claims = [REGISTRY[c] for c in ("L2.6a", "EQC.11-corrected", "LC.7a")]
    a, stats = hunt(claims, 6, seed=3)
    b, _ = hunt(claims, 6, seed=3)
    assert [(v.claim_id, v.spec, v.rel_slack) for v in a] == [(v.claim_id, v.spec, v.rel_slack) for v in b]
    assert stats["runs"] == 6 and {v.claim_id for v in a} <= {c.id for c in claims}
    assert all(v.rel_slack is not None for v in a)


def test_the_appendix_c_sums_match_the_replay():
    """The simulator's running sums P_k, Q_k, sum eta ||grad||^2 (what EQC.10/EQC.11 read) against the
    replay's own, recomputed from the paper's gradient in 50 digits."""
    import mpmath

    from theorems.engine.precision import replay_trajectory

    spec = RunSpec(**SMALL, policy="a35")
    ran = {s.t: s for s in simulate(spec).snapshots}
    claim = REGISTRY["EQC.10"]
    v = plan.check(claim, simulate(spec), "r", spec.to_json())
    with mpmath.workdps(50):
        hp = replay_trajectory(claim, v, deadline=float("inf"), until=SMALL["horizon"])
    assert len(hp.snapshots) > 3
    for s in hp.snapshots:
        a = ran[s.t].sums
        for x, y in zip(a.P + a.Q, s.sums.P + s.sums.Q):
            assert np.allclose(x, np.asarray(y, float), rtol=1e-12, atol=1e-15)
        assert abs(a.eta_g2 - float(s.sums.eta_g2)) <= 1e-12 * max(1.0, abs(a.eta_g2))
