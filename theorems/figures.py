"""The paper's Figures 1 and 2 redrawn, and the slack plots of the report (matplotlib, headless).

Figures use the project's simulator (dynamics.descent.gradient_descent with scale-invariant
`Relative` steps, which reach risks of 1e-100 in a few hundred steps) and the certified
max-margin direction of dynamics.geometry.  Slack plots recompute a claim's two sides along one
representative run of the report: `dynamics.runs.simulate` is cached, so after `verify` this
costs no new simulation.

Only `matplotlib.figure.Figure` is used (never pyplot): no display, no global state.
"""
from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

import click
import numpy as np
from matplotlib.figure import Figure

from dynamics import descent, figure_data, init, losses

BLUE, RED = "#1f5fbf", "#c8322d"
LAYER_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


# ---------------------------------------------------------------- simulation (one code path)

def descend(ds, hidden: tuple, eps: float = 0.02, steps: int = 450, seed: int = 1, scale: float = 0.7,
            loss: str = "logistic"):
    """Gradient descent with Relative(eps) steps from a Gaussian init (Assumption 1.2 repaired).

    Relative steps grow like ||W||/||grad R||, so a run taken too far overflows eta^2 in the GD
    sums; we then retry with 10% fewer steps (the final state is still far into the asymptotic regime).
    """
    lo = losses.get(loss)
    ws0 = init.satisfy_a12(init.gaussian((ds.d,) + tuple(hidden) + (1,), scale, seed), ds.Z, lo)
    while True:
        try:
            return descent.gradient_descent(ws0, ds.Z, lo, descent.Relative(eps), steps, checkpoints=40)
        except OverflowError:
            steps = int(steps * 0.9)


@lru_cache(maxsize=1)
def figure1_runs():
    """Figure 1: 2-D separable blobs; a 1-layer (linear predictor) and a 4-layer network (widths 3)."""
    ds = figure_data.separable_blobs(n=40, margin=0.15, seed=1)
    return ds, {1: descend(ds, (), steps=420), 4: descend(ds, (3, 3, 3), steps=160)}


@lru_cache(maxsize=1)
def figure2_runs():
    """Figure 2: two circles; a 1-layer and a 3-layer network (widths 3, so every layer has 2 principal axes)."""
    ds = figure_data.two_circles()
    return ds, {1: descend(ds, (), steps=420), 3: descend(ds, (3, 3), steps=300)}


def angle_deg(w: np.ndarray, ubar: np.ndarray) -> float:
    """Angle between the predictor direction and the max-margin direction, in degrees."""
    c = float(w @ ubar / np.linalg.norm(w))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def neg_log10_risk(snap) -> float:
    return -snap.log_risk / np.log(10)


def _risk_axis(ax):
    """x = -log10 R on a log scale, labelled with the risk itself: the risk falls over 100+ decades,
    and a log of its exponent shows the early phase and the asymptotic one alike."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    ax.xaxis.set_major_locator(FixedLocator([0.3, 1, 3, 10, 30, 100, 300]))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: r"$10^{-%g}$" % v if v >= 1 else f"{10 ** -v:.2g}"))
    ax.set_xlabel(r"risk $\mathcal{R}(W)$ (log of its exponent; training progress $\rightarrow$)")


# ---------------------------------------------------------------- Figure 1

def _boundary(ax, w, lim, **kw):
    """The decision boundary {x: <w, x> = 0} through the origin."""
    d = np.array([-w[1], w[0]]) / np.linalg.norm(w)
    ax.plot([-lim * d[0], lim * d[0]], [-lim * d[1], lim * d[1]], **kw)


def _scatter(ax, ds):
    pos = ds.y > 0
    ax.scatter(*ds.X[pos].T, s=14, c=BLUE, label="positive")
    ax.scatter(*ds.X[~pos].T, s=14, c=RED, label="negative")
    ax.scatter(*ds.X[ds.max_margin.support].T, s=60, facecolors="none", edgecolors="k", lw=0.8,
               label="support vectors")
    ax.set_aspect("equal")
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)


def _boundaries_panel(ax, ds, runs, title):
    _scatter(ax, ds)
    ubar = ds.max_margin.ubar
    _boundary(ax, ubar, 1.5, color="k", lw=3.5, alpha=0.25, label=r"max margin $\bar u^\perp$")
    styles = {1: dict(color="#444", lw=1.2, ls="--"), 3: dict(color="#2ca02c", lw=1.2, ls=":"),
              4: dict(color="#2ca02c", lw=1.2, ls=":")}
    for L, traj in runs.items():
        w = traj.snapshots[-1].w_prod
        _boundary(ax, w, 1.5, label=f"{L}-layer ({angle_deg(w, ubar):.2g}° from $\\bar u$)", **styles[L])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best", framealpha=0.6)


def figure1a() -> Figure:
    """Left: the data, the max-margin boundary and the final 1- and 4-layer boundaries.
    Right: the angle to the max-margin direction against the risk (convergence, not one endpoint)."""
    ds, runs = figure1_runs()
    fig = Figure(figsize=(10, 4.4), layout="constrained")
    a, b = fig.subplots(1, 2)
    _boundaries_panel(a, ds, runs, "(1a) decision boundaries at the end of training")
    for (L, traj), style in zip(runs.items(), ("--", ":")):
        x = [neg_log10_risk(s) for s in traj.snapshots]
        y = [max(angle_deg(s.w_prod, ds.max_margin.ubar), 1e-6) for s in traj.snapshots]
        b.loglog(x, y, style, marker=".", label=f"{L}-layer")
    _risk_axis(b)
    b.set_ylabel(r"angle$(w_{\mathrm{prod}}, \bar u)$ in degrees")
    b.set_title("directions converge to the max-margin one", fontsize=10)
    b.legend(fontsize=8)
    b.grid(alpha=0.3)
    return fig


def figure1b() -> Figure:
    """||W_i||_2 / ||W_i||_F of every layer of the 4-layer network against the risk."""
    _, runs = figure1_runs()
    traj = runs[4]
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    x = [neg_log10_risk(s) for s in traj.snapshots]
    ratios = np.array([s.sigma / s.fro for s in traj.snapshots])
    for i in range(ratios.shape[1]):
        ax.semilogx(x, ratios[:, i], marker=".", color=LAYER_COLOURS[i], label=f"layer {i + 1}")
    _risk_axis(ax)
    ax.set_ylabel(r"$\|W_i\|_2 \,/\, \|W_i\|_F$")
    ax.set_ylim(min(0.5, ratios.min() - 0.05), 1.02)
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_title("(1b) each layer becomes rank one (4-layer network)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------- Figure 2

def principal_axes(M: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Orthonormal principal axes (rows) of the mapped data M (n x d), uncentred: the data lies on
    a subspace through the origin, span(u_i) asymptotically.  Axis 1 is signed to agree with `anchor`."""
    _, _, vt = np.linalg.svd(M, full_matrices=False)
    axes = vt[: min(2, len(vt))].copy()
    if axes[0] @ anchor < 0:
        axes[0] *= -1
    return axes


def layer_map(ws, i: int) -> np.ndarray:
    """W_i ... W_1 (i >= 1)."""
    P = ws[0]
    for w in ws[1:i]:
        P = w @ P
    return P


def figure2_metrics() -> list[dict]:
    """Per layer i of the 3-layer network at the end: the flatness of the mapped data
    (sigma_2/sigma_1 of W_i...W_1 X) and |<v_{i+1}, u_i>|."""
    ds, runs = figure2_runs()
    s = runs[3].snapshots[-1]
    out = []
    for i in range(1, len(s.ws) + 1):
        M = ds.X @ layer_map(s.ws, i).T
        sv = np.linalg.svd(M, compute_uv=False)
        row = {"layer": i, "flatness": float(sv[1] / sv[0]) if len(sv) > 1 else 0.0}
        if i < len(s.ws):
            row["align"] = abs(float(s.triplets[i][2] @ s.triplets[i - 1][1]))
        out.append(row)
    return out


def figure2() -> Figure:
    """(a) 1- and 3-layer boundaries; (b)-(d) the data mapped through W_1, W_2 W_1, W_3 W_2 W_1 on
    its principal axes, with u_i (top left singular vector of W_i) and v_{i+1} (top right of W_{i+1})."""
    ds, runs = figure2_runs()
    s = runs[3].snapshots[-1]
    fig = Figure(figsize=(14, 3.7), layout="constrained")
    axs = fig.subplots(1, 4)
    _boundaries_panel(axs[0], ds, runs, "(2a) 1- and 3-layer boundaries")
    pos = ds.y > 0
    for i, ax in enumerate(axs[1:], start=1):
        M = ds.X @ layer_map(s.ws, i).T
        u_i = s.triplets[i - 1][1]
        axes = principal_axes(M, ds.y @ M)  # sign: positives to the right (the network's output sign)
        P = M @ axes.T
        scale = float(np.abs(P[:, 0]).max())
        P = P / scale  # unit extent along the first axis: flattening shows as a thin horizontal band
        y = P[:, 1] if P.shape[1] > 1 else np.zeros(len(P))
        ax.scatter(P[pos, 0], y[pos], s=10, c=BLUE)
        ax.scatter(P[~pos, 0], y[~pos], s=10, c=RED)
        title = f"(2{'abcd'[i]}) $" + "".join(f"W_{k}" for k in range(i, 0, -1)) + " x$"
        if len(u_i) > 1:  # singular vectors have arbitrary signs: draw the lines they span
            _span(ax, axes @ u_i, dict(color="k", lw=4, alpha=0.3), r"span $u_{%d}$" % i)
            if i < len(s.ws):
                v_next = s.triplets[i][2]
                deg = np.degrees(np.arccos(min(1.0, abs(float(v_next @ u_i)))))
                _span(ax, axes @ v_next, dict(color="#2ca02c", lw=1.4, ls="--"),
                      r"span $v_{%d}$ (%.2g° from $u_{%d}$)" % (i + 1, deg, i))
        sv = np.linalg.svd(M, compute_uv=False)
        flat = sv[1] / sv[0] if len(sv) > 1 else 0.0
        ax.set_title(title + f"\n$\\sigma_2/\\sigma_1$ = {flat:.1e}", fontsize=9)
        ax.set_xlim(-1.15, 1.15)
        ax.set_ylim(-0.6, 0.6)
        ax.set_aspect("equal")
        ax.axhline(0, color="#bbb", lw=0.5, zorder=0)
        ax.set_xlabel("principal axis 1")
        ax.set_ylabel("principal axis 2" if P.shape[1] > 1 else "(1-D output)")
        if len(u_i) > 1:
            ax.legend(fontsize=7, loc="upper left")
    return fig


def _span(ax, vec, style, label):
    """The line through the origin spanned by `vec` (given in principal-axis coordinates)."""
    v = np.asarray(vec, float)
    v = v / np.linalg.norm(v)
    ax.plot([-1.1 * v[0], 1.1 * v[0]], [-1.1 * v[1], 1.1 * v[1]], label=label, **style)


FIGURES = {"fig1a": figure1a, "fig1b": figure1b, "fig2": figure2}


def figure_facts() -> dict:
    """The numbers the figures show, for the report's text (final state of each run)."""
    ds1, r1 = figure1_runs()
    ds2, r2 = figure2_runs()
    ub1, ub2 = ds1.max_margin.ubar, ds2.max_margin.ubar
    last4 = r1[4].snapshots[-1]
    return {
        "FIG1a": {f"angle to ubar, {L}-layer (deg)": angle_deg(t.snapshots[-1].w_prod, ub1) for L, t in r1.items()}
        | {f"final risk, {L}-layer": float(np.exp(t.snapshots[-1].log_risk)) for L, t in r1.items()},
        "FIG1b": {f"||W_{i + 1}||_2/||W_{i + 1}||_F (first -> last)":
                  f"{r1[4].snapshots[0].sigma[i] / r1[4].snapshots[0].fro[i]:.4f} -> {last4.sigma[i] / last4.fro[i]:.6f}"
                  for i in range(len(last4.ws))},
        "FIG2": {f"angle to ubar, {L}-layer (deg)": angle_deg(t.snapshots[-1].w_prod, ub2) for L, t in r2.items()}
        | {f"layer {m['layer']}: sigma2/sigma1 of mapped data": m["flatness"] for m in figure2_metrics()}
        | {f"|<v_{m['layer'] + 1}, u_{m['layer']}>|": m["align"] for m in figure2_metrics() if "align" in m},
    }


EXPERIMENTS = {  # CLAIMS.md rows of the experiments redrawn here: (paper reference, statement)
    "FIG1a": ("Figure 1a", "1-layer and 4-layer linear networks on 2-D separable data converge to the same "
                           "max-margin predictor"),
    "FIG1b": ("Figure 1b", "||W_i||_2/||W_i||_F -> 1 on every layer, plotted against the risk"),
    "FIG2": ("Figure 2", "two circles, 3 layers: data mapped through layers flattens onto span(u_i); "
                         "v_{i+1} follows u_i"),
}


def experiment_checks() -> dict:
    """{id: (ok, what was required)}: does the run move the way the caption says?  Limits, so the
    evidence is finite-time (status `trend` when met, `fail` when not)."""
    ds1, r1 = figure1_runs()
    ds2, r2 = figure2_runs()
    ub1 = ds1.max_margin.ubar
    ang = {L: [angle_deg(s.w_prod, ub1) for s in t.snapshots] for L, t in r1.items()}
    ratios = np.array([s.sigma / s.fro for s in r1[4].snapshots])
    half = len(ratios) // 2
    m2 = figure2_metrics()
    ang2 = [angle_deg(t.snapshots[-1].w_prod, ds2.max_margin.ubar) for t in r2.values()]
    return {
        "FIG1a": (all(a[-1] < 0.5 and a[-1] < 0.1 * max(a) for a in ang.values()),
                  "final angle to ubar < 0.5 deg and < 1/10 of the largest, for both depths"),
        "FIG1b": (bool(ratios[-1].min() > 0.98 and np.all(ratios[-1] >= ratios[half] - 1e-9)),
                  "final ||W_i||_2/||W_i||_F > 0.98 on every layer, and not below its mid-run value"),
        "FIG2": (bool(max(ang2) < 2.0 and m2[0]["flatness"] < 0.05 and m2[1]["flatness"] < m2[0]["flatness"]
                      and all(m["align"] > 0.999 for m in m2 if "align" in m)),
                 "both depths within 2 deg of ubar; sigma2/sigma1 of the mapped data < 0.05 and decreasing "
                 "with depth; |<v_{i+1}, u_i>| > 0.999"),
    }


def experiment_verdicts() -> list:
    """One Verdict per redrawn experiment, with the figure's numbers as details."""
    from ._claim import Verdict

    facts = figure_facts()
    out = []
    for cid, (ok, rule) in experiment_checks().items():
        n = sum(len(t.snapshots) for t in (figure1_runs() if cid != "FIG2" else figure2_runs())[1].values())
        out.append(Verdict(cid, "figure", "trend" if ok else "fail", n_checked=n,
                           message=("met: " if ok else "NOT met: ") + rule,
                           details={k: v for k, v in facts[cid].items()}))
    return out


def draw_all(out_dir, dpi: int = 110) -> list[Path]:
    """Write fig1a.png, fig1b.png, fig2.png into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in FIGURES.items():
        path = out_dir / f"{name}.png"
        make().savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def png_base64(fig: Figure, dpi: int = 90) -> str:
    """The figure as a data: URI payload (the HTML report embeds everything)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ---------------------------------------------------------------- slack plots

def _x_of(point, index: int) -> float:
    s = point[0] if isinstance(point, tuple) else point
    return float(s.t) if hasattr(s, "ws") else float(index)


def slack_series(claim, traj) -> dict | None:
    """lhs, rhs and slack (rhs - lhs for '<=', mirrored for '>=') at every checked point of `traj`,
    taking at each point the element of smallest slack (the binding layer / index)."""
    from .evaluate import _slack, points_of

    xs, lhs_, rhs_, sl = [], [], [], []
    for j, point in enumerate(points_of(claim, traj)):
        out = claim.sides(point, traj)
        if out is None:
            continue
        lhs, rhs = np.broadcast_arrays(np.asarray(out[0], float), np.asarray(out[1], float))
        if lhs.size == 0:
            continue
        slack = _slack(claim.relation, lhs, rhs)
        i = int(np.argmin(slack))
        xs.append(_x_of(point, j))
        lhs_.append(float(lhs.flat[i]))
        rhs_.append(float(rhs.flat[i]))
        sl.append(float(slack.flat[i]))
    if not xs:
        return None
    timed = claim.kind in ("snapshot", "step") and claim.points is None
    return {"x": np.array(xs), "lhs": np.array(lhs_), "rhs": np.array(rhs_), "slack": np.array(sl),
            "xlabel": ("gradient-descent step t" if traj.method == "gd" else "flow time t") if timed
            else "sample point"}


def slack_figure(claim, traj, run_label: str) -> Figure | None:
    """Top: both sides along the run; bottom: the slack (negative = violated), symlog."""
    ser = slack_series(claim, traj)
    if ser is None or len(ser["x"]) < 2:  # a single point is in the table already
        return None
    fig = Figure(figsize=(7.5, 3.4))  # fixed margins: a layout engine costs more than the plot
    top, bot = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.92, bottom=0.13, hspace=0.08)
    rel = {"<=": r"$\leq$", ">=": r"$\geq$", "==": "="}[claim.relation]
    top.plot(ser["x"], ser["lhs"], marker=".", ms=3, label="lhs")
    top.plot(ser["x"], ser["rhs"], marker=".", ms=3, label="rhs")
    top.set_title(f"{claim.id}: lhs {rel} rhs along {run_label}", fontsize=9)
    top.legend(fontsize=7)
    span = np.nanmax(np.abs(np.r_[ser["lhs"], ser["rhs"]]))
    if np.all(np.r_[ser["lhs"], ser["rhs"]] > 0) and span / max(np.nanmin(np.r_[ser["lhs"], ser["rhs"]]), 1e-300) > 1e3:
        top.set_yscale("log")
    bad = ser["slack"] < 0
    bot.plot(ser["x"], ser["slack"], lw=0.6, color="#777", marker=".", ms=3, mfc="#2a7f3f", mec="#2a7f3f")
    bot.plot(ser["x"][bad], ser["slack"][bad], ls="", marker="o", ms=3, color=RED)
    bot.axhline(0, color="k", lw=0.7)
    tiny = np.abs(ser["slack"][ser["slack"] != 0])
    bot.set_yscale("symlog", linthresh=float(max(tiny.min(), 1e-14)) if tiny.size else 1e-12)
    bot.set_ylabel("slack", fontsize=8)
    bot.set_xlabel(ser["xlabel"], fontsize=8)
    if ser["xlabel"] != "sample point" and ser["x"].max() > 10:
        bot.set_xscale("symlog", linthresh=1.0)
    bot.set_xlim(ser["x"].min(), ser["x"].max())  # symlog's margins would invent negative times
    for ax in (top, bot):
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------- command line

def _figures_cmd(out):
    paths = draw_all(out)
    for name, facts in figure_facts().items():
        click.echo(f"{name}: " + "; ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}"
                                          for k, v in facts.items()))
    for p in paths:
        click.echo(str(p))


command = click.Command(
    "figures", callback=_figures_cmd,
    help="Redraw the paper's Figures 1 and 2 (fig1a.png, fig1b.png, fig2.png) from the project's simulators.",
    params=[click.Option(["--out"], type=click.Path(file_okay=False), default="reports/figures",
                         show_default=True, help="directory for the PNG files")])
