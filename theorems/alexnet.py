"""FIG3a / FIG3b: the AlexNet dense-layer alignment experiment of Figure 3, its driver, its figure and
the `aligncheck alexnet` command (wired into theorems/cli.py as `main.add_command(alexnet_command)`).

Each initialisation (FIG3a: PyTorch default; FIG3b: dense layers Gaussian with Frobenius norm 4) is
trained by SGD; the log holds the risk and ||W_i||_2/||W_i||_F of the three dense layers.  The figure
draws, per initialisation, the ratios against the step with their lower bounds 1/sqrt(min(shape))
dashed in the same colour, and the risk on a second axis.

Verdict (RULE): the paper says the ratios end "much larger than their lower bounds".  A random matrix
already sits above 1/sqrt(min(shape)), so clearing the bound alone proves nothing; the check is that on
every dense layer the final ratio is above its lower bound AND above its initial (random-initialisation)
ratio, i.e. training raised the alignment.  Finite-time evidence of a limit-type statement: status
`trend` when met, `fail` when not.  Negative control: the same rule on the untrained network (final :=
initial ratios) must fail.  `aligncheck verify --alexnet DIR` puts these verdicts and the figure into
the report (plain JSON: no torch needed there).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

CLAIMS = {"default": "FIG3a", "frobenius": "FIG3b"}
EXPERIMENTS = {  # CLAIMS.md rows: (paper reference, statement), as theorems.figures.EXPERIMENTS
    "FIG3a": ("Figure 3a", "AlexNet on CIFAR-10, default PyTorch init: dense-layer ratios ||W_i||_2/||W_i||_F far "
                           "above 1/sqrt(min dim) (1024^-1/2, 4096^-1/2, 10^-1/2), plotted against the risk"),
    "FIG3b": ("Figure 3b", "the same with Gaussian init forcing initial Frobenius norm 4 on every dense layer"),
}
RULE = ("on every dense layer the final ||W_i||_2/||W_i||_F is above its lower bound 1/sqrt(min(shape)) and "
        "above its initial (random-initialisation) ratio: training raised the alignment")
CONTROL_NOTE = "the untrained network, final := initial ratios: it clears the bounds but must fail the rise"
HINT = "run `aligncheck alexnet --out DIR` (needs torch) then `aligncheck verify --alexnet DIR`"
RUN_KEYS = ("ratio", "lower_bounds", "final_ratio_exact", "shapes", "steps", "risk")  # what the check reads
CPU_WIDTH = 0.125   # reduced width for the CPU default: dense 512 -> 512 -> 10 (x 1/8 of the paper's)


def run(data_dir=None, device="auto", epochs=None, width_scale=None, inits=("default", "frobenius"), seed=0,
        out_dir=None, max_steps=None, log_every=None, lr=0.05, dropout=0.0, progress=None) -> dict:
    """Train one AlexNet per initialisation; write alexnet.json and fig3.png to out_dir (if given).

    Defaults depend on the device: on CUDA the paper's width (1.0) and 30 epochs; on CPU width 0.125
    and 60 epochs on the stand-in (about 25 s on 2 cores).
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
              "verdicts": verdicts(runs), "controls": controls(runs)}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "alexnet.json").write_text(json.dumps(result, indent=1))
        result["dir"], result["figure"] = str(out), str(plot(result, out / "fig3.png"))
    return result


def _log_every(n, epochs, max_steps, batch_size=128, points=150):
    total = max_steps or max(1, int(round(epochs * -(-n // batch_size))))
    return max(1, total // points)


def judge(final, initial, bounds) -> bool:
    """RULE on one network: every dense layer's final ratio above its lower bound and its initial ratio."""
    return all(f > b and f > i for f, i, b in zip(final, initial, bounds))


def _initial(r: dict) -> list:
    """Initial ratios: exact (svdvals) when the log has them; older logs: the step-0 power-iteration
    estimate (from below)."""
    return r.get("initial_ratio_exact", r["ratio"][0])


def _row(kind: str, r: dict, final) -> dict:
    initial, bounds = _initial(r), r["lower_bounds"]
    ok = judge(final, initial, bounds)
    return {
        "claim_id": CLAIMS.get(kind, kind), "status": "trend" if ok else "fail", "init": kind,
        "message": ("met: " if ok else "NOT met: ") + RULE,
        "final_ratio": list(final), "initial_ratio": initial, "lower_bound": bounds,
        "ratio_over_bound": [f / b for f, b in zip(final, bounds)],
        "final_over_initial": [f / i for f, i in zip(final, initial)],
        "final_risk": r["risk"][-1], "steps": r["steps"], "shapes": r["shapes"],
    }


def verdicts(runs: dict) -> list[dict]:
    """One row per claim: RULE on the final ratios (exact, svdvals) against the lower bounds and the
    initial ratios (exact too), with both quotients per layer."""
    return [_row(kind, r, r["final_ratio_exact"]) for kind, r in runs.items()]


def controls(runs: dict) -> list[dict]:
    """The negative control: RULE on the untrained network (final := initial ratios); must fail."""
    rows = [_row(kind, r, _initial(r)) for kind, r in runs.items()]
    return [dict(row, claim_id=row["claim_id"] + "~control",
                 message=f"NEGATIVE CONTROL ({CONTROL_NOTE}): {row['message']}") for row in rows]


def report_verdicts(result: dict) -> tuple[list, list]:
    """(verdicts, negative-control verdicts) as theorems._claim.Verdict for the verification report,
    with what produced them (data, width scale, device, steps) in the details."""
    from ._claim import Verdict

    def verdict(row):
        details = {"data": result["data"], "width scale": result["width_scale"], "device": result["device"],
                   "init": row["init"], "SGD steps": row["steps"], "final risk": row["final_risk"],
                   "dense shapes": ", ".join(f"{m}x{n}" for m, n in row["shapes"]),
                   "final ratio / lower bound": row["ratio_over_bound"],
                   "final ratio / initial ratio": row["final_over_initial"],
                   "final ratios": row["final_ratio"], "initial ratios": row["initial_ratio"],
                   "lower bounds": row["lower_bound"]}
        return Verdict(row["claim_id"], f"alexnet-{row['init']}", row["status"], n_checked=len(row["shapes"]),
                       message=row["message"], details=details)

    return [verdict(r) for r in result["verdicts"]], [verdict(r) for r in result["controls"]]


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
    """A finished run's result (alexnet.json) with the path of its figure, for the report; the verdicts
    are recomputed from the logged runs (older files said "experiment").  A folder that is not a
    finished `aligncheck alexnet` output raises ValueError with one line saying why."""
    out = Path(out_dir)
    path = out / "alexnet.json"
    if not out.is_dir():
        raise ValueError(f"alexnet folder {out} does not exist (write it with `aligncheck alexnet --out {out}`)")
    if not path.is_file():
        raise ValueError(f"no alexnet.json in {out}: not an `aligncheck alexnet` output folder")
    try:
        result = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    runs = result.get("runs") if isinstance(result, dict) else None
    if not isinstance(runs, dict) or not runs or not all(isinstance(r, dict) for r in runs.values()):
        raise ValueError(f"{path} is not an `aligncheck alexnet` result (no runs)")
    missing = [k for k in ("data", "width_scale", "device") if k not in result]
    missing += [f"runs.{kind}.{k}" for kind, r in runs.items() for k in RUN_KEYS if k not in r]
    if missing:
        raise ValueError(f"{path} is not an `aligncheck alexnet` result (missing {', '.join(missing)})")
    if not (out / "fig3.png").is_file():
        raise ValueError(f"no fig3.png in {out}: not a finished `aligncheck alexnet` output folder")
    result["verdicts"], result["controls"] = verdicts(runs), controls(runs)
    result["dir"], result["figure"] = str(out), str(out / "fig3.png")
    return result


def fmt_list(xs) -> str:
    """Per-layer numbers, three significant digits (tables of report.md, report.html, fig3.md)."""
    return ", ".join(f"{x:.3g}" for x in xs)


def markdown(result: dict, figure_rel: str = "fig3.png") -> str:
    """The report section for Figure 3: which data and width produced it, the figure, the rule, a table
    with each claim's status, and the negative control."""
    caught = all(c["status"] == "fail" for c in result["controls"])
    lines = ["## Figure 3: AlexNet dense-layer alignment (FIG3a, FIG3b)", "",
             f"Data: {result['data']}. Width scale {result['width_scale']} "
             f"(dense shapes {next(iter(result['runs'].values()))['shapes']}); device {result['device']}"
             + (f"; trained by `aligncheck alexnet --out {result['dir']}`." if "dir" in result else "."), "",
             f"![Figure 3]({figure_rel})", "",
             "A random matrix already sits above 1/sqrt(min(shape)) (about (sqrt(m)+sqrt(n))/sqrt(mn)), so the "
             "initial ratios are the baseline the alignment must rise from.", "",
             f"Rule (status `trend` when met, `fail` when not): {RULE}. Negative control ({CONTROL_NOTE}): "
             + ("caught (reported failing)." if caught else "**NOT CAUGHT**."), "",
             "| claim | status | init | steps | final risk | ratio / lower bound (dense 1, 2, 3) "
             "| final / initial ratio | final ratios | initial ratios | lower bounds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for v in result["verdicts"]:
        per_layer = (v[k] for k in ("ratio_over_bound", "final_over_initial", "final_ratio", "initial_ratio",
                                    "lower_bound"))
        lines.append(f"| {v['claim_id']} | {v['status']} | {v['init']} | {v['steps']} | {v['final_risk']:.3g} | "
                     + " | ".join(map(fmt_list, per_layer)) + " |")
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
    for v, c in zip(result["verdicts"], result["controls"]):
        click.echo(f"  {v['claim_id']} ({v['init']}): {v['status']}; final ratios "
                   + ", ".join(f"{r:.3f} (bound {b:.3f}, initial {i:.3f})"
                               for r, b, i in zip(v["final_ratio"], v["lower_bound"], v["initial_ratio"]))
                   + f"; risk {v['final_risk']:.3g}; negative control "
                   + ("caught" if c["status"] == "fail" else "NOT CAUGHT"))
    click.echo(f"rule: {RULE}")
    # like verify: a claim that fails (or a control that is not caught) is exit status 1
    sys.exit(1 if any(v["status"] == "fail" for v in result["verdicts"])
             or any(c["status"] != "fail" for c in result["controls"]) else 0)


if __name__ == "__main__":  # python -m theorems.alexnet ... (before the command is wired into the CLI)
    alexnet_command()
