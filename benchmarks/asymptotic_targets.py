"""Benchmark (issue 4 targets): reference problem L = 4, d = 20, hidden widths 20, n = 100, logistic loss,
small Gaussian init (scale 0.1).  Seconds until ||W_k||_2/||W_k||_F >= 1 - 1e-6 (all k),
|<v_{k+1}, u_k>| >= 1 - 1e-6 (all k) and angle(w_prod, ubar) <= 1e-3, for the log-domain
relative-step engine (dynamics.descent.relative_descent), the geometric-speed flow (LSODA, time
budget), and plain PyTorch autograd SGD (float32, float64) for the same wall time.  Run with
`OMP_NUM_THREADS=2 python benchmarks/asymptotic_targets.py`."""
import json
import sys
import time

import numpy as np

from _autograd import autograd_sgd  # benchmarks/_autograd.py: the shared baseline
from dynamics import data, descent, flow, init, losses, network
from theorems.claims._problem import certify

ds = data.random_separable(100, 20, 0.1, 0)
loss = losses.LOGISTIC
g = certify(ds.Z)
ws0 = init.satisfy_a12(init.gaussian((20, 20, 20, 20, 1), 0.1, 0), ds.Z, loss)
TARGET = dict(rank=1e-6, align=1e-6, angle=1e-3)


def metrics(ws):
    ws = [np.asarray(w, dtype=float) for w in ws]
    rank = max(1 - np.linalg.svd(w, compute_uv=False)[0] / np.linalg.norm(w) for w in ws)
    tr = [np.linalg.svd(w, full_matrices=False) for w in ws]
    align = max(1 - abs(tr[k + 1][2][0] @ tr[k][0][:, 0]) for k in range(len(ws) - 1))
    w = network.product(tuple(ws))
    angle = float(np.arctan2(np.linalg.norm(w - (w @ g.ubar) * g.ubar), w @ g.ubar))
    return dict(rank=float(rank), align=float(align), angle=angle)


def engine(name, run):
    first, t0 = {}, time.perf_counter()

    def until(s):
        m = metrics(s.ws)
        for k, thr in TARGET.items():
            if k not in first and m[k] <= thr:
                first[k] = time.perf_counter() - t0
        return len(first) == len(TARGET)

    tr = run(until)
    secs = time.perf_counter() - t0
    steps = tr.info.get("steps", tr.info.get("nfev"))
    out = dict(engine=name, seconds=secs, stop=tr.stop, steps_or_nfev=steps, rate_per_s=steps / secs,
               seconds_to=first, final=metrics(tr.snapshots[-1].ws), log_risk=tr.snapshots[-1].log_risk)
    print(json.dumps(out), flush=True)
    return out


def torch_sgd(dtype_name, seconds, lr=0.5):
    """The plain PyTorch autograd SGD loop (benchmarks/_autograd.py), in this run."""
    res = autograd_sgd(ds.Z, ws0, seconds, lr=lr, dtype_name=dtype_name)
    if res is None:
        print(json.dumps(dict(engine=f"torch-{dtype_name}", skipped="torch not installed")))
        return None
    ws, steps, secs, _ = res
    m = metrics(ws)
    w = ws[0]
    for v in ws[1:]:
        w = v @ w
    risk = float(np.mean(np.logaddexp(0.0, -(ds.Z @ w[0]))))
    out = dict(engine=f"torch-sgd-{dtype_name}", seconds=secs, steps=steps, rate_per_s=steps / secs, final=m,
               risk=risk, reached={k: m[k] <= v for k, v in TARGET.items()})
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    rel = engine("relative-descent eps=4e-4 (log domain)",
                 lambda until: descent.relative_descent(ws0, ds.Z, loss, 4e-4, max_norm=1e4, levels=60, until=until))
    engine("geometric flow LSODA (time budget 20 s)",
           lambda until: flow.geometric_flow(ws0, ds.Z, loss, max_norm=1e4, levels=60, until=until, method="LSODA",
                                             rtol=1e-8, max_seconds=20))
    for dt in ("float32", "float64"):
        t = torch_sgd(dt, budget)
        if t:
            print(json.dumps(dict(ratio=f"relative-descent steps/s over torch {dt}",
                                  value=rel["rate_per_s"] / t["rate_per_s"])))
