"""Watch your own network: the paper's alignment predictions on any torch model while it trains
(`watch`), and on saved checkpoints (`aligncheck inspect`).

    mon = aligncheck.watch(model, every=10)        # or: with aligncheck.watch(model) as mon: ...
    for x, y in batches:
        loss(model(x), y).backward(); opt.step(); opt.zero_grad(); mon.step()
    mon.close()                                    # a final exact record (the `with` block does it)
    mon.history()                                  # pandas: step, layer, ||W||_2, ||W||_F, ratio, bound, ...
    mon.verdicts(), mon.controls()                 # theorems.model.Verdict lists
    mon.report("watch-report")                     # report.html (plots embedded), report.md, CSVs

Recording: dynamics.watch; judging: theorems.experiments.watch (Figure 3's rule); the report section
(`write_report`, also behind `aligncheck inspect --out` and `aligncheck alexnet`'s watch-<init>/ folders)
is written here with aligncheck.reporting's atomic files.  torch is imported only when a network is
watched or a checkpoint read.
"""
from __future__ import annotations

import json
import pickle
import re
import sys
import warnings
from pathlib import Path
from typing import NoReturn

import click

from dynamics.watch import Recorder


class Monitor(Recorder):
    """A dynamics.watch.Recorder that judges its history (theorems.experiments.watch)."""

    def verdicts(self) -> list:
        """theorems.model.Verdict per rule: WATCH-RATIO per layer; WATCH-ALIGN per adjacent pair when the
        layers are a bias-free linear chain; WATCH-MARGIN when data was given.  Status trend / fail /
        inconclusive (fewer than two records) / vacuous (a vector layer)."""
        from theorems.experiments.watch import verdicts

        return verdicts(self.history(), linear=self.linear_chain)

    def controls(self) -> list:
        """The negative controls (the untrained network: final := initial): each must be `fail`."""
        from theorems.experiments.watch import controls

        return controls(self.history(), linear=self.linear_chain)

    def report(self, out_dir: str | Path, title: str | None = None) -> dict[str, Path]:
        """Write the report section of this run into out_dir (created if needed; these files replaced,
        each whole or not at all): report.html (self-contained: the plots embedded), report.md with
        watch.png beside it, history.csv (`history()`), verdicts.csv (verdicts with their negative
        controls).  Returns {file name: path}."""
        history = self.history()
        linear = self.linear_chain
        devices = sorted({str(layer.weight.device) for layer in self.layers.values()})
        notes = [f"{type(self.model).__name__}, {len(self.layers)} dense layer(s) on {', '.join(devices)}, recorded every "
                 f"{self.every} step(s) ({self.steps} counted); "
                 + ("a bias-free linear chain: adjacent alignments judged" if linear else
                    "not a bias-free linear chain (biases or non-linear modules): ratios judged, alignments "
                    "recorded but not judged")]
        from theorems.experiments.watch import controls, verdicts

        return write_report(history, verdicts(history, linear), controls(history, linear), out_dir,
                            title=title or f"aligncheck watch: {type(self.model).__name__}", notes=notes)


def watch(model, every: int = 10, layers: list[str] | None = None, data=None, optimizer=None) -> Monitor:
    """Watch `model`'s dense layers (nn.Linear, forward order; `layers` names some): record now, then
    every `every` calls of `monitor.step()` (or optimizer steps, given `optimizer`).  `data` = (X, y) with
    y in {-1, +1}: also cos(w_prod, max-margin direction) (bias-free linear chain with one output only)."""
    return Monitor(model, every=every, layers=layers, data=data, optimizer=optimizer)


# ---- the report section (monitor.report, inspect --out, the alexnet command) ---------------------------

REPORT_FILES = ("report.html", "report.md", "watch.png", "history.csv", "verdicts.csv")
INTRO = ("Per dense layer W (rows = outputs): ||W||_2/||W||_F against its lower bound 1/sqrt(min(shape)) "
         "(Figure 3 of Ji & Telgarsky 2019: trained layers climb far above it), the stable rank "
         "||W||_F^2/||W||_2^2 (1 = rank one), and for adjacent layers the alignment |<v_{k+1}, u_k>| "
         "(Lemma 2.6 / Theorem 2.2: it tends to 1 on deep linear networks).")


def verdict_rows(found: list, caught: list) -> list[dict]:
    """The verdicts and their negative controls as table rows (one per verdict)."""
    rows = []
    for v, c in zip(found, caught):
        d = v.details
        rows.append({"rule": v.claim_id, "subject": v.run_id, "status": v.status, "initial": d.get("initial"),
                     "final": d.get("final"), "bound": d.get("bound"), "records": v.n_checked,
                     "negative_control": c.status,
                     "control_caught": None if c.status in ("vacuous", "inconclusive") else c.status == "fail",
                     "message": v.message})
    return rows


def _fmt(x) -> str:
    return "" if x is None or (isinstance(x, float) and x != x) else f"{x:.4g}" if isinstance(x, float) else str(x)


def _control_word(row: dict) -> str:
    return {True: "caught", False: "NOT CAUGHT", None: "n/a"}[row["control_caught"]]


def watch_figure(history, x_label: str = "step", title: str = ""):
    """The plots over steps: each layer's ratio (solid) with its lower bound (dashed, same colour); the
    stable rank (log scale); the alignment of adjacent layers; cos(w_prod, ubar) when recorded."""
    from matplotlib.figure import Figure

    layers = list(history["layer"].unique())
    paired = history[history["next_layer"].notna()]
    margin = history.drop_duplicates("step").dropna(subset=["margin_cos"])
    panels = ["ratio", "stable_rank"] + (["alignment"] if len(paired) else []) + (["margin"] if len(margin) else [])
    fig = Figure(figsize=(5.2 * len(panels), 4.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    colours = [f"C{i % 10}" for i in range(len(layers))]
    style = {"marker": "o", "ms": 3} if history["step"].nunique() <= 30 else {}
    for ax, panel in zip(axes, panels):
        if panel == "margin":
            ax.plot(margin["step"], margin["margin_cos"], color="black", **style)
            ax.set_ylim(-1.02, 1.02)
            ax.set_title(r"$\cos(w_{prod}, \bar u)$ (max-margin direction)", fontsize=10)
        for i, name in enumerate(layers):
            rows = history[history["layer"] == name].sort_values("step")
            if panel == "ratio":
                ax.plot(rows["step"], rows["ratio"], color=colours[i], label=f"{name} {rows['rows'].iloc[0]}x{rows['cols'].iloc[0]}", **style)
                ax.axhline(rows["lower_bound"].iloc[0], color=colours[i], ls="--", lw=0.9)
            elif panel == "stable_rank":
                ax.plot(rows["step"], rows["stable_rank"], color=colours[i], label=name, **style)
            elif panel == "alignment" and rows["next_layer"].notna().any():
                rows = rows[rows["next_layer"].notna()]
                ax.plot(rows["step"], rows["alignment"], color=colours[i], label=f"{name} -> {rows['next_layer'].iloc[-1]}", **style)
        if panel == "ratio":
            ax.set_ylim(0, 1.02)
            ax.set_title(r"$\|W\|_2/\|W\|_F$ (dashed: lower bound $1/\sqrt{\min(m,n)}$)", fontsize=10)
        elif panel == "stable_rank":
            ax.set_yscale("log")
            ax.set_title(r"stable rank $\|W\|_F^2/\|W\|_2^2$", fontsize=10)
        elif panel == "alignment":
            ax.set_ylim(0, 1.02)
            ax.set_title(r"alignment $|\langle v_{k+1}, u_k\rangle|$", fontsize=10)
        ax.set_xlabel(x_label)
        if panel != "margin":
            ax.legend(fontsize=7, ncol=1 + len(layers) // 12)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def write_report(history, found: list, caught: list, out_dir: str | Path, *, title: str = "aligncheck watch",
                 notes: list[str] = (), x_label: str = "step") -> dict[str, Path]:
    """The report section of a watched history (dynamics.watch.COLUMNS, plus optional columns such as
    `checkpoint`) with its verdicts and negative controls (theorems.experiments.watch), into out_dir:
    REPORT_FILES, each written whole or not at all (aligncheck.reporting.files).  Offline: report.html
    embeds the figure; report.md links watch.png beside it."""
    import base64
    import html
    import io

    from theorems.experiments.watch import ALIGN_RULE, MARGIN_RULE, RULE

    from .reporting.files import atomic, write_atomic
    from .reporting.html import colour, text_colour

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    watch_figure(history, x_label, title).savefig(buf, format="png", dpi=100)
    png = buf.getvalue()
    rows = verdict_rows(found, caught)
    paths = {"watch.png": write_atomic(out / "watch.png", png)}
    with atomic(out / "history.csv") as tmp:
        history.to_csv(tmp, index=False)
    paths["history.csv"] = out / "history.csv"
    import pandas as pd

    with atomic(out / "verdicts.csv") as tmp:
        pd.DataFrame(rows, columns=["rule", "subject", "status", "initial", "final", "bound", "records",
                                    "negative_control", "control_caught", "message"]).to_csv(tmp, index=False)
    paths["verdicts.csv"] = out / "verdicts.csv"

    steps = sorted(history["step"].unique()) if len(history) else []
    last = history[history["step"] == steps[-1]] if steps else history
    rules = [("WATCH-RATIO", RULE), ("WATCH-ALIGN", ALIGN_RULE), ("WATCH-MARGIN", MARGIN_RULE)]
    used = {r["rule"] for r in rows}
    final_cols = ["layer", "rows", "cols", "spectral_norm", "frobenius_norm", "ratio", "lower_bound", "stable_rank",
                  "next_layer", "alignment"]
    span = f"{len(steps)} record(s), {x_label} {steps[0]} to {steps[-1]}" if steps else "no records"

    md = [f"## {title}", "", INTRO, "", *[f"- {n}" for n in notes], f"- {span}", "", "![watch](watch.png)", "",
          "Rules (`trend` when met, `fail` when not, `inconclusive` with fewer than two records, `vacuous` for a "
          "vector layer); negative control: the same rule on the untrained network (final := initial) must fail.", ""]
    md += [f"- `{rid}`: {text}" for rid, text in rules if rid in used] + ["",
           "| rule | layer | status | initial | final | bound | negative control |", "|---|---|---|---|---|---|---|"]
    md += [f"| {r['rule']} | `{r['subject']}` | {r['status']} | {_fmt(r['initial'])} | {_fmt(r['final'])} | "
           f"{_fmt(r['bound'])} | {_control_word(r)} |" for r in rows]
    md += ["", f"Last record ({x_label} {steps[-1] if steps else '-'}):", "",
           "| " + " | ".join(final_cols) + " |", "|" + "---|" * len(final_cols)]
    md += ["| " + " | ".join(_fmt(v) for v in rec) + " |" for rec in last[final_cols].itertuples(index=False)]
    md += ["", "Files: `history.csv` (every record), `verdicts.csv` (verdicts and negative controls)."]
    paths["report.md"] = write_atomic(out / "report.md", "\n".join(md) + "\n")

    e = html.escape
    badge = lambda s: (f'<span class="st" style="background:{colour(s)};color:{text_colour(s)}">{e(s)}</span>')
    verdict_html = "".join(
        f"<tr><td><code>{e(r['rule'])}</code></td><td><code>{e(str(r['subject']))}</code></td><td>{badge(r['status'])}</td>"
        f"<td class=num>{_fmt(r['initial'])}</td><td class=num>{_fmt(r['final'])}</td><td class=num>{_fmt(r['bound'])}</td>"
        f"<td>{e(_control_word(r))}</td><td>{e(r['message'])}</td></tr>" for r in rows)
    last_html = "".join("<tr>" + "".join(f"<td{' class=num' if isinstance(v, float) else ''}>{e(_fmt(v))}</td>"
                                         for v in rec) + "</tr>" for rec in last[final_cols].itertuples(index=False))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1180px; padding: 1em 1.5em 3em; color: #1c1c1c }}
table {{ border-collapse: collapse; margin: 0.6em 0; font-size: 13.5px }} th, td {{ border: 1px solid #d5d5d5; padding: 3px 7px; text-align: left; vertical-align: top }}
th {{ background: #f0f0ec }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap }}
.st {{ display: inline-block; padding: 1px 7px; border-radius: 4px; font-weight: 600; font-size: 12.5px }}
img {{ max-width: 100%; height: auto; border: 1px solid #eee }} .muted {{ color: #666 }}
</style></head><body>
<h2>{e(title)}</h2>
<p>{e(INTRO)}</p>
<ul>{"".join(f"<li>{e(n)}</li>" for n in notes)}<li>{e(span)}</li></ul>
<figure><img alt="ratios, stable ranks and alignments over {e(x_label)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"></figure>
<h3>Verdicts</h3>
<p>Rules (<b>trend</b> when met, <b>fail</b> when not, <b>inconclusive</b> with fewer than two records, <b>vacuous</b> for a vector layer);
negative control: the same rule on the untrained network (final := initial) must fail.</p>
<ul>{"".join(f"<li><code>{rid}</code>: {e(text)}</li>" for rid, text in rules if rid in used)}</ul>
<table><thead><tr><th>rule</th><th>layer</th><th>status</th><th>initial</th><th>final</th><th>bound</th><th>negative control</th><th>message</th></tr></thead>
<tbody>{verdict_html}</tbody></table>
<h3>Last record ({e(x_label)} {e(str(steps[-1]) if steps else "-")})</h3>
<table><thead><tr>{"".join(f"<th>{e(c)}</th>" for c in final_cols)}</tr></thead><tbody>{last_html}</tbody></table>
<p class="muted">Beside this page: <a href="history.csv">history.csv</a> (every record), <a href="verdicts.csv">verdicts.csv</a>, report.md.</p>
</body></html>
"""
    paths["report.html"] = write_atomic(out / "report.html", page)
    return {name: paths[name] for name in REPORT_FILES}


# ---- aligncheck inspect ---------------------------------------------------------------------------------

class Refused(ValueError):
    """A checkpoint that is not plain weights (its pickle names a callable)."""


def load_weights(path: str | Path) -> list:
    """The 2-D tensors (name, tensor) of a state_dict file in file order: torch.load with
    weights_only=True (a pickle naming any callable: Refused, nothing executed) or .safetensors."""
    import torch

    from dynamics.watch import dense_tensors

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise ValueError(f"{path}: reading .safetensors needs the safetensors package") from None
        return dense_tensors(load_file(str(path), device="cpu"))
    try:
        with warnings.catch_warnings():   # torch warns (many lines) about pickle protocols it will refuse anyway
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise Refused(f"{path}: refused: {_unpickling_reason(str(exc))}, not plain weights (nothing was "
                      "executed; save a state_dict)") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a torch checkpoint ({str(exc).splitlines()[0][:200]})") from None
    tensors = dense_tensors(state)
    if not tensors:
        raise ValueError(f"{path}: no 2-D weight tensors in it")
    return tensors


def _unpickling_reason(message: str) -> str:
    """torch's many-line weights_only refusal, as a few words: the callable it names, else its reason."""
    found = re.search(r"GLOBAL ([\w.]+)", message)
    if found:
        return f"its pickle names the callable {found.group(1)}"
    after = message.split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
    return f"its pickle is not a weights-only pickle ({after[0][:120] if after else 'unreadable'})"


def inspect_table(paths: list[str]):
    """The history table over a series of checkpoints (step = position in the series), exact values."""
    from dynamics.watch import frame, weights_table

    rows = []
    for i, p in enumerate(paths):
        rows += [dict(r, checkpoint=str(p)) for r in weights_table(load_weights(p), step=i)]
    return frame(rows).assign(checkpoint=[r["checkpoint"] for r in rows])


def _verdict_line(v) -> str:
    return f"  {v.claim_id} {v.run_id}: {v.status}; initial {v.details['initial']:.4g}, final {v.details['final']:.4g}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON (table, verdicts, controls)")
@click.option("--linear", is_flag=True,
              help="the checkpoints are of a bias-free linear network: judge the adjacent alignments too")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="also write the report section (report.html, report.md, watch.png, history.csv, verdicts.csv)")
def inspect_command(checkpoints: tuple[str, ...], as_json: bool, linear: bool, out_dir: str | None) -> None:
    """Dense layers of saved state_dicts (torch weights_only, .safetensors): ||W||_2, ||W||_F, ratio,
    lower bound, stable rank, adjacent alignment (where shapes chain); over a series, Figure 3's rule from
    first to last (state_dicts hold no activations: say --linear to judge the alignments too); --out DIR
    writes the same report section as `monitor.report(DIR)`, over the series."""
    try:
        import torch  # noqa: F401
    except ImportError:
        _fail("`inspect` needs torch: pip install 'aligncheck[torch]'")
    from theorems.experiments.watch import controls, verdicts

    try:
        table = inspect_table(list(checkpoints))
    except ValueError as exc:
        _fail(str(exc))
    names = table["layer"].unique()
    if len(checkpoints) > 1 and any(set(table[table["step"] == s]["layer"]) != set(names) for s in table["step"]):
        _fail("the checkpoints do not hold the same 2-D tensors; a series must be of one network")
    found, caught = verdicts(table, linear), controls(table, linear)
    if out_dir is not None:
        notes = [f"checkpoint {i}: {p}" for i, p in enumerate(checkpoints)]
        notes.append("judged as a bias-free linear network (--linear)" if linear else
                     "alignments recorded where shapes chain, not judged (state_dicts hold no activations; --linear)")
        try:
            written = write_report(table, found, caught, out_dir, title="aligncheck inspect: "
                                   + (Path(checkpoints[0]).name if len(checkpoints) == 1 else
                                      f"{len(checkpoints)} checkpoints"), notes=notes, x_label="checkpoint")
        except (ValueError, OSError) as exc:
            _fail(f"cannot write the report into {out_dir}: {exc}")
    if as_json:
        click.echo(json.dumps({"table": json.loads(table.to_json(orient="records")),
                               "verdicts": [v.row() for v in found], "controls": [c.row() for c in caught]},
                              indent=1))
        return
    cols = ["step", "layer", "rows", "cols", "spectral_norm", "frobenius_norm", "ratio", "lower_bound",
            "stable_rank", "alignment"]
    for i, p in enumerate(checkpoints):
        click.echo(f"[{i}] {p}")
    click.echo(table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if len(checkpoints) > 1:
        click.echo("verdicts (first -> last checkpoint):")
        for v, c in zip(found, caught):
            click.echo(_verdict_line(v) + ("" if v.status == "vacuous" else
                                           "; negative control " + ("caught" if c.status == "fail" else "NOT CAUGHT")))
    if out_dir is not None:
        click.echo(f"report: {written['report.html']}")


def _fail(msg: str) -> NoReturn:
    click.echo(f"aligncheck: error: {msg}", err=True)
    sys.exit(2)
