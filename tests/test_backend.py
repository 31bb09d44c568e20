"""Backends agree: the namespace-generic kernels and policies (network.py, descent.py), run batched
(dynamics/batched.py) or one network at a time (descent.gradient_descent on a torch backend), reproduce
the numpy per-run reference on numpy, torch-CPU and (marked gpu) CUDA, and torch autograd reproduces
the closed-form gradients.

Tolerances (float64, eps = 2.2e-16):
- one gradient evaluation: each entry is a short sum/product chain (depth L, n terms, log-domain
  softmax), evaluated in a different order by batched matmul; relative error <= c * eps with c ~ n + L.
  We allow GRAD_RTOL = 1e3 * eps ~ 2.2e-13 relative to the largest entry.
- a T-step GD trajectory: rounding of each step is carried forward; the GD map is locally
  non-expanding at these step sizes (measured: growth of the relative difference stays below 2x over
  300 steps), so the error is at most ~T * per-step error.  We allow TRAJ_RTOL(T) = 16 * T * eps
  (1.1e-12 at T = 300); measured residuals are 2e-17 .. 4e-16 on numpy and torch-CPU.  Runs whose
  margins grow fast amplify rounding by ~|m| eta per step instead (see POLICIES: relative).
"""

import numpy as np
import pytest

from dynamics import backend, batched, data, descent, init, losses, network

EPS = np.finfo(float).eps
GRAD_RTOL = 1e3 * EPS


def TRAJ_RTOL(steps):
    return 16 * steps * EPS


DIMS = (4, 5, 3, 1)
SEEDS = (0, 1, 2)
POLICIES = [
    ("constant", descent.Constant(0.1), ("logistic", "exp"), 300),
    ("a35", descent.Assumption35(), ("logistic",), 300),
    ("radius", descent.Constant(radius=1.5), ("logistic",), 300),
    # relative steps move every layer by 5% of its norm, so margins grow geometrically (max |m| ~ 15 at
    # step 40, ~ 100 at step 60) and a rounding error is amplified by ~ 0.05 |m| per step: measured
    # 2e-16 up to step 40, then 4e-13 at step 60 and 1e-9 at step 120.  The comparison stops at 40.
    ("relative", descent.Relative(0.05), ("logistic", "exp"), 40),
]


TORCH_CPU = pytest.param("torch-cpu", marks=pytest.mark.skipif(not backend.torch_available(),
                                                                reason="torch not installed"))
TORCH_CUDA = pytest.param("torch-cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not backend.cuda_available(), reason="no CUDA device (torch missing or torch.cuda.is_available() is False)")])


def _backends():
    return ["numpy", TORCH_CPU]


@pytest.fixture(scope="module")
def problem():
    return data.random_separable(20, 4, 0.1, seed=1)


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(b)), 1e-300))


# --- backend selection ---------------------------------------------------------------------------

def test_auto_is_numpy_without_cuda():
    if backend.cuda_available():
        assert backend.resolve("auto") == "torch-cuda"
    else:
        assert backend.resolve("auto") == "numpy"
    assert backend.resolve("cpu") == "numpy"
    assert backend.get().dtype == "float64"


def test_cuda_unavailable_says_why(monkeypatch):
    monkeypatch.setattr(backend, "cuda_available", lambda: False)
    if backend.torch_available():
        with pytest.raises(backend.BackendUnavailable, match="no CUDA"):
            backend.resolve("cuda")
        assert backend.resolve("torch") == "torch-cpu"
    monkeypatch.setattr(backend, "torch_available", lambda: False)
    with pytest.raises(backend.BackendUnavailable, match="needs torch"):
        backend.resolve("torch-cpu")
    with pytest.raises(ValueError, match="unknown device"):
        backend.resolve("tpu")


# --- kernels against the numpy reference -----------------------------------------------------------

@pytest.mark.parametrize("name", _backends())
@pytest.mark.parametrize("loss", ["logistic", "exp"])
def test_layer_gradients_match_reference(problem, name, loss):
    be = backend.get(name)
    ws0 = batched.init_batch(DIMS, SEEDS)
    ws, Z = tuple(be.asarray(w) for w in ws0), be.asarray(problem.Z)
    grads = network.layer_grads(ws, Z, losses.get(loss))
    log_risk = network.risk_parts(network.product(ws), Z, losses.get(loss))[1]
    for b, s in enumerate(SEEDS):
        ws = init.gaussian(DIMS, 0.5, s)
        ref = network.layer_grads(ws, problem.Z, losses.get(loss))
        for g, r in zip(grads, ref):
            assert _rel(backend.to_numpy(g)[b], r) <= GRAD_RTOL
        ref_lr = network.risk_parts(network.product(ws), problem.Z, losses.get(loss))[1]
        assert abs(float(backend.to_numpy(log_risk)[b]) - ref_lr) <= GRAD_RTOL * max(1, abs(ref_lr))


@pytest.mark.parametrize("name", _backends())
def test_log_domain_survives_huge_margins(problem, name):
    """Margins ~ 2e4: every l' underflows, yet log R, log_c and the gradient direction stay exact.

    log|l'(m_i)| ~ -m_i carries an absolute error ~ |m| eps, which the softmax turns into a relative
    error ~ |m| eps in the weights: the tolerance is GRAD_RTOL * max |m|."""
    be = backend.get(name)
    w = 1e5 * problem.max_margin.ubar
    _, lr, lc, gh = network.risk_parts(be.asarray(w[None]), be.asarray(problem.Z), losses.LOGISTIC)
    _, rlr, rlc, rgh = network.risk_parts(w, problem.Z, losses.LOGISTIC)
    assert rlr < -1000
    assert abs(float(backend.to_numpy(lr)[0]) - rlr) <= GRAD_RTOL * abs(rlr)
    assert abs(float(backend.to_numpy(lc)[0]) - rlc) <= GRAD_RTOL * abs(rlc)
    assert _rel(backend.to_numpy(gh)[0], rgh) <= GRAD_RTOL * float(np.max(np.abs(problem.Z @ w)))


@pytest.mark.parametrize("name", _backends())
@pytest.mark.parametrize("label,pol,loss_names,steps", POLICIES, ids=[p[0] for p in POLICIES])
def test_batched_gd_matches_numpy_reference(problem, name, label, pol, loss_names, steps):
    for loss_name in loss_names:
        loss = losses.get(loss_name)
        run = batched.gradient_descent(batched.init_batch(DIMS, SEEDS), problem.Z, loss, pol, steps, name)
        for b, s in enumerate(SEEDS):
            ref = descent.gradient_descent(init.gaussian(DIMS, 0.5, s), problem.Z, loss, pol, steps).snapshots[-1]
            for w, r in zip(run.ws, ref.ws):
                assert _rel(w[b], r) <= TRAJ_RTOL(steps), (label, loss_name, s)
            assert abs(run.log_risk[-1, b] - ref.log_risk) <= TRAJ_RTOL(steps) * max(1, abs(ref.log_risk))
        # ratios lie in [1/sqrt(rank bound), 1]
        assert np.all(run.ratio <= 1 + 1e-12) and np.all(run.ratio >= run.lower_bounds - 1e-12)


def test_per_run_datasets(problem):
    """Runs may carry their own data: (B, n, d) gives each run its dataset."""
    other = data.random_separable(20, 4, 0.1, seed=7)
    Z = np.stack([problem.Z, other.Z])
    ws0 = batched.init_batch(DIMS, (0, 0))
    run = batched.gradient_descent(ws0, Z, losses.LOGISTIC, descent.Constant(0.1), 50, "numpy")
    for b, ds in enumerate((problem, other)):
        ref = descent.gradient_descent(init.gaussian(DIMS, 0.5, 0), ds.Z, losses.LOGISTIC,
                                       descent.Constant(0.1), 50).snapshots[-1]
        assert _rel(run.ws[0][b], ref.ws[0]) <= TRAJ_RTOL(50)


@pytest.mark.parametrize("name", [TORCH_CPU, TORCH_CUDA])
@pytest.mark.parametrize("policy", ["a35", "constant"])
def test_runspec_on_torch_matches_numpy(name, policy):
    """What `verify --device` checks claims on: every kept snapshot of a run stepped on torch (weights,
    step size, radius, Appendix-C sums) against the numpy run of the same spec."""
    from dynamics.runs import RunSpec, simulate

    spec = RunSpec(method="gd", policy=policy, eta=0.1 if policy == "constant" else None, horizon=200)
    got, ref = simulate(spec, name), simulate(spec, "numpy")
    assert got.info["backend"] == name and ref.info["backend"] == "numpy"
    assert [s.t for s in got.snapshots] == [s.t for s in ref.snapshots]
    for a, b in zip(got.snapshots, ref.snapshots):
        tol = TRAJ_RTOL(max(b.t, 1))
        assert all(_rel(x, y) <= tol for x, y in zip(a.ws, b.ws))
        assert all(isinstance(x, np.ndarray) for x in a.ws + a.sums.P + a.sums.Q)
        assert abs(a.step_size - b.step_size) <= tol * b.step_size
        assert all(_rel(x, y) <= tol for x, y in zip(a.sums.P + a.sums.Q, b.sums.P + b.sums.Q) if np.any(y))
        assert abs(a.sums.eta_g2 - b.sums.eta_g2) <= tol * max(b.sums.eta_g2, 1e-300)


# --- torch autograd against the closed form --------------------------------------------------------

@pytest.mark.parametrize("loss", ["logistic", "exp"])
def test_autograd_matches_closed_form(problem, loss):
    torch = pytest.importorskip("torch")
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in batched.init_batch(DIMS, SEEDS)]
    Z = torch.tensor(problem.Z)
    m = network.margins(network.product(ws), Z)
    # plain risk (no log domain): fine at these O(1) margins, and independent of our kernels' formulas
    ell = torch.exp(-m) if loss == "exp" else torch.nn.functional.softplus(-m)
    ell.mean(dim=1).sum().backward()   # runs are independent: d(sum_b R_b)/dW_b = dR_b/dW_b
    closed = network.layer_grads(tuple(w.detach() for w in ws), Z, losses.get(loss))
    for w, g in zip(ws, closed):
        assert _rel(g.numpy(), w.grad.numpy()) <= GRAD_RTOL


# --- CUDA ----------------------------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.parametrize("loss", ["logistic", "exp"])
def test_cuda_gd_matches_numpy(problem, loss):
    pytest.importorskip("torch")
    if not backend.cuda_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    ws0 = batched.init_batch(DIMS, SEEDS)
    ref = batched.gradient_descent(ws0, problem.Z, losses.get(loss), descent.Constant(0.1), 300, "numpy")
    got = batched.gradient_descent(ws0, problem.Z, losses.get(loss), descent.Constant(0.1), 300, "cuda")
    assert got.backend == "torch-cuda"
    for a, b in zip(got.ws, ref.ws):
        assert _rel(a, b) <= TRAJ_RTOL(300)


@pytest.mark.gpu
def test_cuda_autograd_matches_closed_form(problem):
    torch = pytest.importorskip("torch")
    if not backend.cuda_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    ws = [torch.tensor(w, dtype=torch.float64, device="cuda", requires_grad=True)
          for w in batched.init_batch(DIMS, SEEDS)]
    Z = torch.tensor(problem.Z, device="cuda")
    torch.nn.functional.softplus(-network.margins(network.product(ws), Z)).mean(dim=1).sum().backward()
    closed = network.layer_grads(tuple(w.detach() for w in ws), Z, losses.LOGISTIC)
    for w, g in zip(ws, closed):
        assert _rel(g.cpu().numpy(), w.grad.cpu().numpy()) <= GRAD_RTOL


@pytest.mark.parametrize("name", _backends())
def test_crosscheck_for_verify(name):
    """What `verify --device` records: the device's GD trajectories against the numpy reference."""
    from dynamics.runs import RunSpec

    specs = [RunSpec(method="flow", horizon=5.0), RunSpec(method="gd", policy="constant", eta=0.1, horizon=100),
             RunSpec(method="gd", policy="a35", horizon=100, loss="logistic")]
    r = batched.crosscheck(specs, name)
    assert r["backend"] == name and len(r["runs"]) == 2 and r["agree"], r


def test_report_says_which_backend_stepped_and_whether_it_agreed():
    from aligncheck.reporting.summary import backend_note

    assert backend_note({}).startswith("gradient-descent steps on numpy")
    runs = [{"max_rel_diff": 3e-16, "agree": True}, {"max_rel_diff": 2e-9, "agree": False}]
    note = backend_note({"backend": "torch 2.13.0 on CPU (float64)",
                         "device_crosscheck": {"runs": runs, "agree": False}})
    assert "torch 2.13.0 on CPU" in note and "2.0e-09" in note and "DISAGREE" in note
