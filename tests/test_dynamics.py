"""Unit tests and cross-checks of dynamics/: losses at extreme margins, closed-form gradients against
finite differences, the exact max-margin solver against a second method, alpha against sampling,
initialisations, and the conservation laws along the simulators' paths."""
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamics import data, descent, flow, geometry, init, losses, network
from theorems.claims._paper import D_of
from theorems.claims._problem import certify
from theorems.run.strategies import architectures, data_sources
from dynamics.runs import dataset

MARGINS = [-1e6, -800.0, -40.0, -1.0, 0.0, 1e-9, 1.0, 40.0, 800.0, 1e6]


@pytest.mark.parametrize("loss", [losses.EXP, losses.LOGISTIC], ids=lambda l: l.name)
def test_log_domain_is_exact_at_any_margin(loss):
    mpmath.mp.dps = 60
    m = np.array(MARGINS)
    ref_v = {"exp": lambda x: -x, "logistic": lambda x: mpmath.log(mpmath.log1p(mpmath.exp(-x)))}[loss.name]
    ref_d = {"exp": lambda x: -x, "logistic": lambda x: -mpmath.log1p(mpmath.exp(x))}[loss.name]
    for got, ref in ((loss.log_value(m), ref_v), (loss.log_neg_deriv(m), ref_d)):
        assert np.all(np.isfinite(got))
        for g, x in zip(got, MARGINS):
            r = float(ref(mpmath.mpf(x)))
            assert abs(g - r) <= 4 * np.finfo(float).eps * max(1.0, abs(r)), (x, g, r)
    assert loss.value(0.0) == pytest.approx(loss.at_zero)
    assert loss.inverse(loss.value(3.0)) == pytest.approx(3.0)


def test_risk_gradient_direction_survives_underflow():
    ds = data.random_separable(10, 3, 0.2, seed=1)
    w = 1e5 * ds.max_margin.ubar  # margins ~ 2e4: every l' underflows in float64
    _, log_risk, log_c, ghat = network.risk_parts(w, ds.Z, losses.LOGISTIC)
    assert np.isfinite(log_risk) and log_risk < -1000
    assert np.linalg.norm(ghat) > 0 and ghat @ ds.max_margin.ubar < 0


@given(data_sources(), architectures, st.integers(0, 100), st.sampled_from(["exp", "logistic"]))
def test_closed_form_gradients_match_finite_differences(source, hidden, seed, loss_name):
    ds, loss = dataset(source), losses.get(loss_name)
    ws = init.gaussian((ds.d,) + hidden + (1,), 0.7, seed)
    grads = network.layer_grads(ws, ds.Z, loss)
    h = 1e-6
    for k, w in enumerate(ws):
        direction = np.random.default_rng(seed + k).standard_normal(w.shape)
        plus = ws[:k] + (w + h * direction,) + ws[k + 1:]
        minus = ws[:k] + (w - h * direction,) + ws[k + 1:]
        fd = (network.risk(plus, ds.Z, loss) - network.risk(minus, ds.Z, loss)) / (2 * h)
        # central differences: truncation O(h^2 |R'''|) plus rounding O(eps R / h)
        assert fd == pytest.approx(float(np.sum(grads[k] * direction)), abs=1e-7, rel=1e-6)


@given(data_sources())
def test_exact_svm_agrees_with_the_least_distance_method(source):
    ds = dataset(source)
    a, b = geometry.max_margin(ds.Z), geometry.max_margin_lsd(ds.Z)
    assert a.kkt_residual < 1e-10 and b.kkt_residual < 1e-8
    assert b.gamma == pytest.approx(a.gamma, rel=1e-8)
    assert np.allclose(a.ubar, b.ubar, atol=1e-8)
    assert set(a.support) == set(b.support)


def test_not_separable_is_refused():
    with pytest.raises(data.DataError, match="not separable"):
        data.Dataset(np.array([[0.5], [0.5]]), np.array([1.0, -1.0]))


@given(st.integers(2, 5), st.integers(0, 6), st.integers(0, 1000))
def test_assumption_27_construction_and_alpha(d, n_extra, seed):
    ds = data.assumption_27(d, n_extra, 0.3, seed)
    g = certify(ds.Z)
    assert g.gamma == pytest.approx(0.3, abs=1e-9) and len(g.support) == d and g.spans_space
    # alpha is a minimum over the unit sphere of ubar-perp: no sampled direction goes below it,
    # and random search gets close to it from above
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal((20000, d)) @ g.perp
    xi /= np.linalg.norm(xi, axis=1, keepdims=True)
    sampled = (xi @ ds.Z[g.support].T).max(axis=1)
    assert sampled.min() >= g.alpha - 1e-9
    if d <= 3:
        assert sampled.min() <= g.alpha + 0.05


def test_alpha_is_zero_without_assumption_27():
    # one support vector (e_1 direction) while the data spans a plane: Assumption 2.7 fails, even relaxed
    ds = data.Dataset(np.array([[0.5, 0.0, 0.0], [0.9, 0.1, 0.0]]), np.array([1.0, 1.0]))
    g = certify(ds.Z)
    assert list(g.support) == [0] and not g.spans_space and not g.spans_data
    assert geometry.alpha(ds.Z, ds.max_margin) == 0.0


def test_initialisations():
    dims = (4, 3, 2, 1)
    assert D_of(init.balanced(dims, 0.8, 1)) < 1e-12   # the paper's D (Section 2.1) of a balanced start
    assert np.all(init.zero_first(dims)[0] == 0)
    assert np.allclose([network.fro(w) for w in init.equal_frobenius(dims, 4.0)], 4.0)
    ds = data.random_separable(20, 4, 0.1, 3)
    for seed in range(10):
        ws = init.satisfy_a12(init.gaussian(dims, 1.5, seed), ds.Z, losses.LOGISTIC)
        assert network.risk(ws, ds.Z, losses.LOGISTIC) <= losses.LOGISTIC.at_zero


@given(data_sources(), architectures, st.integers(0, 100))
def test_flow_conserves_balance_within_solver_tolerance(source, hidden, seed):
    """eq. (2.4) along the numerical flow, with a tolerance derived from the solver's: each of the
    ~nfev/12 steps commits a local error <= atol + rtol |x| per coordinate, so ||W(t) - W_exact(t)||_F
    <= e = steps * sqrt(N) * (atol + rtol max|x|) (no error growth: the flow is not stiff over these
    horizons), and ||W_{k+1}^T W_{k+1} - W_k W_k^T|| moves by at most 2 e (||W_k||_F + ||W_{k+1}||_F) + 2e^2."""
    ds, loss = dataset(source), losses.LOGISTIC
    ws0 = init.satisfy_a12(init.gaussian((ds.d,) + hidden + (1,), 0.7, seed), ds.Z, loss)
    tr = flow.gradient_flow(ws0, ds.Z, loss, horizon=50.0, checkpoints=8)
    N = sum(w.size for w in ws0)
    A0 = network.balance(ws0)
    for s in tr.snapshots:
        e = tr.info["nfev"] / 12 * np.sqrt(N) * (flow.ATOL + flow.RTOL * max(np.abs(w).max() for w in s.ws))
        for k, a in enumerate(network.balance(s.ws)):
            bound = 2 * e * (s.fro[k] + s.fro[k + 1]) + 2 * e * e
            assert network.spectral(a - A0[k]) <= bound


@given(data_sources(), architectures, st.integers(0, 100), st.sampled_from([0.01, 0.3]))
def test_gd_discrete_balance_identity_is_exact(source, hidden, seed, eta):
    """W_k W_k^T(t) - W_{k+1}^T W_{k+1}(t) = A_{k,k+1} + P_k(t) - Q_{k+1}(t) up to rounding."""
    ds, loss = dataset(source), losses.LOGISTIC
    ws0 = init.gaussian((ds.d,) + hidden + (1,), 0.7, seed)
    tr = descent.gradient_descent(ws0, ds.Z, loss, descent.Constant(eta=eta), 40, checkpoints=5)
    A0 = network.balance(ws0)
    for s in tr.snapshots:
        for k, a in enumerate(network.balance(s.ws)):
            scale = s.fro[k] ** 2 + s.fro[k + 1] ** 2 + np.trace(s.sums.P[k]) + np.trace(s.sums.Q[k + 1]) + 1
            assert network.spectral(a - A0[k] - s.sums.P[k] + s.sums.Q[k + 1]) <= 1e3 * np.finfo(float).eps * scale * (s.t + 1)


def test_assumption_35_policy_keeps_its_invariants():
    ds = data.random_separable(10, 3, 0.1, 0)
    tr = descent.gradient_descent(init.gaussian((3, 2, 1), 1.0, 0), ds.Z, losses.LOGISTIC, descent.Assumption35(), 200)
    for a, b in tr.steps():
        assert network.max_fro(a.ws) <= a.radius - 1 + 1e-12 and a.radius >= 1
        assert b.radius >= a.radius


def test_policies_refuse_the_exp_loss():
    with pytest.raises(ValueError, match="Assumption 3.1"):
        descent.gradient_descent(init.gaussian((2, 1)), np.eye(2), losses.EXP, descent.Assumption35(), 3)
