"""`aligncheck problem --data F` on large problems, end to end (a fresh process: import, load, checks, max-margin
solve, support, alpha, thresholds).  Measures, asserts nothing; the target of issue 12 is under 5 s for each
of n = 50, d = 5000 and n = 20000, d = 50 on 2 cores.

python benchmarks/problem_size.py [--sizes 50x5000,20000x50] [--repeats 3] [--json out.json]

Data (`separable`): Gaussian rows on the unit sphere, labels y = sign(<u, x>) for a random unit u, every row moved by
0.05 y u (a margin) and scaled back into the unit ball; written as .npz to a temporary folder.  For n << d nearly
every row is a support vector and their projections span the data (so alpha's enumeration runs); for n >> d
there are at most d support vectors.  Reported per size: wall seconds (median and min over the
repeats), the CPU seconds of the process (user + system, median), the seconds of the same process importing
what `problem` imports and nothing else (so solve = wall - import, roughly), what was found (gamma, support
size, alpha, KKT residual) and the 1-minute load average before the runs (the machine may be shared: a load
above the core count inflates the wall time, not the CPU time).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

IMPORTS = "import aligncheck.cli, dynamics.data, theorems.claims._problem"


def timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the child, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), r


def separable(n: int, d: int, margin: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.where(X @ u >= 0, 1.0, -1.0)
    X += (margin * y)[:, None] * u
    X /= np.maximum(1.0, np.linalg.norm(X, axis=1, keepdims=True)) * (1 + 1e-12)
    return X, y


def measure(n: int, d: int, repeats: int, folder: Path) -> dict:
    X, y = separable(n, d)
    path = folder / f"n{n}_d{d}.npz"
    np.savez(path, X=X, y=y)
    load = os.getloadavg()[0]
    walls, cpus, info = [], [], None
    for _ in range(repeats):
        wall, cpu, r = timed([sys.executable, "-m", "aligncheck", "problem", "--data", str(path), "--json"])
        if r.returncode != 0:
            raise SystemExit(f"n={n}, d={d}: exit {r.returncode}: {r.stderr.strip()}")
        walls.append(wall)
        cpus.append(cpu)
        info = json.loads(r.stdout)
    imports = [timed([sys.executable, "-c", IMPORTS])[0] for _ in range(repeats)]
    return {"n": n, "d": d, "wall_median_s": statistics.median(walls), "wall_min_s": min(walls),
            "cpu_median_s": statistics.median(cpus), "import_median_s": statistics.median(imports),
            "gamma": info["gamma"], "n_support": len(info["support"]), "alpha": info["alpha"],
            "kkt_residual": info["kkt_residual"], "load_1min_before": load}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50x5000,20000x50", help="comma-separated n x d")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, d, a.repeats, Path(tmp)) for n, d in sizes]
    print(f"{'n':>6} {'d':>6} {'wall med':>9} {'wall min':>9} {'cpu med':>8} {'import':>7} {'|S|':>4} "
          f"{'gamma':>10} {'alpha':>10} {'kkt':>8} {'load':>5}   (seconds; {os.cpu_count()} cores)")
    for r in rows:
        print(f"{r['n']:>6} {r['d']:>6} {r['wall_median_s']:>9.2f} {r['wall_min_s']:>9.2f} {r['cpu_median_s']:>8.2f} "
              f"{r['import_median_s']:>7.2f} {r['n_support']:>4} {r['gamma']:>10.4g} {float(r['alpha']):>10.4g} "
              f"{r['kkt_residual']:>8.1e} {r['load_1min_before']:>5.1f}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
