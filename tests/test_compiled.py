"""The compiled engine (dynamics.compiled, numba) against the numpy reference, and `aligncheck regime`.

Tolerances.  Both engines evaluate the same expressions in different orders, so they differ by rounding only.
For one step from the same W (the unit the tests compare), Higham's bound for a chain of matrix-vector
products (|fl(Ax) - Ax| <= gamma_N |A| |x|, gamma_N = N u / (1 - N u), u = 2^-53, N the longest chain of
products and sums: n + sum_k d_k + 2) and a few ulps per exp/log give, with F_k = ||W_k||_F, P = prod_k F_k
(>= ||w_prod||, and >= ||a_k|| ||c_k|| / ||g|| F_k for every k: |W| has the norms of W), ||z_i|| <= 1:

    margins:           dm    = (L + 1) gamma_N P
    log|l'(m_i)|:      dlg   = dm + 4 u (1 + Lam)                 (|d/dm log|l'|| <= 1; Lam = max_i |log|l'(m_i)||)
    g = grad R(w):     rho_g = 8 dlg + 4 (n + 4) u + 4 u (|log c| + 2 Lam)   (softmax, its sum, exp(log c))
    G_k = a_k c_k^T:   ||dG_k|| <= rho Gabs_k, rho = rho_g + (2 L + 2) gamma_N, Gabs_k = exp(log c) P / F_k
    eta_t:             constant: exact; Assumption 3.5: 4 L u eta (R^(2L-2) by pow or by products);
                       relative: eta (max_k rho Gabs_k / ||G_k|| + gamma_N)
    W(t+1)_k:          2 (u F_k + eta (rho Gabs_k + u ||G_k||) + deta ||G_k||)   (2: each engine's error)

and the Appendix-C sums' increments eta^2 G_k G_k^T (and G_k^T G_k, eta ||grad||^2, ...) follow by the
product rule.  test_every_step_agrees checks every step of hypothesis-drawn runs against these bounds.
Whole runs are compared with the same per-step bounds propagated through the run's own sensitivity,
measured on the reference: the numpy run from W(0) + xi (||xi|| = 1e-9 ||W(0)||) drifts from the run from
W(0) by amp_t ||xi||, and the engines may drift apart by at most 10 (1 + max_s amp_s) sum_t delta_t
(first-order propagation; 10 for the sensitivity of the directions xi does not probe).  A run whose
discrete events (Assumption 3.5's radius growth, a stall by underflow, a norm level) fall within these
tolerances of their threshold may legitimately branch: the comparison stops there, after checking the tie.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

pytest.importorskip("numba", reason="the compiled engine is an optional extra: pip install 'aligncheck[fast]'")

from dynamics import compiled, data, descent, flow, geometry, init, losses, network  # noqa: E402

U = 2.0**-53


# ---------------------------------------------------------------- problems


@st.composite
def gd_problems(draw):
    """A small run: L = 1..4, widths and d 1..5, n 1..8, both losses, the three policies (and 1/beta(R))."""
    L = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 5), min_size=L - 1, max_size=L - 1))
    d, n, seed = draw(st.integers(1, 5)), draw(st.integers(1, 8)), draw(st.integers(0, 2**16))
    loss = losses.get(draw(st.sampled_from(["logistic", "exp"])))
    kind = draw(st.sampled_from(["constant", "a35", "relative", "radius"]))
    if not loss.smooth and kind in ("a35", "radius"):
        kind = "constant"
    policy = {"constant": descent.Constant(eta=draw(st.floats(0.001, 0.3))),
              "a35": descent.Assumption35(),
              "relative": descent.Relative(draw(st.floats(0.001, 0.1))),
              "radius": descent.Constant(radius=draw(st.floats(1.0, 3.0)))}[kind]
    ds = data.random_separable(n, d, 0.1, seed)
    ws0 = init.satisfy_a12(init.gaussian((d, *widths, 1), draw(st.floats(0.1, 1.5)), seed), ds.Z, loss)
    return ws0, ds.Z, loss, policy, draw(st.integers(1, 25))


def _gamma(N):
    return N * U / (1 - N * U)


def step_bounds(snap, Z, loss, policy) -> dict:
    """The one-step bounds of the module docstring at the numpy snapshot `snap` (W(t), eta_t, R_t)."""
    ws, L = snap.ws, len(snap.ws)
    n = Z.shape[0]
    gam = _gamma(n + sum(network.dims(ws)) + 2)
    F = np.array([float(network.fro(w)) for w in ws])
    P = float(np.prod(F))
    lg = np.asarray(loss.log_neg_deriv(snap.margins), dtype=float)
    lam = float(np.max(np.abs(lg)))
    log_c = float(network.grad_parts(snap.margins, Z, loss)[0])
    dlg = (L + 1) * gam * P + 4 * U * (1 + lam)
    rho = 8 * dlg + 4 * (n + 4) * U + 4 * U * (abs(log_c) + 2 * lam) + (2 * L + 2) * gam
    with np.errstate(divide="ignore", invalid="ignore"):
        gabs = np.exp(log_c) * P / F
    gabs = np.where(F > 0, gabs, np.exp(log_c) * np.prod([np.prod(np.delete(F, k)) for k in range(L)]))
    g = np.array([float(network.fro(x)) for x in snap.layer_grads])
    eta = float(snap.step_size)
    if isinstance(policy, descent.Relative):
        deta = eta * (max((rho * gabs[k] / g[k] for k in range(L) if g[k] > 0), default=0.0) + gam)
    elif isinstance(policy, descent.Assumption35):
        deta = 4 * L * U * eta
    else:
        deta = 0.0
    dG = rho * gabs
    dW = 2 * (U * F + eta * (dG + U * g) + deta * g)
    # increments eta^2 G G^T: d(eta^2) ||G||^2 + eta^2 (2 ||G|| dG + dG^2) + rounding
    dinc = 2 * (2 * eta * deta * g**2 + eta**2 * (2 * g * dG + dG**2) + 4 * U * eta**2 * g**2)
    g2 = float(np.sum(g**2))
    dg2 = float(np.sum(2 * g * dG + dG**2)) + 4 * U * g2
    return {"W": dW, "eta": 2 * deta + 2 * U * eta, "inc": dinc, "g2": dg2, "step": float(np.max(dW))}


def _fro(x):
    return float(np.sqrt(np.sum(np.square(x))))


def _sums_close(inc_nb, before, after, eta, g2, b) -> None:
    """The numba step's GDSums increments against numpy's (after - before), within the bounds b."""
    for k, (p_nb, p0, p1, q_nb, q0, q1) in enumerate(zip(inc_nb.P, before.P, after.P, inc_nb.Q, before.Q, after.Q)):
        assert _fro(p_nb - (p1 - p0)) <= b["inc"][k] + 4 * U * (_fro(p0) + _fro(p1)), f"P_{k + 1}"
        assert _fro(q_nb - (q1 - q0)) <= b["inc"][k] + 4 * U * (_fro(q0) + _fro(q1)), f"Q_{k + 1}"
    deta, dg2 = b["eta"], b["g2"]
    scal = [(inc_nb.eta, after.eta - before.eta, deta, before.eta, after.eta),
            (inc_nb.eta_g2, after.eta_g2 - before.eta_g2, eta * dg2 + deta * g2, before.eta_g2, after.eta_g2),
            (inc_nb.eta2_g2, after.eta2_g2 - before.eta2_g2, eta**2 * dg2 + 2 * eta * deta * g2,
             before.eta2_g2, after.eta2_g2)]
    for name, (x_nb, x_np, tol, x0, x1) in zip(("eta", "eta_g2", "eta2_g2"), scal):
        assert abs(x_nb - x_np) <= 2 * tol + 4 * U * (abs(x0) + abs(x1) + abs(x_nb)), name


def _sensitivity(run, ws0, scale=1e-9, seed=0) -> np.ndarray:
    """amp_t: how far the reference run from W(0) + xi drifts from the run from W(0), per unit ||xi||."""
    rng = np.random.default_rng(seed)
    xi = [rng.standard_normal(w.shape) for w in ws0]
    size = scale * max(1e-300, math.sqrt(sum(_fro(w) ** 2 for w in ws0))) / math.sqrt(sum(_fro(x) ** 2 for x in xi))
    a = run(tuple(np.asarray(w, dtype=float) for w in ws0))
    b = run(tuple(np.asarray(w, dtype=float) + size * x for w, x in zip(ws0, xi)))
    n = min(len(a), len(b))
    dist = np.array([math.sqrt(sum(_fro(x - y) ** 2 for x, y in zip(a[i], b[i]))) for i in range(n)])
    return np.maximum.accumulate(dist / (size * math.sqrt(sum(_fro(x) ** 2 for x in xi))))


# ---------------------------------------------------------------- gradient descent


@given(gd_problems())
def test_every_step_agrees(problem):
    """Every step of a numpy run, redone by the compiled engine from the same W(t) (and R_t), agrees within the
    derived one-step bounds: W(t+1), eta_t, ||grad R||^2 and the Appendix-C sums' increments."""
    ws0, Z, loss, policy, steps = problem
    ref = descent.gradient_descent(ws0, Z, loss, policy, steps, checkpoints=10 * steps + 10)
    pairs = ref.steps()
    assert len(pairs) == len(ref.snapshots) - 1          # every step kept
    worst = 0.0
    for a, b in pairs:
        r = compiled.gd_step(a.ws, Z, loss, policy, R=a.radius if isinstance(policy, descent.Assumption35) else None)
        bnd = step_bounds(a, Z, loss, policy)
        assert abs(r["eta"] - a.step_size) <= bnd["eta"], (a.t, r["eta"], a.step_size)
        assert abs(r["g2"] - a.grad_norm2) <= 2 * bnd["g2"], (a.t, r["g2"], a.grad_norm2)
        for k, (x, y) in enumerate(zip(r["ws"], b.ws)):
            err = _fro(x - y)
            assert err <= bnd["W"][k], (a.t, k, err, bnd["W"][k])
            worst = max(worst, err / bnd["W"][k])
        _sums_close(r["sums"], a.sums, b.sums, a.step_size, a.grad_norm2, bnd)
    note(f"largest error / bound: {worst:.2g}")


@given(gd_problems())
def test_whole_runs_agree(problem):
    """descent.gradient_descent(engine="numba") keeps the same snapshots as the numpy reference, with weights,
    step sizes and radii within the per-step bounds propagated through the run's measured sensitivity."""
    ws0, Z, loss, policy, steps = problem
    ref = descent.gradient_descent(ws0, Z, loss, policy, steps, checkpoints=10 * steps + 10)
    got = descent.gradient_descent(ws0, Z, loss, policy, steps, checkpoints=10 * steps + 10, engine="numba")
    assert got.info["engine"] == "numba" and got.policy == ref.policy
    amp = _sensitivity(lambda w: [s.ws for s in descent.gradient_descent(w, Z, loss, policy, steps,
                                                                          checkpoints=10 * steps + 10).snapshots], ws0)
    acc = 0.0
    for i, (a, b) in enumerate(zip(ref.snapshots, got.snapshots)):
        assert a.t == b.t
        tol = 10 * (1 + float(amp[min(i, len(amp) - 1)])) * acc + 1e-300
        err = math.sqrt(sum(_fro(x - y) ** 2 for x, y in zip(a.ws, b.ws)))
        assert err <= tol, (a.t, err, tol)
        if isinstance(policy, descent.Assumption35) and not math.isclose(a.radius, b.radius, rel_tol=1e-9):
            # R grew on one engine only: max_k ||W_k||_F was within the weights' tolerance of R_{t-1} - 1
            prev = ref.snapshots[i - 1]
            assert abs(float(network.max_fro(a.ws)) - (prev.radius - 1)) <= err + tol + 1e-12 * a.radius
            note(f"radius tie at t = {a.t}: comparison stops")
            return
        if isinstance(policy, descent.Constant):
            assert a.step_size == b.step_size
        else:   # a sanity check: test_every_step_agrees holds eta_t to its derived bound
            assert abs(a.step_size - b.step_size) <= max(abs(a.step_size), abs(b.step_size)) * 1e-6 + tol
        acc += float(np.sum(step_bounds(a, Z, loss, policy)["W"]))
    if ref.stop != got.stop or len(ref.snapshots) != len(got.snapshots):
        last = ref.snapshots[min(len(ref.snapshots), len(got.snapshots)) - 1]   # a stall by underflow on one only
        assert last.log_risk < -700, (ref.stop, got.stop)


def test_engine_choice():
    """numpy stays the default; auto picks numba here; a torch backend with numba is refused."""
    ds = data.random_separable(6, 3, 0.1, 0)
    ws = init.gaussian((3, 2, 1), 0.5, 0)
    assert "engine" not in descent.gradient_descent(ws, ds.Z, losses.LOGISTIC, descent.Constant(0.1), 3).info
    assert descent.gradient_descent(ws, ds.Z, losses.LOGISTIC, descent.Constant(0.1), 3,
                                    engine="auto").info["engine"] == "numba"
    with pytest.raises(ValueError, match="numpy backend"):
        descent.gradient_descent(ws, ds.Z, losses.LOGISTIC, descent.Constant(0.1), 3, backend="torch-cpu",
                                 engine="numba")
    with pytest.raises(ValueError, match="unknown engine"):
        compiled.resolve("fortran")


# ---------------------------------------------------------------- relative steps and the regime


def _late(ws0, Z, factor):
    """ws0 scaled so that every margin is large (the regime's row skipping is in use)."""
    return tuple(np.asarray(w) * factor for w in ws0)


@given(st.integers(0, 2**16), st.integers(1, 4), st.floats(0.005, 0.05))
def test_relative_descent_agrees(seed, L, eps):
    """descent.relative_descent(engine="numba") keeps the same snapshots (norm levels) and log eta_t."""
    ds = data.random_separable(8, 4, 0.1, seed)
    ws0 = init.satisfy_a12(init.gaussian((4,) + (3,) * (L - 1) + (1,), 0.5, seed), ds.Z, losses.LOGISTIC)
    top = float(network.max_fro(ws0))
    ref = descent.relative_descent(ws0, ds.Z, losses.LOGISTIC, eps, 3 * top, levels=6, max_steps=2000)
    got = descent.relative_descent(ws0, ds.Z, losses.LOGISTIC, eps, 3 * top, levels=6, max_steps=2000,
                                   engine="numba")
    amp = _sensitivity(lambda w: [s.ws for s in descent.relative_descent(w, ds.Z, losses.LOGISTIC, eps, 3 * top,
                                                                         levels=6, max_steps=2000).snapshots], ws0)
    # per step each engine is within a few u of the exact step (relative to the weights: the step is eps ||W||
    # times a unit direction computed to rho kappa ~ 1e-14 here); <= 2000 steps: 1e-11, through the sensitivity
    tol = 1e-11 * (1 + float(amp.max()))
    assert ref.stop == got.stop
    for i, (a, b) in enumerate(zip(ref.snapshots, got.snapshots)):
        if a.t != b.t:             # a level crossed one step apart: the norm was at the level within tol
            assert abs(a.t - b.t) == 1
            return
        err = math.sqrt(sum(_fro(x - y) ** 2 for x, y in zip(a.ws, b.ws))) / math.sqrt(sum(_fro(x) ** 2 for x in a.ws))
        assert err <= tol, (a.t, err, tol)
    np.testing.assert_allclose(got.info["log_eta"], ref.info["log_eta"], rtol=1e-9, atol=tol)


@pytest.mark.parametrize("loss", ["logistic", "exp"])
@pytest.mark.parametrize("late", [False, True])
def test_regime_step_matches_numpy(loss, late):
    """The regime kernel (fused update, closed-form norms, rows skipped where their weight is exactly 0) takes
    the numpy loop's steps: 300 steps from a small and from a late (aligned, large-margin) state agree to
    rounding: 1e-13 per step (a few u from each engine, and the closed-form norms' drift of a few u per step)
    through the run's measured sensitivity (x 10, as in the module docstring)."""
    lo = losses.get(loss)
    ds = data.random_separable(12, 4, 0.1, 3)
    ws0 = init.satisfy_a12(init.gaussian((4, 3, 3, 1), 0.5, 3), ds.Z, lo)
    if late:
        top = float(network.max_fro(ws0))
        ws0 = descent.relative_descent(ws0, ds.Z, lo, 0.05, 30 * top, levels=2).snapshots[-1].ws
    ubar = geometry.max_margin(ds.Z).ubar
    steps = 300 if late else 60       # the early phase is chaotic with these steps (amplification ~1e7 in 300)
    a, b = compiled._NumpyRegime(ws0, ds.Z, lo, ubar), compiled._NumbaRegime(ws0, ds.Z, lo, ubar)
    assert a.advance(compiled.SCHEDULE, 1e300, steps) == b.advance(compiled.SCHEDULE, 1e300, steps) == steps
    if late:
        assert b.out[5] < ds.n      # margins computed on the rows that can carry weight only

    def numpy_run(w):
        r = compiled._NumpyRegime(w, ds.Z, lo, ubar)
        out = [r.weights()]
        for _ in range(steps // 10):
            r.advance(compiled.SCHEDULE, 1e300, 10)
            out.append(r.weights())
        return out

    amp = _sensitivity(numpy_run, ws0)
    tol = steps * 1e-13 * 10 * (1 + float(amp.max()))
    err = max(_fro(x - y) / _fro(x) for x, y in zip(a.weights(), b.weights()))
    assert err <= tol, (err, tol, float(amp.max()))
    np.testing.assert_allclose(b.out[1:5], a.out[1:5], rtol=max(tol, 1e-12))


def test_regime_reaches_targets_and_the_angle_keeps_falling():
    """compiled.regime on a small problem reaches its targets on both engines, and a 10x smaller angle target is
    reached too (eps_t shrinks with the angle: no floor of order eps)."""
    ds = data.random_separable(20, 4, 0.1, 1)
    lo = losses.LOGISTIC
    ws0 = init.satisfy_a12(init.gaussian((4, 4, 4, 1), 0.1, 1), ds.Z, lo)
    ubar = geometry.max_margin(ds.Z).ubar
    runs = {}
    for engine in ("numba", "numpy"):
        r = runs[engine] = compiled.regime(ws0, ds.Z, lo, ubar, targets={"angle": 1e-2, "rank": 1e-4, "align": 1e-4},
                                           engine=engine, max_seconds=30)
        assert r["engine"] == engine and r["stop"] == "targets reached", r
        assert r["final"]["angle"] <= 1e-2 and r["final"]["rank_residual"] <= 1e-4
        assert all(v is not None for v in r["seconds_to"].values())
    fine = compiled.regime(ws0, ds.Z, lo, ubar, targets={"angle": 1e-3}, engine="numba", max_seconds=30)
    assert fine["stop"] == "targets reached" and fine["final"]["angle"] <= 1e-3
    assert fine["steps"] > runs["numba"]["steps"]


def test_metrics_of_large_layers():
    """Layers above SVD_MAX get their top singular pair by power iteration: the same residuals as the SVD (to
    1e-9 when the gap is wide, as in the regime), never below them (s_1 from below), and the cheap bound
    used before an SVD decides 'not yet' exactly as the SVD would."""
    rng = np.random.default_rng(0)
    n = compiled.SVD_MAX + 6
    ws = [np.outer(rng.standard_normal(n), rng.standard_normal(5)) + 1e-3 * rng.standard_normal((n, 5)),
          np.outer(rng.standard_normal(n), rng.standard_normal(n)) + 1e-3 * rng.standard_normal((n, n)),
          rng.standard_normal((1, n))]
    ubar = np.ones(5) / math.sqrt(5)
    got = compiled.regime_metrics(ws, ubar)
    svd = [np.linalg.svd(w) for w in ws]
    rank = max(float(np.sum(s[1:] ** 2) / np.sum(s**2)) for _, s, _ in svd)
    align = max(1 - float(svd[k + 1][2][0] @ svd[k][0][:, 0]) ** 2 for k in range(2))
    assert rank - 1e-15 <= got["rank"] <= rank * (1 + 1e-9) + 1e-15
    assert got["align"] == pytest.approx(align, rel=1e-6, abs=1e-13)
    for thr in (rank / 2, rank * 2):
        cheap = compiled.regime_metrics([w[:, :5] for w in ws[:1]], ubar, ("rank",), above={"rank": thr})["rank"]
        full = compiled.regime_metrics([w[:, :5] for w in ws[:1]], ubar, ("rank",))["rank"]
        assert (cheap <= thr) == (full <= thr) and cheap <= full + 1e-15


# ---------------------------------------------------------------- aligncheck regime


def _invoke(args):
    from click.testing import CliRunner

    from aligncheck.regime_cli import regime_command

    return CliRunner().invoke(regime_command, args)


TINY = ["--depth", "3", "--width", "3", "--dim", "3", "--n", "10", "--targets", "angle=1e-2,rank=1e-4,align=1e-4"]


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_regime_command(engine):
    res = _invoke(TINY + ["--engine", engine, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"engine", "steps", "seconds", "seconds_to", "final"} <= set(out)
    assert out["engine"] == engine and set(out["seconds_to"]) == {"rank", "align", "angle"}
    assert out["final"]["angle"] <= 1e-2 and out["final"]["rank"] >= 1 - 1e-4 and out["final"]["align"] >= 1 - 1e-4
    text = _invoke(TINY + ["--engine", engine])
    assert text.exit_code == 0 and f"engine {engine}: targets reached" in text.stdout


@pytest.mark.parametrize("args, says", [
    (["--targets", "speed=1"], "--targets"),
    (["--targets", "angle=abc"], "not a number"),
    (["--targets", "rank=2"], "(0, 1)"),
    (["--data", "no-such-file.csv"], "no such file"),
    (["--data", "no-such-file.csv", "--dim", "3"], "not both"),
    (["--width", "100000", "--depth", "8"], "weights"),
])
def test_regime_bad_input(args, says):
    res = _invoke(args)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aligncheck: error:") and says in lines[0], res.stderr
    assert "Traceback" not in res.output


def test_regime_budget_ends_the_run():
    """A target out of reach within --max-seconds: exit 1, 'time budget', within about the budget."""
    res = _invoke(TINY[:-2] + ["--targets", "angle=1e-9", "--max-seconds", "0.3", "--json"])
    assert res.exit_code == 1, res.output
    out = json.loads(res.stdout)
    assert out["stop"] == "time budget" and out["seconds"] < 2 and out["seconds_to"]["angle"] is None


def test_cli_does_not_import_numba():
    """numba is imported when a compiled kernel is first needed, not by the command line."""
    code = "import sys, aligncheck.cli, aligncheck.regime_cli, dynamics.descent; print('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


# ---------------------------------------------------------------- the flow's right-hand side

@pytest.mark.parametrize("loss", [losses.LOGISTIC, losses.EXP])
@pytest.mark.parametrize("dims", [(3, 2, 1), (4, 3, 3, 1), (20, 20, 20, 20, 1)])
def test_compiled_flow_field_is_the_numpy_field(dims, loss):
    """Both evaluate the same sums in a different order: within 32 L eps of the field's largest entry."""
    ds = data.random_separable(30, dims[0], 0.1, 1)
    ws = init.gaussian(dims, 0.7, 2)
    ref = flow._pack(flow.field(ws, ds.Z, loss))
    got = compiled.flow_field(ws, ds.Z, loss)(flow._pack(ws))
    assert np.max(np.abs(got - ref)) <= 32 * len(ws) * np.finfo(float).eps * np.max(np.abs(ref))


def test_compiled_flow_follows_the_numpy_flow():
    """The same DOP853 solve with either field: final weights within 100 x its rtol (one step-size decision
    may differ); on this run they agree to rounding."""
    ds = data.random_separable(40, 5, 0.1, 3)
    ws0 = init.gaussian((5, 4, 3, 1), 0.5, 4)
    a = flow.gradient_flow(ws0, ds.Z, losses.LOGISTIC, 50.0, 8)
    b = flow.gradient_flow(ws0, ds.Z, losses.LOGISTIC, 50.0, 8, engine="numba")
    assert b.info["engine"] == "numba" and [s.t for s in a.snapshots] == [s.t for s in b.snapshots]
    for u, v in zip(a.snapshots[-1].ws, b.snapshots[-1].ws):
        assert np.max(np.abs(u - v)) <= 100 * flow.RTOL * np.max(np.abs(u))
