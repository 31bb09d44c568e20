"""FIG3a / FIG3b: the AlexNet dense-layer alignment experiment of Figure 3, its driver, its figure and
the `aligncheck alexnet` command (wired into theorems/cli.py as `main.add_command(alexnet_command)`).

Each initialisation (FIG3a: PyTorch default; FIG3b: dense layers Gaussian with Frobenius norm 4) is
trained by SGD; the log holds the risk and ||W_i||_2/||W_i||_F of the three dense layers.  The figure
draws, per initialisation, the ratios against the step with their lower bounds 1/sqrt(min(shape))
dashed in the same colour, and the risk on a second axis.  Verdict: the paper's claim is that the
ratios end "much larger" than their lower bounds; we report final ratio / lower bound per layer and
status "experiment" (no pass/fail: the paper states no threshold).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

CLAIMS = {"default": "FIG3a", "frobenius": "FIG3b"}
CPU_WIDTH = 0.125   # reduced width for the CPU default: dense 512 -> 512 -> 10 (x 1/8 of the paper's)


def run(data_dir=None, device="auto", epochs=None, width_scale=None, inits=("default", "frobenius"), seed=0,
        out_dir=None, max_steps=None, log_every=None, lr=0.05, dropout=0.0, progress=None) -> dict:
    """Train one AlexNet per initialisation; write alexnet.json and fig3.png to out_dir (if given).

    Defaults depend on the device: on CUDA the paper's width (1.0) and 30 epochs; on CPU width 0.125
    and 60 epochs on the stand-in (about 3 minutes on 2 cores).
    SGD with momentum 0.9, lr 0.05, batch 128, no dropout (dropout slowed the escape from the
    near-zero-output start on the stand-in; pass dropout=0.5 for the classic AlexNet head).
    """
    from dynamics import alexnet, cifar

    dev = alexnet.pick_device(device)
    if width_scale is None:
        width_scale = 1.0 if dev == "cuda" else CPU_WIDTH
    if epochs is None:
        epochs = 30.0 if dev == "cuda" else 60.0
    images = cifar.load(data_dir).standardised()
    runs = {}
    for kind in inits:
        runs[kind] = alexnet.train(images, init=kind, width_scale=width_scale, epochs=epochs, device=dev, seed=seed,
                                   max_steps=max_steps, lr=lr, dropout=dropout, progress=progress,
                                   log_every=log_every or _log_every(len(images), epochs, max_steps))
    result = {"data": images.name, "width_scale": width_scale, "device": dev, "runs": runs,
              "verdicts": verdicts(runs)}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "alexnet.json").write_text(json.dumps(result, indent=1))
        result["figure"] = str(plot(result, out / "fig3.png"))
    return result


def _log_every(n, epochs, max_steps, batch_size=128, points=150):
    total = max_steps or max(1, int(round(epochs * -(-n // batch_size))))
    return max(1, total // points)


def verdicts(runs: dict) -> list[dict]:
    """One row per claim: final ratios (exact, svdvals), lower bounds, their quotients, initial ratios."""
    rows = []
    for kind, r in runs.items():
        final = r["final_ratio_exact"]
        rows.append({
            "claim_id": CLAIMS.get(kind, kind), "status": "experiment", "init": kind,
            "final_ratio": final, "initial_ratio": r["ratio"][0], "lower_bound": r["lower_bounds"],
            "ratio_over_bound": [f / b for f, b in zip(final, r["lower_bounds"])],
            "final_risk": r["risk"][-1], "steps": r["steps"], "shapes": r["shapes"],
        })
    return rows


def plot(result: dict, path) -> Path:
    """Figure 3: per initialisation, ||W_i||_2/||W_i||_F of the dense layers (solid) with their lower
    bounds (dashed, same colour), and the risk (black, right axis), against SGD steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4.2), squeeze=False)
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
        ax.set_title(f"{CLAIMS.get(kind, kind)} {label}", fontsize=10)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = risk_ax.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="center right")
    fig.suptitle(f"AlexNet dense-layer alignment: {result['data']}, width x{result['width_scale']}, "
                 f"{result['device']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def load_result(out_dir) -> dict:
    """A finished run's result (alexnet.json) with the path of its figure, for the report."""
    out = Path(out_dir)
    result = json.loads((out / "alexnet.json").read_text())
    result["figure"] = str(out / "fig3.png")
    return result


def markdown(result: dict, figure_rel: str = "fig3.png") -> str:
    """The report section for Figure 3: which data and width produced it, the figure, a table."""
    lines = ["## Figure 3: AlexNet dense-layer alignment (FIG3a, FIG3b)", "",
             f"Data: {result['data']}. Width scale {result['width_scale']} "
             f"(dense shapes {next(iter(result['runs'].values()))['shapes']}); device {result['device']}.", "",
             f"![Figure 3]({figure_rel})", "",
             "A random matrix already sits above 1/sqrt(min(shape)) (about (sqrt(m)+sqrt(n))/sqrt(mn)), so the "
             "initial ratios are the baseline the alignment must rise from.", "",
             "| claim | init | steps | final risk | ratio / lower bound (dense 1, 2, 3) | final ratios | initial ratios "
             "| lower bounds |",
             "|---|---|---|---|---|---|---|---|"]
    for v in result["verdicts"]:
        f = lambda xs: ", ".join(f"{x:.3g}" for x in xs)  # noqa: E731
        lines.append(f"| {v['claim_id']} | {v['init']} | {v['steps']} | {v['final_risk']:.3g} | "
                     f"{f(v['ratio_over_bound'])} | {f(v['final_ratio'])} | {f(v['initial_ratio'])} | "
                     f"{f(v['lower_bound'])} |")
    return "\n".join(lines) + "\n"


@click.command("alexnet")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="folder with CIFAR-10's python batches (data_batch_1..5); default: the stand-in "
                   "(scikit-learn load_digits upsampled to 32x32x3, or generated images)")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--epochs", type=float, default=None, help="[default: 30 on CUDA, 60 on CPU]")
@click.option("--width-scale", type=float, default=None,
              help="multiplies channels and the dense width 4096 [default: 1 on CUDA, 0.125 on CPU]")
@click.option("--max-steps", type=int, default=None, help="stop after this many SGD steps (overrides --epochs)")
@click.option("--lr", type=float, default=0.05, show_default=True)
@click.option("--dropout", type=float, default=0.0, show_default=True, help="before the first two dense layers")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="output folder [default: reports/<timestamp>-alexnet]")
def alexnet_command(data_dir, device, epochs, width_scale, max_steps, lr, dropout, seed, out):
    """Figure 3: train AlexNet (two initialisations) and plot the dense layers' ||W||_2/||W||_F."""
    try:
        import torch  # noqa: F401
    except ImportError:
        click.echo("aligncheck: error: `alexnet` needs torch: pip install 'aligncheck[torch]'", err=True)
        sys.exit(2)
    from tqdm import tqdm

    out = Path(out) if out else Path("reports") / (time.strftime("%Y%m%d-%H%M%S") + "-alexnet")
    try:
        with tqdm(desc="alexnet", unit="step", file=sys.stderr, dynamic_ncols=True) as bar:
            result = run(data_dir, device, epochs, width_scale, seed=seed, out_dir=out, max_steps=max_steps,
                         lr=lr, dropout=dropout, progress=bar.update)
    except (ValueError, OSError) as exc:
        click.echo(f"aligncheck: error: {exc}", err=True)
        sys.exit(2)
    (out / "fig3.md").write_text(markdown(result))
    click.echo(f"figure: {result['figure']}")
    click.echo(f"data: {result['data']}; width x{result['width_scale']}; device {result['device']}")
    for v in result["verdicts"]:
        click.echo(f"  {v['claim_id']} ({v['init']}): final ratios "
                   + ", ".join(f"{r:.3f} (bound {b:.3f})" for r, b in zip(v["final_ratio"], v["lower_bound"]))
                   + f"; risk {v['final_risk']:.3g}")


if __name__ == "__main__":  # python -m theorems.alexnet ... (before the command is wired into the CLI)
    alexnet_command()
