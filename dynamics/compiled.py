"""A compiled engine (numba) for the single-run hot loops: gradient descent with the three step policies
(descent.gradient_descent), the lean relative-step loop (descent.relative_descent), and the loop that reaches
the asymptotic regime fast (`regime`).

numpy (dynamics.descent) stays the reference; this module computes the same steps with the same log-domain
numerics and returns the same Trajectory / Snapshot objects at the same kept times (tests/test_compiled.py
checks the agreement against a derived tolerance).  The per-step cost of the numpy loops is Python and numpy
call overhead on small matrices; here a step is a few explicit loops over one flat buffer of weights:

- the weights live in one float64 buffer, W_1, ..., W_L (d_k x d_{k-1}, row-major) one after the other;
- the gradient of the risk is never formed as matrices: dR/dW_k = a_k c_k^T (network.grad_factors), with
  a_L = 1, a_{k-1} = W_k^T a_k (the same chain gives w_prod = W_1^T a_1) and c_1 = g, c_{k+1} = W_k c_k;
- g = exp(log_c) * ghat with ghat = -sum_i softmax(log|l'(m_i)|)_i z_i, as network.grad_parts: nothing
  under/overflows however large the margins (exp(x) for x < -745 is skipped: it is exactly 0 in float64, and
  log1p(exp(-m)) is skipped for m > 40, where adding it to m changes no bit).

The regime's loop (`regime`, `aligncheck regime`) goes further: the update and the next product chain share
one pass over the weights, norms are updated in closed form, and the margins of rows whose softmax weight is
exactly 0 are skipped with a proven bound (see _regime_advance_py); its step size shrinks with the angle and
the norm, so the angle to the max-margin direction keeps falling (no floor of order eps).  Measured on the
reference problem (L = 4, d = 20, widths 20, n = 100; shared 2-core machine): 0.6 us a step late in the run,
1.4M steps per CPU second over a whole run, about 150x a plain PyTorch autograd loop and 100x this module's
numpy fallback (benchmarks/regime.py).

numba is an optional extra (`pip install 'aligncheck[fast]'`); it is imported only when a compiled kernel is
first needed, and the kernels are cached on disk (`cache=True`: the first call in a fresh checkout compiles
for 5-15 s, later processes load the machine code in well under a second).  gradient_descent and
relative_descent run in chunks of at most CHUNK steps, between which dynamics.budget's time budget is checked,
so a compiled run honours it like the numpy loops; `regime` keeps its own budget (max_seconds) the same way.
jax (lax.while_loop of the same step) was measured too and is 5-10x slower here: see benchmarks/regime.py.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import budget, network
from .trajectory import GDSums, Policy, Rule, Snapshot, Stop, Trajectory, log_checkpoints

CHUNK = 4096            # steps between two budget checks (a few ms at the reference size)
ENGINES = ("numpy", "numba", "auto")
_LOSS_IDS = {"logistic": 0, "exp": 1}
_FASTMATH = {"reassoc", "contract"}   # vectorised reductions and FMAs; inf/nan semantics kept (no nnan/ninf)


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def resolve(engine: str) -> str:
    """The engine an engine word selects: "auto" -> numba if it imports, else numpy."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {list(ENGINES)}")
    if engine == "auto":
        return "numba" if numba_available() else "numpy"
    if engine == "numba" and not numba_available():
        raise ValueError("engine 'numba' needs numba: pip install 'aligncheck[fast]'")
    return engine


# ---------------------------------------------------------------- kernels (plain Python, compiled by _build)
# The functions below are jitted by _build() and bound to their names without the _py suffix (the helpers
# keep theirs); the kernels call each other by those names.  Each advance call makes 2-D views of the flat
# buffers once (making them costs more than a step's arithmetic at the reference size).

_grads = _gd_advance = _rel_advance = _regime_advance = _flow_field = None   # set by _build()


def _mat_views(buf, dims, rows_at, cols_at):
    """Views of buf as the matrices (dims[k + rows_at] x dims[k + cols_at]), k = 0..L-1, stored one after the other."""
    L = dims.shape[0] - 1
    out = []
    o = 0
    for k in range(L):
        r, c = dims[k + rows_at], dims[k + cols_at]
        out.append(buf[o:o + r * c].reshape((r, c)))
        o += r * c
    return out


def _vec_views(buf, dims, at):
    """Views of buf as the vectors of lengths dims[k + at], k = 0..L-1, stored one after the other."""
    L = dims.shape[0] - 1
    out = []
    o = 0
    for k in range(L):
        out.append(buf[o:o + dims[k + at]])
        o += dims[k + at]
    return out


def _sq(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s


def _log_neg_dloss(s, loss_id):
    """log(-l'(s)): -s for the exp loss (loss_id 1); -log(1 + e^s) for logistic, -s beyond s = 40 (where
    log1p(e^-s) is below half an ulp of s)."""
    if loss_id == 1 or s > 40.0:
        return -s
    return -(max(s, 0.0) + math.log1p(math.exp(-abs(s))))


def _sq2(W):
    s = 0.0
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            s += W[i, j] * W[i, j]
    return s


def _matvec_t(W, x, out):
    """out = W^T x."""
    r, c = W.shape
    for j in range(c):
        out[j] = 0.0
    for i in range(r):
        xi = x[i]
        for j in range(c):
            out[j] += W[i, j] * xi


def _matvec(W, x, out):
    """out = W x, four rows at a time (independent sums: twice the speed of one dot product per row)."""
    r, c = W.shape
    i = 0
    while i + 4 <= r:
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for j in range(c):
            xj = x[j]
            s0 += W[i, j] * xj
            s1 += W[i + 1, j] * xj
            s2 += W[i + 2, j] * xj
            s3 += W[i + 3, j] * xj
        out[i] = s0
        out[i + 1] = s1
        out[i + 2] = s2
        out[i + 3] = s3
        i += 4
    while i < r:
        s = 0.0
        for j in range(c):
            s += W[i, j] * x[j]
        out[i] = s
        i += 1


def _rank_one_update(W, step, a, c):
    """W -= step * (a c^T), elementwise as numpy's w - step * np.outer(a, c)."""
    for i in range(W.shape[0]):
        ai = a[i]
        for j in range(W.shape[1]):
            W[i, j] -= step * (ai * c[j])


def _active(lg, mx, act):
    """Write to act the indices i with lg_i - mx > -746 (the others' exp is exactly 0 in float64); return
    their count.  A separate pass: with exp behind a branch in the same loop, LLVM evaluates it for every i."""
    na = 0
    for i in range(lg.shape[0]):
        if lg[i] - mx > -746.0:
            act[na] = i
            na += 1
    return na


def _grads_py(Ws, As, Cs, Z, loss_id, scaled, wv, m, e, act):
    """Fill As, Cs with dR/dW_k = s A_k C_k^T and wv with w_prod; return log_c (grad R(w) = exp(log_c) ghat).

    scaled: C_0 = g = exp(log_c) ghat (s = 1, as network.layer_grads); else C_0 = ghat (s = exp(log_c))."""
    L = len(Ws)
    n, d0 = Z.shape
    As[L - 1][0] = 1.0
    for k in range(L - 1, 0, -1):             # A_{k-1} = W_k^T A_k
        _matvec_t(Ws[k], As[k], As[k - 1])
    _matvec_t(Ws[0], As[0], wv)               # w_prod = W_0^T A_0 = (W_L ... W_1)^T
    mx = -np.inf
    for i in range(n):                        # margins and log|l'(m_i)|
        s = 0.0
        for j in range(d0):
            s += Z[i, j] * wv[j]
        m[i] = s
        lg = _log_neg_dloss(s, loss_id)
        e[i] = lg
        if lg > mx:
            mx = lg
    if not math.isfinite(mx):
        mx = 0.0
    na = _active(e, mx, act)
    tot = 0.0
    for t in range(na):                       # softmax weights: exp(x) for x < -746 is exactly 0
        i = act[t]
        v = math.exp(e[i] - mx)
        e[i] = v
        tot += v
    log_c = mx + math.log(tot) - math.log(n)
    c0 = Cs[0]
    for j in range(d0):
        c0[j] = 0.0
    for t in range(na):                       # ghat = -sum_i p_i z_i over the rows with p_i > 0
        i = act[t]
        v = e[i]
        for j in range(d0):
            c0[j] += v * Z[i, j]
    sc = math.exp(log_c) if scaled else 1.0   # g = exp(log_c) * ghat, as network.predictor_grad
    for j in range(d0):
        c0[j] = sc * -(c0[j] / tot)
    for k in range(L - 1):                    # C_{k+1} = W_k C_k
        _matvec(Ws[k], Cs[k], Cs[k + 1])
    return log_c


def _flow_field_py(x, dims, Z, loss_id, out, A, C, wv, m, e, act):
    """The gradient flow's vector field -grad R(W) at the flat weights x, into out (the same layout)."""
    Ws = _mat_views(x, dims, 1, 0)
    As = _vec_views(A, dims, 1)
    Cs = _vec_views(C, dims, 0)
    Gs = _mat_views(out, dims, 1, 0)
    _grads(Ws, As, Cs, Z, loss_id, True, wv, m, e, act)   # dR/dW_k = A_k C_k^T
    for k in range(len(Ws)):
        G, a, c = Gs[k], As[k], Cs[k]
        for i in range(G.shape[0]):
            for j in range(G.shape[1]):
                G[i, j] = -(a[i] * c[j])


def _gd_advance_py(wb, dims, Z, loss_id, policy_id, eta_c, eps, lbeta, lG, st, P, Q, sums, nsteps,
                   A, C, wv, m, e, act, gn2, out):
    """Up to `nsteps` gradient-descent steps; returns how many were taken (fewer when a step stalls).

    Before each step and once after the last, the step quantities at the current point go to
    out = (eta_t, ||grad R(W(t))||^2); the sums (P_k, Q_k, sum eta, sum eta g2, sum eta^2 g2) and the
    policy state st[0] (Assumption 3.5's R_t) advance as descent.gradient_descent advances them.
    policy_id: 0 constant eta_c, 1 Assumption 3.5, 2 relative eps."""
    L = dims.shape[0] - 1
    Ws = _mat_views(wb, dims, 1, 0)
    Ps = _mat_views(P, dims, 1, 1)
    Qs = _mat_views(Q, dims, 0, 0)
    As = _vec_views(A, dims, 1)
    Cs = _vec_views(C, dims, 0)
    done = 0
    while True:
        _grads(Ws, As, Cs, Z, loss_id, True, wv, m, e, act)
        g2 = 0.0
        for k in range(L):
            gn2[k] = _sq(As[k]) * _sq(Cs[k])
            g2 += gn2[k]
        if policy_id == 0:
            eta = eta_c
        elif policy_id == 1:
            eta = 1.0 / (2.0 * L ** 2 * st[0] ** (2 * L - 2) * (lbeta + lG))
            if not eta < 1.0:
                eta = 1.0
        else:
            r = np.inf
            for k in range(L):
                if gn2[k] > 0.0:
                    q = math.sqrt(_sq2(Ws[k])) / math.sqrt(gn2[k])
                    if q < r:
                        r = q
            eta = eps * r if r < np.inf else 0.0
        out[0] = eta
        out[1] = g2
        if done == nsteps or eta == 0.0 or g2 == 0.0:
            return done
        e2 = eta * eta
        for k in range(L):                    # P_k += eta^2 G_k G_k^T, Q_k += eta^2 G_k^T G_k (G_k = A_k C_k^T)
            a, c = As[k], Cs[k]
            _rank_one_update(Ps[k], -e2 * _sq(c), a, a)
            _rank_one_update(Qs[k], -e2 * _sq(a), c, c)
        sums[0] += eta
        sums[1] += eta * g2
        sums[2] += e2 * g2
        for k in range(L):                    # W_k -= eta A_k C_k^T
            _rank_one_update(Ws[k], eta, As[k], Cs[k])
        if policy_id == 1:                    # Assumption 3.5's growth rule
            top = 0.0
            for k in range(L):
                f = math.sqrt(_sq2(Ws[k]))
                if f > top:
                    top = f
            if top > st[0] - 1.0:
                st[0] = top + 1.0
        done += 1


def _rel_advance_py(wb, dims, Z, loss_id, eps, level, nsteps, A, C, wv, m, e, act, out):
    """Up to `nsteps` relative steps W_k -= step A_k C_k^T with C_0 = ghat and
    step = eps min_k ||W_k||_F / ||A_k C_k^T||_F (each layer moves by at most eps of its norm), as
    descent.relative_descent's loop.  Returns the steps taken; stops after the step whose max_k ||W_k||_F
    (before the step) reaches `level`, or before a step with no nonzero layer gradient.
    out = (flag: 0 nsteps taken, 1 level reached, 2 zero gradient; step; log_c; top norm) of the last step."""
    L = dims.shape[0] - 1
    Ws = _mat_views(wb, dims, 1, 0)
    As = _vec_views(A, dims, 1)
    Cs = _vec_views(C, dims, 0)
    for it in range(nsteps):
        log_c = _grads(Ws, As, Cs, Z, loss_id, False, wv, m, e, act)
        r = np.inf
        top = 0.0
        for k in range(L):
            f = math.sqrt(_sq2(Ws[k]))
            if f > top:
                top = f
            gn = math.sqrt(_sq(As[k]) * _sq(Cs[k]))
            if gn > 0.0:
                q = f / gn
                if q < r:
                    r = q
        if not r < np.inf:
            out[0] = 2.0
            return it
        step = eps * r
        for k in range(L):
            _rank_one_update(Ws[k], step, As[k], Cs[k])
        out[1] = step
        out[2] = log_c
        out[3] = top
        if top >= level:
            out[0] = 1.0
            return it + 1
    out[0] = 0.0
    return nsteps


def _regime_advance_py(wb, dims, Z, loss_id, eps, adapt, rate, ubar, level, nsteps, A, B, C, wv, m, e, act, rows,
                       F2, fr, gn2, out):
    """The regime's loop: relative steps (as _rel_advance) with
    eps_t = min(eps, adapt * angle(w_prod, ubar) + rate / max_k ||W_k||_F), arranged for speed, with the same
    result (to rounding):

    - the update W_k -= step A_k C_k^T and the next step's chain A_{k-1} = W_k^T A_k run in one pass over the
      weights (A and B hold the old and the new A_k);
    - ||W_k||_F^2 is updated in closed form, ||W_k - s A_k C_k^T||^2 = ||W_k||^2 - 2 s tau + s^2 ||A_k||^2 ||C_k||^2
      with tau = A_k^T W_k C_k = <w_prod, ghat> the same for every k (recomputed exactly at each call);
    - margins are computed only for the rows that can carry a nonzero softmax weight: at a refresh (all margins),
      the rows with m_i - m_min <= 750 + budget are kept, and the others are left out until the margins could
      have moved by `budget` in total: |m_i(t+1) - m_i(t)| <= max_i ||z_i|| ||w(t+1) - w(t)|| with
      ||w(t+1) - w(t)|| <= prod_k (||W_k||_F + ||dW_k||_F) - prod_k ||W_k||_F.  A row left out has
      log|l'| - max <= -746 throughout: exp of it is exactly 0 in float64, as if it had been computed.  Used only
      where every margin exceeds 40 + budget (logistic: log|l'(m)| = -m to the last bit there) or for the exp loss.

    Same stops and out as _rel_advance (out[3] the top norm before the last step), with out[4] the angle and
    out[5] the rows whose margins the last step computed."""
    L = dims.shape[0] - 1
    n, d0 = Z.shape
    Ws = _mat_views(wb, dims, 1, 0)
    As = _vec_views(A, dims, 1)
    Bs = _vec_views(B, dims, 1)
    Cs = _vec_views(C, dims, 0)
    As[L - 1][0] = 1.0
    for k in range(L - 1, 0, -1):
        _matvec_t(Ws[k], As[k], As[k - 1])
    _matvec_t(Ws[0], As[0], wv)
    for k in range(L):
        F2[k] = _sq2(Ws[k])
    zmax = 0.0
    for i in range(n):
        zmax = max(zmax, math.sqrt(_sq(Z[i])))
    nrows, used, budget = n, 1.0, -1.0
    mx, tot = 0.0, 1.0
    for it in range(nsteps):
        if not used <= budget:                # refresh: every margin, and the rows to keep (also if used is nan)
            mmin = np.inf
            for i in range(n):
                s = 0.0
                for j in range(d0):
                    s += Z[i, j] * wv[j]
                m[i] = s
                mmin = min(mmin, s)
            prod = 1.0
            for k in range(L):
                prod *= math.sqrt(F2[k])
            budget = 0.1 * zmax * prod
            nrows, used = 0, 0.0
            if (loss_id == 1 or mmin > 40.0 + budget) and math.isfinite(budget):
                for i in range(n):
                    if m[i] - mmin <= 750.0 + budget:
                        rows[nrows] = i
                        nrows += 1
            else:
                for i in range(n):
                    rows[i] = i
                nrows, budget = n, -1.0
        else:
            for t in range(nrows):
                i = rows[t]
                s = 0.0
                for j in range(d0):
                    s += Z[i, j] * wv[j]
                m[i] = s
        mx = -np.inf
        for t in range(nrows):
            i = rows[t]
            s = m[i]
            lg = _log_neg_dloss(s, loss_id)
            e[i] = lg
            if lg > mx:
                mx = lg
        if not math.isfinite(mx):
            mx = 0.0
        na = 0
        for t in range(nrows):
            i = rows[t]
            if e[i] - mx > -746.0:
                act[na] = i
                na += 1
        tot = 0.0
        for t in range(na):
            i = act[t]
            v = math.exp(e[i] - mx)
            e[i] = v
            tot += v
        c0 = Cs[0]
        for j in range(d0):
            c0[j] = 0.0
        for t in range(na):
            i = act[t]
            v = e[i]
            for j in range(d0):
                c0[j] += v * Z[i, j]
        tau = 0.0
        for j in range(d0):
            c0[j] = -(c0[j] / tot)
            tau += wv[j] * c0[j]
        for k in range(L - 1):
            _matvec(Ws[k], Cs[k], Cs[k + 1])
        r = np.inf
        top = 0.0
        for k in range(L):
            f = math.sqrt(F2[k])
            fr[k] = f
            if f > top:
                top = f
            g2 = _sq(As[k]) * _sq(Cs[k])
            gn2[k] = g2
            if g2 > 0.0:
                q = f / math.sqrt(g2)
                if q < r:
                    r = q
        dot = 0.0
        for j in range(d0):
            dot += wv[j] * ubar[j]
        perp = 0.0
        for j in range(d0):
            x = wv[j] - dot * ubar[j]
            perp += x * x
        ratio = math.sqrt(perp) / dot if dot > 0.0 else np.inf
        if ratio < 1e-3:                      # atan(x) = x (1 - x^2/3 + x^4/5), error below x^7/7
            x2 = ratio * ratio
            angle = ratio * (1.0 - x2 * (1.0 / 3.0 - x2 * 0.2))
        else:
            angle = math.atan2(math.sqrt(perp), dot)
        out[4] = angle
        if not r < np.inf:
            out[0] = 2.0
            out[2] = mx + math.log(tot) - math.log(n)
            return it
        ep = min(eps, adapt * angle + rate / top)
        step = ep * r
        Bs[L - 1][0] = 1.0
        prod = 1.0
        moved = 1.0
        for k in range(L - 1, -1, -1):        # W_k -= step A_k C_k^T, then B_{k-1} = W_k^T B_k on the new W_k
            W = Ws[k]
            a = As[k]
            b = Bs[k]
            c = Cs[k]
            nxt = Bs[k - 1] if k > 0 else wv
            rr, cc = W.shape
            for j in range(cc):
                nxt[j] = 0.0
            for i in range(rr):
                ai = step * a[i]
                bi = b[i]
                for j in range(cc):
                    w = W[i, j] - ai * c[j]
                    W[i, j] = w
                    nxt[j] += w * bi
            prod *= fr[k]
            moved *= fr[k] + step * math.sqrt(gn2[k])
            F2[k] = F2[k] - 2.0 * step * tau + step * step * gn2[k]
        As, Bs = Bs, As
        # |m_i(t+1) - m_i(t)| <= zmax (prod_k (F_k + dF_k) - prod_k F_k); the product's rounding (< 1e-14 prod)
        # is covered by the second term
        used += 2.0 * zmax * ((moved - prod) * 1.000001 + prod * 1e-13)
        out[1] = step
        out[3] = top
        out[5] = nrows
        if top >= level:
            out[0] = 1.0
            out[2] = mx + math.log(tot) - math.log(n)
            return it + 1
    out[0] = 0.0
    out[2] = mx + math.log(tot) - math.log(n)
    return nsteps


_HELPERS = ("_active", "_mat_views", "_vec_views", "_sq", "_sq2", "_log_neg_dloss", "_matvec_t", "_matvec",
            "_rank_one_update")


def _build():
    """Compile (or load from the on-disk cache) the kernels; idempotent."""
    global _grads, _gd_advance, _rel_advance, _regime_advance, _flow_field
    if _gd_advance is not None:
        return
    try:
        import numba
    except ImportError:
        raise ValueError("the compiled engine needs numba: pip install 'aligncheck[fast]'") from None
    opts = dict(cache=True, fastmath=_FASTMATH, nogil=True, error_model="numpy")   # numpy: 1/0 is inf, no raise
    jit = lambda f: numba.njit(**opts)(f)  # noqa: E731
    g = globals()
    for name in _HELPERS:               # inlined at numba's level: measured 0.69 -> 0.61 us per regime step
        if not hasattr(g[name], "py_func"):
            g[name] = numba.njit(inline="always", **opts)(g[name])
    _grads = jit(_grads_py)
    _flow_field = jit(_flow_field_py)
    _rel_advance = jit(_rel_advance_py)
    _regime_advance = jit(_regime_advance_py)
    _gd_advance = jit(_gd_advance_py)


# ---------------------------------------------------------------- flat state

class _Flat:
    """One network's state in flat float64 buffers (W_k row-major, one after the other), with the kernels'
    work arrays."""

    def __init__(self, ws, Z):
        ws = [np.asarray(w, dtype=np.float64) for w in ws]
        self.shapes = [w.shape for w in ws]
        self.dims = np.array(network.dims(tuple(ws)), dtype=np.int64)
        self.wb = np.concatenate([w.ravel() for w in ws]).astype(np.float64)
        self.Z = np.ascontiguousarray(Z, dtype=np.float64)
        n = self.Z.shape[0]
        self.A = np.zeros(int(self.dims[1:].sum()))
        self.C = np.zeros(int(self.dims[:-1].sum()))
        self.wv = np.zeros(int(self.dims[0]))
        self.m = np.zeros(n)
        self.e = np.zeros(n)
        self.act = np.zeros(n, dtype=np.int64)
        self.rows = np.zeros(n, dtype=np.int64)
        self.B = np.zeros_like(self.A)
        self.F2 = np.zeros(len(ws))
        self.fr = np.zeros(len(ws))
        self.gn2 = np.zeros(len(ws))
        self.work = np.zeros(len(ws))
        self.out = np.zeros(6)

    def weights(self) -> tuple:
        out, o = [], 0
        for s in self.shapes:
            size = s[0] * s[1]
            out.append(self.wb[o:o + size].reshape(s).copy())
            o += size
        return tuple(out)


def _loss_id(loss) -> int:
    try:
        return _LOSS_IDS[loss.name]
    except KeyError:
        raise ValueError(f"the compiled engine knows the losses {sorted(_LOSS_IDS)}; got {loss.name!r}") from None


# ---------------------------------------------------------------- gradient descent (descent.gradient_descent)

class _GD(_Flat):
    """A gradient-descent run's state on the compiled engine: the weights, the Appendix-C sums and the step
    policy's state (Assumption 3.5's R_t)."""

    def __init__(self, ws, Z, loss, policy, R: float | None = None):
        _build()
        super().__init__(ws, Z)
        self.st = np.zeros(1)
        ws64 = tuple(np.asarray(w, dtype=float) for w in ws)
        self.eta_c, self.radius = 0.0, None
        how = policy.describe()          # descent's policies by their rule (this module does not import descent)
        if how.rule is Rule.CONSTANT:
            eta = policy.start(ws64, loss)["eta"]
            if eta is None:
                raise ValueError("Constant steps need eta or a radius")
            self.pid, self.eta_c, self.radius = 0, float(eta), how.radius
        elif how.rule is Rule.ASSUMPTION_35:
            self.pid = 1
            self.st[0] = float(policy.start(ws64, loss)["R"]) if R is None else float(R)
        elif how.rule is Rule.RELATIVE:
            self.pid = 2
        else:
            raise ValueError(f"the compiled engine runs constant, Assumption 3.5 and relative steps; got {how}")
        self.eps = float(how.eps or 0.0)
        self.lbeta = float(loss.beta) if loss.beta is not None else 0.0
        self.lG = float(loss.G) if loss.G is not None else 0.0
        self.lid = _loss_id(loss)
        self.P = np.zeros(sum(int(d) ** 2 for d in self.dims[1:]))
        self.Q = np.zeros(sum(int(d) ** 2 for d in self.dims[:-1]))
        self.sums = np.zeros(3)

    def advance(self, n: int) -> int:
        """Up to n steps (fewer if one stalls); then self.out = (eta, ||grad R||^2) at the current point."""
        return int(_gd_advance(self.wb, self.dims, self.Z, self.lid, self.pid, self.eta_c, self.eps, self.lbeta,
                               self.lG, self.st, self.P, self.Q, self.sums, int(n), self.A, self.C, self.wv, self.m,
                               self.e, self.act, self.work, self.out))

    @property
    def R(self) -> float | None:
        """R_t (Assumption 3.5), the fixed radius (Constant(radius=R)), or None."""
        return float(self.st[0]) if self.pid == 1 else self.radius

    def host_sums(self) -> GDSums:
        Ps, Qs, po, qo = [], [], 0, 0
        for k in range(len(self.shapes)):
            r, c = int(self.dims[k + 1]), int(self.dims[k])
            Ps.append(self.P[po:po + r * r].reshape(r, r).copy())
            Qs.append(self.Q[qo:qo + c * c].reshape(c, c).copy())
            po, qo = po + r * r, qo + c * c
        return GDSums(tuple(Ps), tuple(Qs), float(self.sums[0]), float(self.sums[1]), float(self.sums[2]))


def flow_field(ws0, Z, loss):
    """x -> -grad R(W) for the flat weights x (flow.py's packing: each W_k row-major, one after the other):
    the gradient flow's right-hand side, compiled; flow.field is the numpy reference."""
    _build()
    state, loss_id = _Flat(ws0, Z), _loss_id(loss)

    def field(x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        _flow_field(np.ascontiguousarray(x, dtype=np.float64), state.dims, state.Z, loss_id, out, state.A, state.C,
                    state.wv, state.m, state.e, state.act)
        return out

    return field


def gd_step(ws, Z, loss, policy, R: float | None = None) -> dict:
    """One compiled gradient-descent step from W (Assumption 3.5: from the radius R_t, default max ||W_k||_F + 1):
    {"eta", "g2" (||grad R(W)||^2), "R" (R_t), "ws" (W(t+1)), "sums" (the step's GDSums increments)}; the
    engine's unit, compared step by step with the numpy reference by tests/test_compiled.py."""
    run = _GD(ws, Z, loss, policy, R)
    run.advance(0)
    eta, g2, R_t = float(run.out[0]), float(run.out[1]), run.R
    run.advance(1)
    return {"eta": eta, "g2": g2, "R": R_t, "ws": run.weights(), "sums": run.host_sums()}


def gradient_descent(ws0, Z, loss, policy, steps: int, checkpoints: int = 40, progress=None) -> Trajectory:
    """descent.gradient_descent on the compiled engine: the same steps, snapshots at the same kept times (W(t)
    and W(t+1) at log-spaced t), the same Appendix-C sums, the same stop rules; info["engine"] = "numba"."""
    run = _GD(ws0, Z, loss, policy)
    keep = set(log_checkpoints(steps, checkpoints, integer=True).astype(int).tolist())
    keep |= {t + 1 for t in keep if t < steps}
    marks = sorted(keep | {steps})
    snaps, stop, detail = [], Stop.HORIZON, ""
    start = time.perf_counter()
    run.advance(0)
    t, nxt = 0, 0
    while True:
        budget.check()
        eta, g2 = float(run.out[0]), float(run.out[1])
        stalled = t < steps and (eta == 0.0 or g2 == 0.0)
        if t in keep or t == steps or stalled:
            R = run.R
            snaps.append(Snapshot(t, run.weights(), Z, loss, step_size=eta, radius=None if R is None else float(R),
                                  sums=run.host_sums()))
        if t == steps:
            break
        if stalled:
            stop, detail = Stop.ZERO_GRADIENT, "underflow or critical point"
            break
        while marks[nxt] <= t:
            nxt += 1
        done = run.advance(min(marks[nxt], t + CHUNK) - t)
        if progress is not None and done:
            progress(done)
        t += done
    info = {"steps": t, "seconds": time.perf_counter() - start, "backend": "numpy", "engine": "numba"}
    return Trajectory("gd", tuple(np.asarray(w) for w in ws0), Z, loss, snaps, policy=policy.describe(), stop=stop,
                      stop_detail=detail, info=info)


# ---------------------------------------------------------------- relative steps (descent.relative_descent)

def relative_descent(ws0, Z, loss, eps: float, max_norm: float, levels: int = 40, until=None,
                     max_steps: int = 10**7) -> Trajectory:
    """descent.relative_descent on the compiled engine (same steps, same snapshots where max_k ||W_k||_F
    crosses the geometric levels, same info["log_eta"], same stop reasons)."""
    _build()
    s = _Flat(ws0, Z)
    ws = s.weights()
    start_norm = float(network.max_fro(ws))
    targets = list(np.geomspace(start_norm, max_norm, max(levels, 2) + 1)[1:])
    snaps, log_eta, steps = [Snapshot(0, ws, Z, loss)], [], []
    why, begin, t = Stop.MAX_STEPS, time.perf_counter(), 0
    lid = _loss_id(loss)
    while t < max_steps:
        budget.check()
        n = min(CHUNK, max_steps - t)
        done = int(_rel_advance(s.wb, s.dims, s.Z, lid, float(eps), float(targets[0]), n,
                                s.A, s.C, s.wv, s.m, s.e, s.act, s.out))
        t += done
        flag = int(s.out[0])
        if flag == 2:
            why = Stop.ZERO_GRADIENT
            break
        if flag == 1:
            top = float(s.out[3])
            while targets and top >= targets[0]:
                targets.pop(0)
            snap = Snapshot(t, s.weights(), Z, loss)
            snaps.append(snap)
            log_eta.append(float(np.log(s.out[1]) - s.out[2]))
            steps.append(t)
            if not targets:
                why = Stop.NORM_REACHED
                break
            if until is not None and until(snap):
                why = Stop.UNTIL
                break
    info = {"steps": t, "seconds": time.perf_counter() - begin, "eps": eps, "log_eta": log_eta,
            "max_norm": float(max_norm), "engine": "numba"}
    return Trajectory("gd", tuple(np.array(w) for w in ws0), Z, loss, snaps, policy=Policy(Rule.RELATIVE, eps=eps),
                      stop=why, info=info)


# ---------------------------------------------------------------- reaching the regime

TARGETS = {"rank": 1e-6, "align": 1e-6, "angle": 1e-3}


SVD_MAX = 64    # layers with min(shape) above this get their top singular pair by power iteration


def _top_pair(w, v0=None, iters: int = 30, tol: float = 1e-12):
    """(s_1, u_1, v_1) of w by power iteration from v0 (warm start), for large layers: O(rows cols) an iteration.
    The s_1 returned is ||w^T u|| <= the true s_1, so a rank residual from it is never below the true one (an
    iteration cut short by `iters` errs on the safe side; near the regime the gap s_2 / s_1 is small and a warm
    start converges in a few iterations)."""
    v = v0 if v0 is not None and v0.shape == (w.shape[1],) and np.any(v0) else np.ones(w.shape[1])
    v = v / np.linalg.norm(v)
    s1, u = 0.0, np.zeros(w.shape[0])
    for _ in range(iters):
        x = w @ v
        nx = float(np.linalg.norm(x))
        if nx == 0.0:
            break
        u = x / nx
        y = w.T @ u
        s1 = float(np.linalg.norm(y))
        if s1 == 0.0:
            break
        y /= s1
        moved = float(np.linalg.norm(y - v))
        v = y
        if moved <= tol:
            break
    return s1, u, v


def regime_metrics(ws, ubar, which=("rank", "align", "angle"), above: dict | None = None,
                   cache: dict | None = None) -> dict:
    """How far W is from the regime of Theorem 2.2 / Proposition 4.4, as residuals (0 in the limit):
    rank: max_k 1 - ||W_k||_2^2 / ||W_k||_F^2 (from the singular values: sum_{i>=2} s_i^2 / sum s_i^2);
    align: max_k 1 - <v_{k+1}, u_k>^2 (as ||v - <v, u> u||^2: no cancellation); angle: angle(w_prod, ubar).
    Only the metrics in `which` are computed.  Layers with min(shape) > SVD_MAX get (s_1, u_1, v_1) by power
    iteration, warm-started from `cache` (a dict the caller keeps between calls).  With above = {"rank": r}, a
    small layer whose cheap lower bound 1 - ||W_k W_k^T||_F / ||W_k||_F^2 <= 1 - s_1^2 / ||W_k||_F^2 (since
    s_1^4 <= sum_i s_i^4) already exceeds r ends the rank computation with that bound (a check that is not there
    yet costs no SVD)."""
    ws = [np.asarray(w, dtype=float) for w in ws]
    cache = {} if cache is None else cache
    out = {}
    if "rank" in which and "align" not in which and above and "rank" in above:
        for w in ws:
            if min(w.shape) > SVD_MAX:
                continue
            f2 = float(np.sum(w * w))
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            bound = 1.0 - math.sqrt(float(np.sum(gram * gram))) / f2 if f2 > 0 else 1.0
            if bound > above["rank"]:
                out["rank"] = bound
                break
    if "align" in which or ("rank" in which and "rank" not in out):
        tops = []                                   # (s_1^2 / ||W||_F^2 residual, u_1, v_1) per layer
        for k, w in enumerate(ws):
            f2 = float(np.sum(w * w))
            if min(w.shape) > SVD_MAX:
                s1, u, v = _top_pair(w, cache.get(k))
                cache[k] = v
                res = max(0.0, 1.0 - s1 * s1 / f2) if f2 > 0 else 1.0
            elif "align" in which:
                uu, sv, vt = np.linalg.svd(w, full_matrices=False)
                s2 = sv * sv
                res, u, v = (float(s2[1:].sum()) / float(s2.sum()) if s2.sum() > 0 else 1.0), uu[:, 0], vt[0]
            else:
                s2 = np.linalg.svd(w, compute_uv=False) ** 2
                res, u, v = (float(s2[1:].sum()) / float(s2.sum()) if s2.sum() > 0 else 1.0), None, None
            tops.append((res, u, v))
        if "rank" in which and "rank" not in out:
            out["rank"] = max(r for r, _, _ in tops)
        if "align" in which:
            align = 0.0
            for k in range(len(ws) - 1):
                u, v = tops[k][1], tops[k + 1][2]
                align = max(align, float(np.sum((v - (v @ u) * u) ** 2)))
            out["align"] = align
    if "angle" in which:
        w = network.product(tuple(ws))
        ub = np.asarray(ubar, dtype=float)
        along = float(w @ ub)
        out["angle"] = float(np.arctan2(np.linalg.norm(w - along * ub), along))
    return out


SCHEDULE = (0.05, 0.1, 0.02)   # regime's (eps, adapt, rate): eps_t = min(eps, adapt angle + rate / max_k ||W_k||_F)


class _NumpyRegime:
    """The regime's step in numpy (the fallback without numba, and the reference for the compiled loop):
    descent.relative_descent's step with eps_t = min(eps, adapt * angle + rate / max_k ||W_k||_F)."""

    name = "numpy"

    def __init__(self, ws, Z, loss, ubar):
        self.ws = [np.array(w, dtype=float) for w in ws]
        self.Z, self.loss, self.ubar = np.asarray(Z, dtype=float), loss, np.asarray(ubar, dtype=float)
        self.out = np.zeros(6)

    def weights(self):
        return tuple(w.copy() for w in self.ws)

    def advance(self, schedule, level, nsteps) -> int:
        eps, adapt, rate = schedule
        ws, L = self.ws, len(self.ws)
        for it in range(nsteps):
            w = network.product(tuple(ws))
            log_c, ghat = network.grad_parts(network.margins(w, self.Z), self.Z, self.loss)
            a, cs = network.grad_factors(tuple(ws), ghat)
            fros = [float(np.sqrt(np.sum(x * x))) for x in ws]
            gn = [float(np.sqrt((a[k] @ a[k]) * (cs[k] @ cs[k]))) for k in range(L)]
            ratios = [f / g for f, g in zip(fros, gn) if g > 0]
            along = float(w @ self.ubar)
            angle = float(np.arctan2(np.linalg.norm(w - along * self.ubar), along))
            self.out[4] = angle
            if not ratios:
                self.out[0] = 2.0
                return it
            top = max(fros)
            step = min(eps, adapt * angle + rate / top) * min(ratios)
            for k in range(L):
                ws[k] -= step * np.outer(a[k], cs[k])
            self.out[1:4] = step, float(log_c), top
            self.out[5] = self.Z.shape[0]
            if top >= level:
                self.out[0] = 1.0
                return it + 1
        self.out[0] = 0.0
        return nsteps


class _NumbaRegime(_Flat):
    name = "numba"

    def __init__(self, ws, Z, loss, ubar):
        _build()
        super().__init__(ws, Z)
        self.lid, self.ubar = _loss_id(loss), np.array(ubar, dtype=np.float64)   # a writable copy: one compiled type

    def advance(self, schedule, level, nsteps) -> int:
        eps, adapt, rate = (float(x) for x in schedule)
        return int(_regime_advance(self.wb, self.dims, self.Z, self.lid, eps, adapt, rate, self.ubar, float(level),
                                   int(nsteps), self.A, self.B, self.C, self.wv, self.m, self.e, self.act, self.rows,
                                   self.F2, self.fr, self.gn2, self.out))


def warm_up() -> float:
    """Compile (or load from the cache) the regime kernel on a tiny problem; the seconds it took."""
    from . import losses

    t0 = time.perf_counter()
    Z = np.array([[0.6, 0.0], [0.0, 0.6]])
    run = _NumbaRegime((np.eye(2) * 0.5, np.ones((1, 2)) * 0.5), Z, losses.LOGISTIC, np.ones(2) / math.sqrt(2))
    run.advance(SCHEDULE, 1e300, 2)
    return time.perf_counter() - t0


def regime(ws0, Z, loss, ubar, targets: dict | None = None, engine: str = "auto", max_seconds: float = 60.0,
           schedule: tuple = SCHEDULE, max_steps: int = 10**9, check_ratio: float = 1.25) -> dict:
    """Relative steps until every target of TARGETS (residuals: rank, align, angle; see regime_metrics) is met,
    the time budget is spent, or the gradient vanishes.

    The step is scale-invariant (each layer moves by at most eps_t of its Frobenius norm), with
    eps_t = min(eps, adapt * angle(w_prod, ubar) + rate / max_k ||W_k||_F), (eps, adapt, rate) = schedule.
    A fixed eps leaves an angle floor of about 1.5 eps (DESIGN.md 8); here eps_t shrinks with the angle (so the
    discretisation stays below the angle) and, past it, like 1 / norm (so the floor falls as the norm grows and
    the norm still grows at least linearly in the steps: the rank and alignment residuals, which fall like
    1 / norm^2, are reached when the angle has converged first).  Measured on the reference problem: angle
    ~0.35 / ||W_k||_F down to 7e-6, no floor.  The metrics are checked (SVDs) each time max_k ||W_k||_F has
    grown by `check_ratio`, and every 10-40 ms of stepping; `seconds_to` is the wall time from the first step to
    the first check that met each target (None if never).  Compiling the engine (numba: 5-15 s once per checkout,
    then loaded from the cache in well under a second) comes before the budget and is reported apart.
    Returns a JSON-able dict: engine, steps, seconds, seconds_to, final, stop, steps_to, steps_per_second,
    cpu_seconds (process CPU time of the loop: what the run got on a shared machine), compile_seconds, targets,
    schedule."""
    want = dict(TARGETS)
    for k, v in (targets or {}).items():
        if k not in TARGETS:
            raise ValueError(f"unknown target {k!r}; choose among {sorted(TARGETS)}")
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"target {k} must be a positive number; got {v!r}")
        want[k] = float(v)
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be positive; got {max_seconds!r}")
    name = resolve(engine)
    compile_s = warm_up() if name == "numba" else 0.0
    run = (_NumbaRegime if name == "numba" else _NumpyRegime)(ws0, Z, loss, ubar)
    return drive(run, ws0, Z, loss, ubar, want, max_seconds, schedule, max_steps, check_ratio, compile_s)


def drive(run, ws0, Z, loss, ubar, want: dict, max_seconds: float, schedule: tuple, max_steps: int,
          check_ratio: float, compile_s: float = 0.0) -> dict:
    """regime's loop around any engine `run` (.name, .weights(), .advance(schedule, level, nsteps) -> steps
    taken, .out as _regime_advance's): benchmarks/regime.py drives its jax loop through it too."""
    first_s, first_t, cache = {}, {}, {}
    t, chunk, stop, pace, per_step = 0, 1, "time budget", 0.01, 0.0
    start, cpu0 = time.perf_counter(), time.process_time()
    level = float(network.max_fro(tuple(np.asarray(w) for w in ws0))) * check_ratio
    metrics = regime_metrics(run.weights(), ubar, cache=cache)

    def record(now):
        for k, thr in want.items():
            if k not in first_s and metrics[k] <= thr:
                first_s[k], first_t[k] = now - start, t

    record(start)
    while len(first_s) < len(want):
        now = time.perf_counter()
        if now - start >= max_seconds:
            break
        if t >= max_steps:
            stop = "max steps"
            break
        c0 = now
        left = max_seconds - (now - start)            # no chunk started that would overrun the budget
        want_n = min(chunk, max_steps - t, max(1, int(left / per_step)) if per_step > 0 else chunk)
        done = run.advance(schedule, level, want_n)
        t += done
        now = time.perf_counter()
        per_step = (now - c0) / max(done, 1)
        if run.out[0] == 1.0:
            level = max(level, float(run.out[3])) * check_ratio
        c1 = time.perf_counter()
        metrics = regime_metrics(run.weights(), ubar, [k for k in want if k not in first_s], above=want, cache=cache)
        record(time.perf_counter())
        # the steps between two checks last `pace`: 10 ms, or 4x the last check (checks take at most a fifth of
        # the time); a step costs 1 us to 1 s
        pace = max(0.01, 4 * (time.perf_counter() - c1))
        chunk = max(1, min(1 << 24, int(pace / per_step) if per_step > 0 else 2 * chunk))
        if run.out[0] == 2.0:
            stop = "zero gradient"
            break
    else:
        stop = "targets reached"
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
    metrics = regime_metrics(run.weights(), ubar, cache=cache)
    ws = run.weights()
    w = network.product(ws)
    Zf = np.asarray(Z, dtype=float)
    final = {"rank": 1.0 - metrics["rank"], "align": 1.0 - metrics["align"], "angle": metrics["angle"],
             "rank_residual": metrics["rank"], "align_residual": metrics["align"],
             "fro": [float(network.fro(x)) for x in ws],
             "log_risk": float(network.log_risk_of(network.margins(w, Zf), loss)),
             "normalised_margin": float(np.min(Zf @ w) / np.linalg.norm(w))}
    return {"engine": run.name, "steps": t, "seconds": seconds,
            "seconds_to": {k: first_s.get(k) for k in want}, "final": final, "stop": stop,
            "steps_to": {k: first_t.get(k) for k in want},
            "steps_per_second": t / seconds if seconds > 0 else None, "cpu_seconds": cpu,
            "compile_seconds": compile_s, "targets": want, "schedule": list(schedule)}
