"""`aligncheck sweep`: a grid of runs through verify's executors (this machine's processes, or a Dask cluster),
written as tables and plots.

    aligncheck sweep --depth 2,3,4 --width 4,8 --policy relative,a35 --seed 0,1 --out sweeps/small

The logic is theorems.run.sweep (one run per grid point; the claims checked on it; when alignment and the
max-margin angle reach their targets); this module parses the grid, writes the folder and prints a digest:

  points.csv   one row per grid point: the axes, when (t, norm) each target was reached, the final values,
               why the run stopped, the seconds, the spec (a RunSpec JSON: `aligncheck check ID --spec ...`)
  claims.csv   one row per claim: status counts over the grid, the tightest relative slack and where
  steps.png    t at the alignment and angle targets against depth and against width (medians over the rest)
  norms.png    the same for max_k ||W_k||_F at the targets
  sweep.json   the settings, the grid, the executor, the seconds
  sweep.md     the digest printed on stdout

Every file is written whole or not at all (aligncheck.reporting.files).  Exit status: 0 done; 1 a point could
not be simulated, or a claim (not a catalogued erratum) failed or errored on some point; 2 bad input (one line);
130 interrupted (nothing written).
"""
from __future__ import annotations

import io
import json
import math
import sys
import time
from pathlib import Path

import click

OUTPUTS = ("points.csv", "claims.csv", "steps.png", "norms.png", "sweep.json", "sweep.md")


def _fail(msg: str):
    click.echo(f"aligncheck: error: {msg}", err=True)
    sys.exit(2)


def _values(name: str, text: str, kind: type) -> tuple:
    """'2,3,4' -> (2, 3, 4) (a one-line ValueError names the option and the bad item)."""
    items = [t.strip() for t in text.split(",")]
    if not items or any(t == "" for t in items):
        raise ValueError(f"--{name} takes a comma-separated list, e.g. --{name} {'2,3' if kind is int else 'a,b'}; "
                         f"got {text!r}")
    if kind is str:
        return tuple(items)
    try:
        return tuple(int(t) for t in items)
    except ValueError:
        raise ValueError(f"--{name} takes integers separated by commas; got {text!r}") from None


def _table(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame(rows)


def _medians(points, x: str, line: str, column: str):
    """{label: (xs, medians of column over the other axes)}, one line per value of `line` (and of the policy,
    when the grid has several: steps of different policies are not comparable); points that never reached
    the target are left out."""
    out = {}
    reached = points[points[column].notna()]
    keys = [line] + (["policy"] if points["policy"].nunique() > 1 else [])
    for key, group in reached.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        med = group.groupby(x, sort=True)[column].median()
        label = f"{line} {key[0]}" + (f", {key[1]}" if len(key) > 1 else "")
        out[label] = (med.index.to_numpy(), med.to_numpy())
    return out


def _plot(points, what: str, ylabel: str) -> bytes:
    """Two rows (against depth, against width) x two columns (alignment, angle) of `what` (t or norm)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7.5), constrained_layout=True)
    axes = fig.subplots(2, 2)
    for row, (x, line) in enumerate((("depth", "width"), ("width", "depth"))):
        for col, (target, title) in enumerate((("align", "alignment"), ("angle", "max-margin angle"))):
            ax = axes[row][col]
            column = f"{target}_{what}"
            missing = int(points[column].isna().sum())
            for label, (xs, ys) in _medians(points, x, line, column).items():
                ax.plot(xs, ys, marker="o", label=label)
            ax.set_xticks(sorted(points[x].unique()))
            ax.set_xlabel(x)
            ax.set_ylabel(ylabel)
            ax.set_yscale("log")
            ax.set_title(f"{title}" + (f" (not reached on {missing} of {len(points)} points)" if missing else ""),
                         fontsize=10)
            if ax.lines:
                ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _fmt(v) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.3g}"
    return str(v)


def digest(result, points, claims) -> str:
    """The markdown digest: settings, per-point targets, per-claim tightest slack."""
    s = result.settings
    lines = [f"# aligncheck sweep: {len(points)} points in {result.seconds:.1f} s ({result.executor})", "",
             f"targets: aligned when 1 - <v_(k+1), u_k>^2 <= {s.align:g} on every pair; max-margin direction when "
             f"angle(w_prod, ubar) <= {s.angle:g} rad; t and norm are those of the first kept snapshot past the "
             f"target ({s.checkpoints} kept per run).", "",
             "| point | depth | width | dim | n | loss | init | policy | seed | aligned at t | norm | "
             "angle reached at t | norm | final angle | stop |", "|" + "---|" * 15]
    for _, r in points.iterrows():
        if r["error"]:
            lines.append(f"| {r['point']} | " + " | ".join(str(r[a]) for a in
                         ("depth", "width", "dim", "n", "loss", "init", "policy", "seed")) + f" | {r['error']} |||||")
            continue
        lines.append("| " + " | ".join(_fmt(r[c]) for c in (
            "point", "depth", "width", "dim", "n", "loss", "init", "policy", "seed", "align_t", "align_norm",
            "angle_t", "angle_norm", "final_angle", "stop")) + " |")
    lines += ["", "| claim | paper | points | pass | fail | inconclusive | vacuous | error | tightest relative slack "
                  "| where |", "|" + "---|" * 10]
    for _, c in claims.iterrows():
        cid = c["claim_id"] + (" (erratum)" if c["erratum"] else "")
        lines.append("| " + " | ".join(_fmt(v) for v in (
            cid, c["paper_ref"], c["points"], c["n_pass"], c["n_fail"], c["n_inconclusive"], c["n_vacuous"],
            c["n_error"], c["tightest_rel_slack"], c["at"] or "-")) + " |")
    lines += ["", "![t at the targets against depth and width](steps.png)", "",
              "![norm at the targets against depth and width](norms.png)"]
    return "\n".join(lines) + "\n"


def write(result, out: Path, points_grid: list[dict]) -> str:
    """The folder's files (OUTPUTS), each written whole or not at all; returns the digest (sweep.md)."""
    from .reporting.files import write_atomic

    points, claims = _table(result.points), _table(result.claims)
    for col in ("align_t", "align_norm", "angle_t", "angle_norm", "final_t", "final_norm", "final_align_gap",
                "final_angle", "stop"):
        if col not in points:   # every point failed: the columns are still there
            points[col] = math.nan
    order = ["point", "depth", "width", "dim", "n", "loss", "init", "policy", "seed", "align_t", "align_norm",
             "angle_t", "angle_norm", "final_t", "final_norm", "final_align_gap", "final_angle", "stop", "seconds",
             "error", "spec"]
    points = points[order]
    text = digest(result, points, claims)
    write_atomic(out / "points.csv", points.to_csv(index=False))
    write_atomic(out / "claims.csv", claims.to_csv(index=False) if len(claims) else "claim_id\n")
    write_atomic(out / "steps.png", _plot(points, "t", "t at the target (gd steps; flow time)"))
    write_atomic(out / "norms.png", _plot(points, "norm", "max_k ||W_k||_F at the target"))
    write_atomic(out / "sweep.json", json.dumps({**result.describe(), "grid": points_grid}, indent=1))
    write_atomic(out / "sweep.md", text)
    return text


def _out_dir(out: str | None, overwrite: bool) -> Path:
    path = Path(out) if out else Path("reports") / (time.strftime("%Y%m%d-%H%M%S") + "-sweep")
    if path.exists() and not path.is_dir():
        _fail(f"--out {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        _fail(f"--out {path} is not empty: give --overwrite to write the sweep's files over it")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create --out {path}: {exc.strerror}")
    return path


@click.command("sweep")
@click.option("--depth", default="2,3", show_default=True, help="depths L (comma-separated), each >= 2")
@click.option("--width", default="4,8", show_default=True, help="hidden widths (every hidden layer the same)")
@click.option("--dim", default="3", show_default=True, help="data dimensions d")
@click.option("--n", "n_", default="20", show_default=True, help="numbers of data points")
@click.option("--loss", default="logistic", show_default=True, help="losses: logistic, exp")
@click.option("--init", "init_", default="gaussian", show_default=True,
              help="initialisations (gaussian, balanced, zero_first, ...; `aligncheck claims` lists none: see "
                   "dynamics/init.py)")
@click.option("--policy", default="relative", show_default=True,
              help="step policies: relative (scale-invariant steps, to --max-norm), a35 (Assumption 3.5), "
                   "constant (--eta), flow (gradient flow at geometric speed, to --max-norm)")
@click.option("--seed", "seeds", default="0", show_default=True, help="seeds (data and initialisation)")
@click.option("--steps", type=click.IntRange(min=1, max=10**7), default=20_000, show_default=True,
              help="gradient-descent steps at most")
@click.option("--max-norm", type=click.FloatRange(min=1.0, max=1e6, min_open=True), default=1e4, show_default=True,
              help="relative steps and the flow stop at max_k ||W_k||_F = this")
@click.option("--eta", type=float, default=None,
              help="relative: the fraction a layer moves per step [0.01]; constant: the step size [0.1]")
@click.option("--checkpoints", type=click.IntRange(min=2, max=10_000), default=80, show_default=True,
              help="snapshots kept per run: the resolution of the times at the targets")
@click.option("--margin", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=0.1,
              show_default=True, help="the random data's margin")
@click.option("--scale", type=click.FloatRange(min=0, max=1e3, min_open=True), default=0.5, show_default=True,
              help="the initialisation's scale")
@click.option("--align-target", type=float, default=1e-3, show_default=True,
              help="aligned when 1 - <v_(k+1), u_k>^2 <= this on every adjacent pair")
@click.option("--angle-target", type=float, default=1e-2, show_default=True,
              help="max-margin direction reached when angle(w_prod, ubar) <= this (radians)")
@click.option("--budget", type=float, default=60.0, show_default=True, help="seconds one run may take")
@click.option("--claim", "claims", multiple=True, help="check only these claims (repeatable) [default: every claim "
                                                      "checked on profile runs; limits are not]")
@click.option("--jobs", type=click.IntRange(min=1, max=1024), default=None,
              help="grid points run at once, each in its own process [default: this machine's cores]")
@click.option("--executor", "executor_kind", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local processes (--jobs), or a dask.distributed cluster (--scheduler; pip install "
                   "'aligncheck[dask]'; start its workers with --nthreads 1)")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="the dask scheduler, e.g. tcp://host:8786")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="output folder [default: reports/<timestamp>-sweep]")
@click.option("--overwrite", is_flag=True, help="--out may hold earlier files: they are replaced")
def sweep_command(depth, width, dim, n_, loss, init_, policy, seeds, steps, max_norm, eta, checkpoints, margin, scale,
                  align_target, angle_target, budget, claims, jobs, executor_kind, scheduler, out, overwrite) -> None:
    """Run a grid of runs (depth, width, dimension, n, loss, initialisation, step policy, seed) and report, per
    claim, its tightest relative slack across the grid and, per grid point, the time and norm at which the
    layers align and the predictor reaches the max-margin direction (tables and plots in --out)."""
    from tqdm import tqdm

    from theorems.run import sweep as sw
    from theorems.run.executor import make

    try:
        points = sw.grid(depth=_values("depth", depth, int), width=_values("width", width, int),
                         dim=_values("dim", dim, int), n=_values("n", n_, int), loss=_values("loss", loss, str),
                         init=_values("init", init_, str), policy=_values("policy", policy, str),
                         seed=_values("seed", seeds, int))
        settings = sw.Settings(steps=steps, max_norm=max_norm, eta=eta, checkpoints=checkpoints, margin=margin,
                               scale=scale, align=align_target, angle=angle_target, budget=budget,
                               claims=tuple(claims)).validate()
        for p in points:   # every spec validated before any run
            sw.spec_of(p, settings)
        runner = make(executor_kind, jobs, scheduler)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    folder = _out_dir(out, overwrite)
    click.echo(f"sweep: {len(points)} points on {runner.describe()}", err=True)
    try:
        with runner, tqdm(total=len(points), desc="sweep", unit="point", file=sys.stderr, dynamic_ncols=True) as bar:
            result = sw.sweep(points, settings, runner, progress=lambda row: bar.update(1))
    except KeyboardInterrupt:
        click.echo("aligncheck: sweep interrupted: nothing written", err=True)
        sys.exit(130)
    click.echo(write(result, folder, points), nl=False)
    click.echo(f"wrote {', '.join(OUTPUTS)} in {folder}")
    failed = [r["point"] for r in result.points if r["error"]]
    if failed:
        click.echo(f"  point(s) {failed} could not be simulated (points.csv, column error)", err=True)
    broken = [c["claim_id"] for c in result.claims if (c["n_fail"] and not c["erratum"]) or c["n_error"]]
    for cid in broken:
        click.echo(f"  FAIL or ERROR: {cid} (claims.csv)", err=True)
    sys.exit(1 if failed or broken else 0)
