"""Batched GD against one-by-one runs, numpy against torch (CPU / CUDA), and against a plain PyTorch
autograd loop (the same batch, risk written directly, loss.backward() each step).  Measures, asserts nothing.

python benchmarks/batched.py [--batch 64] [--steps 200] [--dims 20,20,20,20,1] [--n 100] [--device auto]
      [--reference-runs 4] [--json out.json]

Timings: wall seconds of gradient_descent (kept snapshots included: log-spaced, ~40 per run);
the one-by-one numpy reference (descent.gradient_descent, which also accumulates the Appendix-C sums)
is timed on --reference-runs runs and scaled to the batch; so is batched numpy with --numpy-runs K.
Also the agreement of each backend's final weights with batched numpy (max relative difference).
Ratios in the printout are against the one-by-one numpy runs and, on each torch backend, against
the plain autograd loop on that backend (same steps, float64, no recording).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from dynamics import backend, batched, data, descent, init, losses


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--dims", default="20,20,20,20,1")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--device", default="auto", help="extra backend to time besides numpy (auto: all available)")
    ap.add_argument("--reference-runs", type=int, default=4)
    ap.add_argument("--numpy-runs", type=int, default=None,
                    help="batched numpy on only the first K runs (the agreement reference; default: all)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    dims = tuple(int(x) for x in a.dims.split(","))
    ds = data.random_separable(a.n, dims[0], 0.1, seed=0)
    loss, pol = losses.LOGISTIC, descent.Constant(0.1)
    ws0 = batched.init_batch(dims, range(a.batch))
    out = {"batch": a.batch, "steps": a.steps, "dims": dims, "n": a.n, "results": {}}

    t = time.perf_counter()
    for s in range(a.reference_runs):
        descent.gradient_descent(init.gaussian(dims, 0.5, s), ds.Z, loss, descent.Constant(0.1), a.steps)
    per_run = (time.perf_counter() - t) / a.reference_runs
    out["results"]["numpy one-by-one (descent.py)"] = {"seconds": per_run * a.batch, "run_steps_per_s": a.steps / per_run}

    names = backend.available() if a.device == "auto" else ["numpy", backend.resolve(a.device)]
    ref = None
    k = a.numpy_runs or a.batch
    for name in dict.fromkeys(names):
        ws = tuple(w[:k] for w in ws0) if name == "numpy" else ws0   # numpy: the agreement reference
        batched.gradient_descent(ws, ds.Z, loss, pol, 3, name)   # warm-up (CUDA context, kernels)
        run = batched.gradient_descent(ws, ds.Z, loss, pol, a.steps, name)
        ref = run if ref is None else ref
        diff = max(float(np.max(np.abs(w[:k] - r)) / np.max(np.abs(r))) for w, r in zip(run.ws, ref.ws))
        B = len(ws[0])
        out["results"][f"batched {name}"] = {"seconds": run.seconds * a.batch / B, "runs_timed": B,
                                             "run_steps_per_s": B * a.steps / run.seconds,
                                             "max_rel_diff_vs_batched_numpy": diff,
                                             "backend": backend.get(name).describe()}
        if name != "numpy":
            auto = autograd_seconds(ws0, ds.Z, 0.1, a.steps, backend.get(name))
            out["results"][f"batched {name}"]["autograd_seconds"] = auto
            out["results"][f"batched {name}"]["speedup_vs_autograd"] = auto / run.seconds
    base = out["results"]["numpy one-by-one (descent.py)"]["seconds"]
    for k, v in out["results"].items():
        v["speedup_vs_one_by_one"] = base / v["seconds"]
        print(f"{k:<34} {v['seconds']:9.3f} s  {v['run_steps_per_s']:12.0f} run-steps/s  x{v['speedup_vs_one_by_one']:.1f}"
              + (f"  diff {v['max_rel_diff_vs_batched_numpy']:.1e}" if "max_rel_diff_vs_batched_numpy" in v else "")
              + (f"  x{v['speedup_vs_autograd']:.1f} vs autograd" if "speedup_vs_autograd" in v else ""))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


def autograd_seconds(ws0, Z, eta: float, steps: int, be) -> float:
    """Wall seconds of plain PyTorch autograd GD on the same batch: mean softplus(-margin) per run,
    summed over runs (runs are independent), backward(), W -= eta * grad."""
    import torch

    ws = [be.asarray(w).clone().requires_grad_(True) for w in ws0]
    Zt = be.asarray(Z)
    with be.small_kernels():
        be.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            w = ws[0]
            for layer in ws[1:]:
                w = layer @ w
            torch.nn.functional.softplus(-(w[:, 0, :] @ Zt.T)).mean(dim=1).sum().backward()
            with torch.no_grad():
                for layer in ws:
                    layer -= eta * layer.grad
                    layer.grad = None
        be.synchronize()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
