"""Benchmark (issue 13, items 1-2): the compiled engines against a plain PyTorch autograd loop, in one run.

Reference problem (benchmarks/asymptotic_targets.py): L = 4, d = 20, hidden widths 20, n = 100, logistic loss,
float64, Gaussian initialisation of scale 0.1.  Measured, one after the other in this process:

1. regime: `dynamics.compiled.regime` (relative steps eps_t = min(0.05, 0.1 angle + 0.02 / max_k ||W_k||_F))
   until rank and alignment
   residuals <= 1e-6 on every layer and angle(w_prod, ubar) <= 1e-3, on numba, on jax (the same step in a
   jitted lax.while_loop, driven by the same loop: compiled.drive) and on numpy (the fallback; its own budget);
2. steps/s of the fixed-step gradient-descent loop with the Appendix-C sums (descent.gradient_descent,
   Constant(eta=0.5)): numpy reference against engine="numba";
3. the plain autograd loop: torch float64 (one thread), SGD lr 0.5 on softplus(-Z w).mean(), for --autograd-seconds.

Prints one JSON object per measurement, then the ratios of steps per second to the autograd loop (numba, jax and
autograd repeated, interleaved; best and median), by wall time and by process CPU time (the machine may be
shared: CPU time is what this process got), and the load average.
Targets (issue 13): regime <= 3 s on 2 cores and >= 150x the autograd loop's steps/s.

    OMP_NUM_THREADS=1 python benchmarks/regime.py [--numpy-seconds 30] [--autograd-seconds 2] [--repeats 5] [--no-jax]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from _autograd import autograd_sgd  # benchmarks/_autograd.py: the shared baseline
from dynamics import compiled, data, descent, geometry, init, losses

ds = data.random_separable(100, 20, 0.1, 0)
LOSS = losses.LOGISTIC
WS0 = init.satisfy_a12(init.gaussian((20, 20, 20, 20, 1), 0.1, 0), ds.Z, LOSS)
UBAR = geometry.max_margin(ds.Z).ubar


def emit(obj):
    print(json.dumps(obj), flush=True)
    return obj


def clocks():
    return time.perf_counter(), time.process_time()


def regime_numba_or_numpy(engine, seconds):
    out = compiled.regime(WS0, ds.Z, LOSS, UBAR, engine=engine, max_seconds=seconds)
    cpu = out["cpu_seconds"]
    return emit(dict(what="regime", engine=engine, seconds=out["seconds"], steps=out["steps"], stop=out["stop"],
                     seconds_to=out["seconds_to"], steps_per_s=out["steps"] / out["seconds"],
                     steps_per_cpu_s=out["steps"] / max(cpu, 1e-9), compile_seconds=out["compile_seconds"],
                     final={k: out["final"][k] for k in ("rank_residual", "align_residual", "angle")}))


class JaxRegime:
    """compiled._rel_advance's step (with the adaptive eps) in jax: a jitted lax.while_loop of whole steps."""

    name = "jax"

    def __init__(self, ws, Z, ubar):
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        self.jnp = jnp
        self.ws = tuple(jnp.asarray(w, dtype=jnp.float64) for w in ws)
        self.Z, self.ubar = jnp.asarray(Z, dtype=jnp.float64), jnp.asarray(ubar, dtype=jnp.float64)
        self.out = np.zeros(6)
        L, n = len(ws), Z.shape[0]

        def body(carry):
            ws, it, flag, eps, adapt, rate, level, nsteps, _, _, _, _ = carry
            a = [None] * L
            a[L - 1] = jnp.ones(1)
            for k in range(L - 1, 0, -1):
                a[k - 1] = ws[k].T @ a[k]
            w = ws[0].T @ a[0]
            m = self.Z @ w
            lg = -jax.nn.softplus(m)                     # log |l'(m)| of the logistic loss
            mx = jnp.max(lg)
            p = jnp.exp(lg - mx)
            tot = jnp.sum(p)
            log_c = mx + jnp.log(tot) - jnp.log(n)
            c = [-(p @ self.Z) / tot]
            for k in range(L - 1):
                c.append(ws[k] @ c[-1])
            fro = jnp.stack([jnp.sqrt(jnp.sum(x * x)) for x in ws])
            gn = jnp.stack([jnp.sqrt((a[k] @ a[k]) * (c[k] @ c[k])) for k in range(L)])
            r = jnp.min(jnp.where(gn > 0, fro / jnp.where(gn > 0, gn, 1.0), jnp.inf))
            along = w @ self.ubar
            angle = jnp.arctan2(jnp.linalg.norm(w - along * self.ubar), along)
            top = jnp.max(fro)
            step = jnp.minimum(eps, adapt * angle + rate / top) * r
            ok = jnp.isfinite(r)
            new = tuple(x - jnp.where(ok, step, 0.0) * jnp.outer(a[k], c[k]) for k, x in enumerate(ws))
            flag = jnp.where(ok, jnp.where(top >= level, 1, 0), 2)
            return new, it + jnp.where(ok, 1, 0), flag, eps, adapt, rate, level, nsteps, step, log_c, top, angle

        def cond(carry):
            return (carry[1] < carry[7]) & (carry[2] == 0)

        @jax.jit
        def advance(ws, eps, adapt, rate, level, nsteps):
            z = jnp.float64(0.0)
            init = (ws, jnp.int64(0), jnp.int64(0), eps, adapt, rate, level, nsteps, z, z, z, z)
            return jax.lax.while_loop(cond, body, init)

        self._advance = advance

    def weights(self):
        return tuple(np.asarray(w) for w in self.ws)

    def advance(self, schedule, level, nsteps) -> int:
        jnp = self.jnp
        eps, adapt, rate = (jnp.float64(x) for x in schedule)
        res = self._advance(self.ws, eps, adapt, rate, jnp.float64(level), jnp.int64(nsteps))
        self.ws = res[0]
        self.out[:5] = [float(res[2]), float(res[8]), float(res[9]), float(res[10]), float(res[11])]
        return int(res[1])


def regime_jax(seconds):
    try:
        import jax  # noqa: F401
    except ImportError:
        return emit(dict(what="regime", engine="jax", skipped="jax not installed"))
    t0 = time.perf_counter()
    warm = JaxRegime(WS0, ds.Z, UBAR)
    for n in (1, 64):                                       # trace and compile (one shape: the same program)
        warm.advance(compiled.SCHEDULE, 1e300, n)
    compile_s = time.perf_counter() - t0
    run = JaxRegime(WS0, ds.Z, UBAR)
    run._advance = warm._advance
    out = compiled.drive(run, WS0, ds.Z, LOSS, UBAR, dict(compiled.TARGETS), seconds, compiled.SCHEDULE, 10**9, 1.25,
                         compile_s)
    cpu = out["cpu_seconds"]
    return emit(dict(what="regime", engine="jax", seconds=out["seconds"], steps=out["steps"], stop=out["stop"],
                     seconds_to=out["seconds_to"], steps_per_s=out["steps"] / out["seconds"],
                     steps_per_cpu_s=out["steps"] / max(cpu, 1e-9), compile_seconds=compile_s,
                     final={k: out["final"][k] for k in ("rank_residual", "align_residual", "angle")}))


def gd_rates():
    """Steps/s of descent.gradient_descent (Constant(0.5), the Appendix-C sums, snapshots) on numpy and numba."""
    res = {}
    for engine, steps in (("numpy", 3000), ("numba", 200_000)):
        descent.gradient_descent(WS0, ds.Z, LOSS, descent.Constant(0.5), 10, engine=engine)   # warm
        (w0, c0) = clocks()
        tr = descent.gradient_descent(WS0, ds.Z, LOSS, descent.Constant(0.5), steps, engine=engine)
        w1, c1 = clocks()
        res[engine] = emit(dict(what="gradient_descent constant(0.5)", engine=engine, steps=tr.info["steps"],
                                stop=str(tr.stop), steps_per_s=tr.info["steps"] / (w1 - w0),
                                steps_per_cpu_s=tr.info["steps"] / (c1 - c0)))
    return res


def autograd(seconds):
    """The plain PyTorch autograd SGD loop (benchmarks/_autograd.py), in this run."""
    out = autograd_sgd(ds.Z, WS0, seconds)
    if out is None:
        return emit(dict(what="autograd", skipped="torch not installed"))
    _, steps, wall, cpu = out
    return emit(dict(what="autograd", engine="torch-sgd-float64 (1 thread)", steps=steps,
                     steps_per_s=steps / wall, steps_per_cpu_s=steps / cpu))


def _summary(rows):
    """Best and median rates of repeated measurements (a shared machine slows some repeats, never speeds one)."""
    first = rows[0]
    rate = sorted(r["steps_per_s"] for r in rows)
    cpu = sorted(r["steps_per_cpu_s"] for r in rows)
    out = dict(what=first["what"], engine=first["engine"], repeats=len(rows), best_steps_per_s=rate[-1],
               median_steps_per_s=rate[len(rate) // 2], best_steps_per_cpu_s=cpu[-1],
               median_steps_per_cpu_s=cpu[len(cpu) // 2])
    if first["what"] == "regime":
        secs = sorted(r["seconds"] for r in rows)
        out.update(best_seconds=secs[0], median_seconds=secs[len(secs) // 2],
                   reached=all(r["stop"] == "targets reached" for r in rows))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--numpy-seconds", type=float, default=30.0, help="budget of the numpy regime run")
    ap.add_argument("--autograd-seconds", type=float, default=2.0, help="per repeat")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved repeats of the numba, jax and autograd runs")
    ap.add_argument("--no-jax", action="store_true")
    a = ap.parse_args()
    emit(dict(what="machine", cores=os.cpu_count(), load_average=os.getloadavg(),
              note="other processes may share the cores: repeats are interleaved; best and median reported, "
                   "by wall time and by process CPU time"))
    compiled.warm_up()
    runs = {"numba": [], "jax": [], "autograd": []}
    for _ in range(max(1, a.repeats)):         # interleaved, so that a busy spell slows every engine alike
        runs["numba"].append(regime_numba_or_numpy("numba", 60.0))
        if not a.no_jax:
            runs["jax"].append(regime_jax(60.0))
        runs["autograd"].append(autograd(a.autograd_seconds))
    numpy_row = regime_numba_or_numpy("numpy", a.numpy_seconds)
    gd = gd_rates()
    emit(dict(what="machine (end)", load_average=os.getloadavg()))
    if "skipped" in runs["autograd"][0]:
        return
    ag = emit(_summary(runs["autograd"]))
    summaries = [emit(_summary(runs[k])) for k in ("numba", "jax") if runs[k] and "skipped" not in runs[k][0]]
    singles = [_summary([numpy_row])] + [_summary([r]) for r in gd.values()]
    for r in summaries + singles:
        emit(dict(ratio=f"{r['what']} [{r['engine']}] steps/s over the autograd loop",
                  best_wall=r["best_steps_per_s"] / ag["best_steps_per_s"],
                  median_wall=r["median_steps_per_s"] / ag["median_steps_per_s"],
                  best_cpu=r["best_steps_per_cpu_s"] / ag["best_steps_per_cpu_s"],
                  median_cpu=r["median_steps_per_cpu_s"] / ag["median_steps_per_cpu_s"],
                  regime_seconds=r.get("median_seconds")))
    nb = summaries[0]
    emit(dict(targets="regime <= 3 s and >= 150x the autograd loop's steps/s (numba)",
              median_seconds=nb["median_seconds"], reached=nb["reached"],
              ratio_median_wall=nb["median_steps_per_s"] / ag["median_steps_per_s"],
              ratio_best_cpu=nb["best_steps_per_cpu_s"] / ag["best_steps_per_cpu_s"]))


if __name__ == "__main__":
    main()
