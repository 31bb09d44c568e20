"""Every picture of the report (matplotlib, headless): the paper's Figures 1, 2 and 3 redrawn from the
experiments' runs, and the slack plots of the claims.  Drawing only: the data comes from the Outcome
(or an experiment's result); nothing here simulates.

Only `matplotlib.figure.Figure` is used (never pyplot): no display, no global state.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dynamics.data import Dataset
from dynamics.trajectory import Snapshot
from theorems.experiments.figures import angle_deg, layer_map, principal_axes

BLUE, RED = "#1f5fbf", "#c8322d"
LAYER_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


def neg_log10_risk(snap: Snapshot) -> float:
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


def figure1a(fig1: tuple[Dataset, dict]) -> Figure:
    """Left: the data, the max-margin boundary and the final 1- and 4-layer boundaries.
    Right: the angle to the max-margin direction against the risk (convergence, not one endpoint)."""
    ds, runs = fig1
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


def figure1b(fig1: tuple[Dataset, dict]) -> Figure:
    """||W_i||_2 / ||W_i||_F of every layer of the 4-layer network against the risk."""
    _, runs = fig1
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

def figure2(fig2: tuple[Dataset, dict]) -> Figure:
    """(a) 1- and 3-layer boundaries; (b)-(d) the data mapped through W_1, W_2 W_1, W_3 W_2 W_1 on
    its principal axes, with u_i (top left singular vector of W_i) and v_{i+1} (top right of W_{i+1})."""
    ds, runs = fig2
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


def png_base64(fig: Figure, dpi: int = 90) -> str:
    """The figure as a data: URI payload (the HTML report embeds everything)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ---------------------------------------------------------------- slack plots

def slack_figure(claim_id: str, relation: str, ser: dict, run_label: str) -> Figure | None:
    """Top: both sides along the run; bottom: the slack (negative = violated), symlog.  Points beyond
    their tolerance (real violations) are marked red; `ser` is engine.evaluate.slack_series's output."""
    if ser is None or len(ser["x"]) < 2:  # a single point is in the table already
        return None
    fig = Figure(figsize=(7.5, 3.4))  # fixed margins: a layout engine costs more than the plot
    top, bot = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.92, bottom=0.13, hspace=0.08)
    rel = {"<=": r"$\leq$", ">=": r"$\geq$", "==": "="}[relation]
    top.plot(ser["x"], ser["lhs"], marker=".", ms=3, label="lhs")
    top.plot(ser["x"], ser["rhs"], marker=".", ms=3, label="rhs")
    # a set y skips matplotlib's title placement, which measures every tick label (a third of the report's time)
    top.set_title(f"{claim_id}: lhs {rel} rhs along {run_label}", fontsize=9, y=1.0)
    top.legend(fontsize=7)
    span = np.nanmax(np.abs(np.r_[ser["lhs"], ser["rhs"]]))
    if np.all(np.r_[ser["lhs"], ser["rhs"]] > 0) and span / max(np.nanmin(np.r_[ser["lhs"], ser["rhs"]]), 1e-300) > 1e3:
        top.set_yscale("log")
    bad = ser["slack"] < -ser["tol"]
    bot.plot(ser["x"], ser["slack"], lw=0.6, color="#777", marker=".", ms=3, mfc="#2a7f3f", mec="#2a7f3f")
    bot.plot(ser["x"][bad], ser["slack"][bad], ls="", marker="o", ms=3, color=RED, label="violated beyond tol")
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


def limit_figure(claim_id: str, details: dict, run_label: str) -> Figure | None:
    """A limit's quantity along its run against the threshold it must reach (log scale; exact zeros are
    drawn at the plot's floor)."""
    ser = details.get("series")
    if not ser or len(ser["t"]) < 2:
        return None
    t, g = np.asarray(ser["t"], float), np.asarray(ser["value"], float)
    positive = g[g > 0]
    floor = float(min(positive.min(), details["threshold"]) / 10) if positive.size else details["threshold"] / 10
    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.17)
    ax.plot(t, np.where(g > 0, g, floor), marker=".", ms=3, label=details.get("quantity", "quantity"))
    ax.axhline(details["threshold"], color=RED, ls="--", lw=1, label=f"threshold {details['threshold']:g}")
    ax.set_yscale("log")
    if t.max() > 10 and t.min() >= 0:
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("t (step, flow time, or risk-normalised time)", fontsize=8)
    ax.set_title(f"{claim_id} along {run_label}", fontsize=9, y=1.0)   # y: see slack_figure
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------- Figure 3

FIG3_CLAIMS = {"default": "FIG3a", "frobenius": "FIG3b"}


def figure3(result: dict) -> Figure:
    """Figure 3: per initialisation, ||W_i||_2/||W_i||_F of the dense layers (solid) with their lower
    bounds (dashed, same colour), and the risk (black, right axis), against SGD steps."""
    runs = result["runs"]
    fig = Figure(figsize=(6 * len(runs), 4.2), layout="constrained")
    axes = fig.subplots(1, len(runs), squeeze=False)
    colours = ["tab:blue", "tab:orange", "tab:green"]
    for ax, (kind, r) in zip(axes[0], runs.items()):
        ratio = list(zip(*r["ratio"]))
        for i, (series, lb, shape) in enumerate(zip(ratio, r["lower_bounds"], r["shapes"])):
            ax.plot(r["step"], series, color=colours[i], label=f"dense {i + 1} {shape[1]}x{shape[0]}")
            ax.axhline(lb, color=colours[i], ls="--", lw=1, label=f"lower bound {lb:.3f}")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("SGD step")
        ax.set_ylabel(r"$\|W_i\|_2/\|W_i\|_F$")
        risk_ax = ax.twinx()
        risk_ax.plot(r["step"], r["risk"], color="black", lw=1, label="risk (train CE)")
        risk_ax.set_ylabel("risk")
        risk_ax.set_ylim(bottom=0)
        label = "(a) PyTorch default init" if kind == "default" else "(b) dense layers Frobenius norm 4"
        ax.set_title(f"{FIG3_CLAIMS.get(kind, kind)} {label}", fontsize=10)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = risk_ax.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="center right")
    fig.suptitle(f"AlexNet dense-layer alignment: {result['data']}, width x{result['width_scale']}, "
                 f"{result['device']}", fontsize=9)
    return fig


FIGURES = {"fig1a": ("fig1", figure1a), "fig1b": ("fig1", figure1b), "fig2": ("fig2", figure2)}


def draw_figures(data: dict, out_dir: str | Path, dpi: int = 110) -> list[Path]:
    """Write fig1a.png, fig1b.png, fig2.png into out_dir from the experiments' runs
    (theorems.experiments.figures.figure_runs()); returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (key, draw) in FIGURES.items():
        path = out_dir / f"{name}.png"
        draw(data[key]).savefig(path, dpi=dpi)
        paths.append(path)
    return paths
