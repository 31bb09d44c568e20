"""`aligncheck regime`: reach the asymptotic regime of the paper fast and say how long it took.

Runs scale-invariant gradient descent (dynamics.compiled.regime: each layer moves by at most eps_t of its
Frobenius norm, eps_t = min(0.05, 0.1 angle(w_prod, ubar) + 0.02 / max_k ||W_k||_F), so the angle keeps
decreasing with the norm) on
the best engine available (numba if installed, else the numpy loop, several times slower) until, on every
layer, ||W_k||_2^2 / ||W_k||_F^2 >= 1 - rank target, <v_{k+1}, u_k>^2 >= 1 - align target, and
angle(w_prod, ubar) <= angle target; or until its time budget is spent.

Exit status: 0 every target reached; 1 the budget ran out (or the gradient vanished) first; 2 bad input.
"""
from __future__ import annotations

import json
import math
import sys
from typing import NoReturn

import click

MAX_PARAMETERS = 20_000_000     # weights of the network (160 MB of float64)
MAX_DATA = 2_000_000            # n * d entries of the data (the exact QP on n = 20000, d = 50: 0.2 s)
MAX_QP_DIM = 2_000              # min(n, d): the exact max-margin QP costs about min(n, d)^3


def _fail(msg: str) -> NoReturn:
    click.echo(f"aligncheck: error: {msg}", err=True)
    sys.exit(2)


def parse_targets(text: str | None) -> dict:
    """'rank=1e-6,angle=1e-4' -> {'rank': 1e-6, 'angle': 1e-4} (residuals: 1 - ratio, 1 - cos^2, radians)."""
    from dynamics.compiled import TARGETS

    out = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in TARGETS:
            raise ValueError(f"--targets: {part!r} is not NAME=VALUE with NAME one of {', '.join(TARGETS)}")
        try:
            v = float(value)
        except ValueError:
            raise ValueError(f"--targets: {key}={value.strip()!r} is not a number") from None
        if not (math.isfinite(v) and 0 < v < (math.pi if key == "angle" else 1)):
            bound = "pi" if key == "angle" else "1"
            raise ValueError(f"--targets: {key} must lie in (0, {bound}); got {value.strip()}")
        out[key] = v
    return out


def _problem(data_file, depth, width, dim, n, seed, init_scale, loss):
    """(Z, ws0, description) of the run: the user's data or random separable data (margin 0.1), Gaussian
    initialisation of scale init_scale made to satisfy Assumption 1.2 (R(W(0)) <= l(0))."""
    from dynamics import data, init

    if data_file is not None:
        if dim is not None or n is not None:
            raise ValueError("give --data or --dim/--n, not both (the data fixes d and n)")
        ds = data.load(data_file)
        source = str(data_file)
    else:
        dim, n = 20 if dim is None else dim, 100 if n is None else n
        source = None
    d_, n_ = (ds.d, ds.n) if data_file is not None else (dim, n)
    dims = (d_,) + (width,) * (depth - 1) + (1,)
    params = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    if params > MAX_PARAMETERS:
        raise ValueError(f"the network has {params:,} weights; at most {MAX_PARAMETERS:,} (lower --width or --depth)")
    if n_ * d_ > MAX_DATA:
        raise ValueError(f"the data has n * d = {n_ * d_:,} entries; at most {MAX_DATA:,}")
    if min(n_, d_) > MAX_QP_DIM:
        raise ValueError(f"min(n, d) = {min(n_, d_)} exceeds {MAX_QP_DIM}: the exact max-margin direction would "
                         f"take minutes to certify")
    if data_file is None:
        ds = data.random_separable(n, dim, 0.1, seed)
    ws0 = init.satisfy_a12(init.gaussian(dims, init_scale, seed), ds.Z, loss)
    return ds.Z, ws0, {"data": source or ds.name, "n": n_, "d": d_, "depth": depth, "width": width, "seed": seed,
                       "init_scale": init_scale}


@click.command("regime")
@click.option("--data", "data_file", type=click.Path(), default=None,
              help="your dataset (.csv with a 'y' column, or .npz with X and y) [default: random separable data]")
@click.option("--depth", type=click.IntRange(1, 64), default=4, show_default=True, help="L, the number of layers")
@click.option("--width", type=click.IntRange(1, 100_000), default=20, show_default=True, help="hidden widths")
@click.option("--dim", type=click.IntRange(1, 10_000_000), default=None, help="d of the random data  [default: 20]")
@click.option("--n", "n", type=click.IntRange(1, 100_000_000), default=None,
              help="points of the random data  [default: 100]")
@click.option("--seed", type=int, default=0, show_default=True, help="data and initialisation")
@click.option("--init-scale", type=click.FloatRange(min=0.0, min_open=True, max=10.0), default=0.1, show_default=True,
              help="Gaussian initialisation N(0, scale^2 / fan_in)")
@click.option("--loss", type=click.Choice(["logistic", "exp"]), default="logistic", show_default=True)
@click.option("--targets", default=None, metavar="NAME=V,...",
              help="residual targets, any of rank=1e-6 (1 - ||W_k||_2^2/||W_k||_F^2, every k), align=1e-6 "
                   "(1 - <v_{k+1}, u_k>^2, every k), angle=1e-3 (radians between w_prod and ubar)")
@click.option("--engine", type=click.Choice(["auto", "numba", "numpy"]), default="auto", show_default=True,
              help="auto: numba if installed (pip install 'aligncheck[fast]'), else numpy")
@click.option("--max-seconds", type=click.FloatRange(min=0.0, min_open=True, max=86_400.0), default=60.0,
              show_default=True, help="time budget of the descent (compiling the engine, about 5 s once per "
                                      "checkout, and certifying ubar come before it)")
@click.option("--json", "as_json", is_flag=True, help="print the result as one JSON object")
def regime_command(data_file, depth, width, dim, n, seed, init_scale, loss, targets, engine, max_seconds,
                   as_json) -> None:
    """Run gradient descent until the layers are rank one and aligned and w_prod points at the max-margin
    direction (targets adjustable); print how long each took.

    \b
    Exit status: 0 every target reached; 1 the time budget ran out (or the gradient vanished) first;
                 2 bad input."""
    from dynamics import compiled, geometry, losses

    try:
        want = parse_targets(targets)
        name = compiled.resolve(engine)
        lo = losses.get(loss)
        Z, ws0, problem = _problem(data_file, depth, width, dim, n, seed, init_scale, lo)
        mm = geometry.max_margin(Z)
        out = compiled.regime(ws0, Z, lo, mm.ubar, targets=want, engine=name, max_seconds=max_seconds)
    except (ValueError, OSError) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    out["final"]["gamma"] = float(mm.gamma)
    out["problem"] = dict(problem, loss=loss)
    reached = out["stop"] == "targets reached"
    if as_json:
        click.echo(json.dumps(out))
    else:
        load = f"; loading the compiled kernel took {out['compile_seconds']:.2g} s" if out["engine"] == "numba" else ""
        click.echo(f"engine {out['engine']}: {out['stop']} after {out['steps']:,} steps in {out['seconds']:.3g} s "
                   f"({out['steps_per_second']:,.0f} steps/s{load})")
        for key in compiled.TARGETS:
            when = out["seconds_to"][key]
            at = f"{when:.3g} s (step {out['steps_to'][key]:,})" if when is not None else "not reached"
            value = out["final"]["angle" if key == "angle" else key + "_residual"]
            click.echo(f"  {key:<6} {'' if key == 'angle' else 'residual '}{value:.3g} (target {out['targets'][key]:g}): {at}")
        f = out["final"]
        click.echo(f"  max ||W_k||_F {max(f['fro']):.4g}, log risk {f['log_risk']:.4g}, normalised margin "
                   f"{f['normalised_margin']:.6g} (gamma {f['gamma']:.6g})")
    sys.exit(0 if reached else 1)
