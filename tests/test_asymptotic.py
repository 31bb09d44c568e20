"""Asymptotic claims (theorems.engine.asymptotic, theorems.claims._limit) and Lemmas 2.10/2.11: trends on long runs, their negative
controls, the long-run engines, and hypothesis hunts (target()) for violations of Lemma 2.11's sign
condition above each threshold, both losses, both readings of the printed exp threshold."""
import os

import numpy as np
import pytest
from hypothesis import given, note, settings, target
from hypothesis import strategies as st

from dynamics import data, flow, geometry, init, losses, network
from dynamics.runs import simulate
from theorems import REGISTRY
from theorems.claims import asymptotic_limits
from theorems.claims._limit import fit_slope
from theorems.claims._problem import certify
from theorems.claims.lemma_2_10_2_11 import robust_sign_value, sign_value, thresholds
from theorems.engine.asymptotic import evaluate_trend
from theorems.run.profiles import long_specs

ASYMPTOTIC = [c for c in REGISTRY.values() if c.kind == "asymptotic"]


@pytest.fixture(scope="module")
def runs():
    return [(sp, simulate(sp)) for sp in long_specs(ASYMPTOTIC, "quick")]


@pytest.mark.parametrize("claim", [pytest.param(c, id=c.id) for c in ASYMPTOTIC])
def test_asymptotic_claim_trends_and_control_fails(runs, claim):
    verdicts = [evaluate_trend(claim, tr) for _, tr in runs]
    statuses = {v.status for v in verdicts}
    assert "error" not in statuses, [v.message for v in verdicts if v.status == "error"]
    assert "trend" in statuses, [v.message for v in verdicts]
    controls = [evaluate_trend(claim.negative_control, tr) for _, tr in runs]
    assert any(v.status == "fail" for v in controls), [v.message for v in controls]


def test_fit_slope_recovers_a_power_law():
    x = np.geomspace(1e-6, 1e-1, 20)
    q, se = fit_slope(np.log(x), np.log(3 * x**1.5))
    assert abs(q - 1.5) < 1e-10 and se < 1e-8


def test_unit_gap_has_no_cancellation():
    """1 - |<a, b>| of unit vectors, exact to a few ulps of itself even at 1e-30 (1 - cos floors at 1e-16)."""
    for theta in (0.3, 1e-6, 1e-15):
        a, b = np.array([np.cos(theta), np.sin(theta), 0.0]), np.array([-1.0, 0.0, 0.0])
        exact = 2 * np.sin(theta / 2) ** 2
        assert abs(geometry.alignment_gap(a, b) - exact) <= 1e-14 * exact


@pytest.mark.parametrize("method", ["flow", pytest.param("gd", marks=pytest.mark.slow)])
def test_thorough_tiny_init_runs_fit_rates_over_three_decades(method):
    """The thorough profile's tiny-initialisation runs: every flow rate, and Lemma 2.6's rate under gradient
    descent (T3.6c) and T3.7a, is fitted over >= 3 decades of its rate variable, and shows its trend."""
    tiny = [sp for sp in asymptotic_limits.long_runs("thorough") if sp.scale < 1e-3 and sp.method == method]
    assert len(tiny) == 1
    short = {"T3.7b", "C3.8"}   # x = 1/||W_1||_F under A3.5: see the module docstring
    for sp in tiny:
        tr = simulate(sp)
        rated = [v for v in (evaluate_trend(c, tr) for c in ASYMPTOTIC if c.runs == tr.method)
                 if v.details.get("proven_rate")]
        for v in rated:
            assert v.status == "trend", (v.claim_id, v.message)
            assert v.details["rate_decades"] >= 3 or v.claim_id in short, (v.claim_id, v.details["rate_decades"])
        assert len(rated) >= 4


def test_geometric_flow_is_the_flow_path():
    """Same path as dW/dt = -grad R (DOP853): compare at a common max-norm level (eq. 2.5's
    conservation pins the point on the path)."""
    ds = data.random_separable(8, 3, 0.2, 1)
    ws0 = init.satisfy_a12(init.gaussian((3, 2, 1), 0.5, 1), ds.Z, losses.LOGISTIC)
    geo = flow.geometric_flow(ws0, ds.Z, losses.LOGISTIC, max_norm=3.0, levels=3, method="DOP853")
    a = geo.snapshots[-1]
    assert abs(network.max_fro(a.ws) - 3.0) < 1e-6
    # the ordinary flow, kept densely, up to its terminal norm event
    end = flow.gradient_flow(ws0, ds.Z, losses.LOGISTIC, horizon=1e5, max_norm=3.0, checkpoints=2000)
    assert end.stop == "norm reached"
    close = min(end.snapshots, key=lambda s: abs(network.max_fro(s.ws) - 3.0))
    assert np.allclose(network.product(a.ws) / np.linalg.norm(network.product(a.ws)),
                       network.product(close.ws) / np.linalg.norm(network.product(close.ws)), atol=1e-3)


def test_relative_descent_log_domain_never_underflows():
    ds = data.random_separable(10, 3, 0.2, 2)
    ws0 = init.satisfy_a12(init.gaussian((3, 3, 3, 1), 0.3, 2), ds.Z, losses.EXP)
    from dynamics.descent import relative_descent
    tr = relative_descent(ws0, ds.Z, losses.EXP, 0.01, max_norm=50.0, levels=5)
    assert tr.stop == "norm reached"
    assert tr.snapshots[-1].log_risk < -1000          # R = e^-1000: far below float64's range


@st.composite
def l211_cases(draw):
    d = draw(st.integers(2, 4))
    ds = data.assumption_27(d, draw(st.integers(0, 6)), draw(st.sampled_from([0.2, 0.3, 0.5])), draw(st.integers(0, 2**16)))
    g = certify(ds.Z)
    return ds.Z, g, draw(st.lists(st.floats(-1, 1), min_size=d, max_size=d)), draw(st.floats(0, 20)), \
        draw(st.floats(1e-9, 3.0))


def _hunt(case, loss, key):
    Z, g, raw, c, excess = case
    if not (g.spans_space and g.alpha > 0):
        return
    xi = np.array(raw) - (np.array(raw) @ g.ubar) * g.ubar
    if not np.linalg.norm(xi) > 1e-6:
        return
    K = thresholds(g, loss.name)[key]
    w = c * g.ubar + K * (1 + excess) * xi / np.linalg.norm(xi)
    val, scale, refereed = robust_sign_value(w, Z, g.ubar, loss)
    target(-val / max(scale, 1e-300), label="towards violation")
    note(f"w={w.tolist()} K={K} val={val} refereed={refereed}")
    assert val >= -1e3 * np.finfo(float).eps * scale


@given(l211_cases())
@settings(max_examples=60)
def test_l211_exp_printed_threshold(case):
    _hunt(case, losses.EXP, "exp-printed")


@given(l211_cases())
@settings(max_examples=60)
def test_l211_exp_proof_threshold(case):
    _hunt(case, losses.EXP, "exp-proof")


@given(l211_cases())
@settings(max_examples=60)
def test_l211_logistic_threshold(case):
    _hunt(case, losses.LOGISTIC, "log")


def test_sign_value_matches_mpmath_referee():
    ds = data.assumption_27(3, 3, 0.3, 5)
    g = certify(ds.Z)
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = rng.standard_normal(3) * 5
        for loss in (losses.EXP, losses.LOGISTIC):
            a, _ = sign_value(w, ds.Z, g.ubar, loss)
            b, _ = sign_value(w, ds.Z, g.ubar, loss, digits=60)
            # a is b divided by the positive n exp(log_c): compare signs and the ratio's constancy
            assert np.sign(a) == np.sign(b) or abs(a) < 1e-12


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("HYPOTHESIS_PROFILE") != "thorough", reason="thorough profile only (minutes)")
def test_thorough_asymptotic_runs_trend():
    for sp in long_specs(ASYMPTOTIC, "thorough")[6:8]:
        tr = simulate(sp)
        for c in ASYMPTOTIC:
            assert evaluate_trend(c, tr).status != "error"
