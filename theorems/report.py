"""Outcome -> reports/<run-id>/: report.md, results.csv (one row per claim x run), summary.json."""
from __future__ import annotations

import csv
import json
import math
import shutil
import time
from pathlib import Path

from . import REGISTRY
from .catalogue import CATALOGUE
from .errata import ERRATA
from .verify import aggregate

COLUMNS = ("claim_id", "status", "run_id", "worst_slack", "lhs", "rhs", "tol", "where", "n_checked",
           "seconds", "message", "spec")
ICON = {"pass": "pass", "fail": "**FAIL**", "erratum": "*erratum*", "vacuous": "vacuous", "trend": "trend",
        "error": "**ERROR**", "not implemented": "not implemented", "not checked": "not checked"}


def reproduce_command(claim_id: str, spec: str) -> str:
    return f"aligncheck check {claim_id} --spec '{spec}'" if spec else f"aligncheck check {claim_id}"


def default_run_id(profile: str, seed: int) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{profile}-s{seed}"


def _status(cid: str, verdicts: list) -> str:
    """verify.aggregate; a registered claim without verdicts was left out of this run (--claim)."""
    return aggregate(cid, verdicts) if verdicts else "not checked"


def _experiment(cid: str) -> tuple[str, str, str]:
    """(paper reference, statement, negative-control note) of an experiment that is not a registered
    claim: Figures 1 and 2 (theorems.figures) or Figure 3 (theorems.alexnet)."""
    from . import alexnet
    from .figures import EXPERIMENTS

    if cid in alexnet.EXPERIMENTS:
        return (*alexnet.EXPERIMENTS[cid], alexnet.CONTROL_NOTE)
    return (*EXPERIMENTS.get(cid, ("", "")), "")


def _control(note: str, controls: list) -> dict | None:
    """The negative control's summary: caught when the same machinery reported it failing."""
    return {"note": note, "caught": any(v.status == "fail" for v in controls)} if controls else None


def summarise(outcome) -> dict:
    """{claim id: {status, worst_slack, n_runs, n_checked, ...}} for every catalogued or registered id."""
    from .alexnet import EXPERIMENTS as NEEDS_INPUT, HINT  # Figure 3 is checked from `aligncheck alexnet` output
    from .figures import EXPERIMENTS as REDRAWN           # Figures 1, 2: checked when the html report draws them

    out = {}
    for cid in list(CATALOGUE) + [c for c in REGISTRY if c not in CATALOGUE]:
        vs = [v for v in outcome.verdicts if v.claim_id == cid]
        controls = [v for v in outcome.controls if v.claim_id == cid + "~control"]
        claim = REGISTRY.get(cid)
        if claim is None and (vs or cid in NEEDS_INPUT or cid in REDRAWN):  # an experiment, not a registered claim
            ref, statement, note = _experiment(cid)
            out[cid] = {"status": _status(cid, vs), "worst_slack": None, "n_runs": len(vs),
                        "n_checked": sum(v.n_checked for v in vs), "kind": CATALOGUE.get(cid, "experiment"),
                        "ref": ref, "statement": statement, "control": _control(note, controls),
                        "runs_by_status": {s: sum(v.status == s for v in vs) for s in sorted({v.status for v in vs})}}
            if not vs and cid in NEEDS_INPUT:
                out[cid]["hint"] = HINT
            continue
        if claim is None:
            out[cid] = {"status": "not implemented", "worst_slack": None, "n_runs": 0, "n_checked": 0,
                        "kind": CATALOGUE[cid]}
            continue
        assumption = claim.assumption
        status = _status(cid, [v for v in vs if not (assumption and v.status == "fail")])
        slacks = [v.worst_slack for v in vs if v.worst_slack is not None and not (assumption and v.status == "fail")]
        out[cid] = {
            "status": status, "worst_slack": min(slacks) if slacks else None, "n_runs": len(vs),
            "n_checked": sum(v.n_checked for v in vs), "kind": claim.kind, "ref": claim.ref,
            "statement": claim.statement,
            "runs_by_status": {s: sum(v.status == s for v in vs) for s in sorted({v.status for v in vs})},
            "control": None if claim.control is None else _control(claim.control_note, controls),
        }
    return out


def _fmt(x, digits=3):
    return "" if x is None else f"{x:.{digits}g}"


def backend_note(p: dict) -> str:
    """Which backend stepped the gradient-descent runs, and how far its runs are from numpy's."""
    note = (f"gradient-descent steps on {p.get('backend', 'numpy')}; flows, counterexample hunts and every "
            "check in numpy float64")
    cc = p.get("device_crosscheck")
    if cc and cc["runs"]:
        worst = max(r["max_rel_diff"] for r in cc["runs"])
        note += (f"; {len(cc['runs'])} runs re-run on numpy: final weights within {worst:.1e} relative "
                 f"(tolerance 16·T·eps), {'agree' if cc['agree'] else '**DISAGREE**'}")
    return note


def method_notes() -> list[str]:
    """How the checks were made (shared by report.md and report.html)."""
    from . import evaluate

    tol = evaluate.__doc__.split("Tolerances (stated in the report):")[1].splitlines()
    return [
        "Every inequality is checked at every kept snapshot (log-spaced times, plus each kept step pair for "
        "per-step claims); the worst slack is the smallest (rhs - lhs) for `<=` (or its mirror).",
        "Tolerances: " + " ".join(line.strip() for line in tol),
        "Gradient flow: DOP853 (scipy solve_ivp), rtol 1e-10, atol 1e-12, time parametrisation unless stated.",
        "Gradient descent under Assumption 3.5: eta_t = min(1/beta(R_t), 1), R_0 = max_k ||W_k(0)||_F + 1, and "
        "when W(t+1) leaves B(R_t - 1), R_{t+1} = max_k ||W_k(t+1)||_F + 1 (the smallest radius allowed).",
        "Negative controls: each inequality's deliberately wrong variant is run through the same machinery on "
        "the same runs; `caught` means it was reported as failing.",
        "Slack plots (report.html): both sides recomputed along one representative run (the shrunk "
        "counterexample, else the run of smallest slack) with the same claim code.",
    ]


def figure3_markdown(alexnet: dict | None) -> list[str]:
    """The Figure 3 section: the `aligncheck alexnet` result's figure and table, or how to get them."""
    from . import alexnet as fig3

    if alexnet is not None:
        return [""] + fig3.markdown(alexnet, "fig3.png").splitlines()
    return ["", "## Figure 3: AlexNet dense-layer alignment (FIG3a, FIG3b)", "",
            f"Not checked in this run: {fig3.HINT}."]


def _markdown(outcome, summary, alexnet: dict | None = None) -> str:
    p = outcome.provenance
    counts = {}
    for row in summary.values():
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    lines = [
        "# aligncheck verification report",
        "",
        "Ji & Telgarsky (2019), *Gradient descent aligns the layers of deep linear networks*: every catalogued "
        "statement, checked on simulated runs (gradient flow and gradient descent) or proved.",
        "",
        f"- profile `{p['profile']}`, seed {p['seed']}, data: {p['data'] or 'generated'}; "
        f"{len(outcome.specs)} runs; {p.get('seconds', 0):.1f} s",
        f"- commit `{p['git_commit']}`" + (" with uncommitted changes" if p.get("git_dirty") else "")
        + f", Python {p['python']}, {p['platform']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in p["versions"].items() if v),
        f"- {backend_note(p)}",
        "- totals: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
        "",
        "Statuses: `pass` held at every checked point of every run; `fail` violated beyond its tolerance; "
        "`erratum` false as printed (the corrected claim is checked separately); `vacuous` hypotheses never met "
        "(never counted as a pass); `trend` limit, finite-time evidence only; `error` the check itself broke; "
        "`not checked` left out of this run (`--claim`, or Figure 3 without `--alexnet`).",
        "",
        "## Summary",
        "",
        "| claim | paper | kind | status | worst slack | runs | points checked | negative control |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cid, row in summary.items():
        ctrl = row.get("control")
        ctrl_txt = "" if not ctrl else ("caught" if ctrl["caught"] else "**NOT CAUGHT**")
        lines.append(f"| `{cid}` | {row.get('ref', '')} | {row['kind']} | {ICON[row['status']]} | "
                     f"{_fmt(row['worst_slack'])} | {row['n_runs']} | {row['n_checked']} | {ctrl_txt} |")
    bad = [c for c, r in summary.items() if r["status"] in ("fail", "erratum", "error")]
    if bad:
        lines += ["", "## Failures and errata", ""]
        for cid in bad:
            row = summary[cid]
            lines += [f"### `{cid}` — {ICON[row['status']]}", "", f"Statement: {row['statement']}", ""]
            if cid in ERRATA:
                lines += [f"Known erratum: {ERRATA[cid]}", ""]
            first = next((v for v in outcome.verdicts if v.claim_id == cid and v.status in ("fail", "error")), None)
            if first is not None:
                lines += [f"First failing run `{first.run_id}`: {first.message.splitlines()[0]}", ""]
            cx = outcome.counterexamples.get(cid)
            if cx is not None:
                lines += ["Shrunk counterexample (hypothesis):", "", f"- {cx.message}", "",
                          "```", reproduce_command(cid, cx.spec), "```", ""]
            elif first is not None and first.spec:
                lines += ["```", reproduce_command(cid, first.spec), "```", ""]
    vac = [(c, r) for c, r in summary.items() if r["status"] == "vacuous"]
    if vac:
        lines += ["", "## Vacuous claims (hypotheses never met)", ""]
        for cid, _ in vac:
            v = next(v for v in outcome.verdicts if v.claim_id == cid)
            lines.append(f"- `{cid}`: {v.message.splitlines()[0]}")
    unmet = [v for v in outcome.verdicts if REGISTRY.get(v.claim_id) and REGISTRY[v.claim_id].assumption
             and v.status == "fail"]
    if unmet:
        lines += ["", "## Assumptions not met on some runs (claims needing them are vacuous there)", ""]
        lines += [f"- `{v.claim_id}` on `{v.run_id}`: {v.message}" for v in unmet]
    missing = [c for c, r in summary.items() if r["status"] == "not implemented"]
    if missing:
        lines += ["", "## Not implemented yet", "", ", ".join(f"`{c}`" for c in missing)]
    lines += figure3_markdown(alexnet)
    lines += ["", "## How the checks were made", ""] + [f"- {m}" for m in method_notes()] + [
        "", "## Runs", "",
        "| run | spec |", "|---|---|",
    ]
    lines += [f"| `run{i:03d}` | `{s.to_json()}` |" for i, s in enumerate(outcome.specs)]
    return "\n".join(lines) + "\n"


FORMATS = ("csv", "jsonl", "parquet")  # the results table; CSV is always written


def _json_safe(x):
    """NaN/inf are not JSON: write them as strings, like the CSV does."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


def verdict_records(outcome):
    """One flat dict per verdict (negative controls flagged), the rows of every table format."""
    for v in outcome.verdicts:
        yield {**v.row(), "control": False}
    for v in outcome.controls:
        yield {**v.row(), "control": True}


def write_jsonl(outcome, fh) -> int:
    """The verdicts as JSON Lines (one object per line, stable keys, `details` kept): a stream other
    tools can consume line by line, e.g. `jq 'select(.status == "fail")'`."""
    n = 0
    for rec in verdict_records(outcome):
        fh.write(json.dumps(_json_safe(rec), default=str, sort_keys=True) + "\n")
        n += 1
    return n


def write_parquet(outcome, path) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("--format parquet needs pyarrow: pip install pyarrow") from None
    rows = [dict(r, details=json.dumps(_json_safe(r["details"]), default=str)) for r in verdict_records(outcome)]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return Path(path)


def _add_once(outcome, verdicts, controls=()) -> None:
    """Add experiment verdicts (and their controls) for the ids the outcome does not hold yet, so that
    writing the same outcome twice does not count an experiment twice."""
    have = {v.claim_id for v in outcome.verdicts} | {v.claim_id for v in outcome.controls}
    outcome.verdicts += [v for v in verdicts if v.claim_id not in have]
    outcome.controls += [v for v in controls if v.claim_id not in have]


def write(outcome, out_dir, formats=("csv", "jsonl"), html: bool = True, plots: bool = True,
          figures: bool = True, index: bool | None = None, alexnet: dict | None = None) -> Path:
    """Write the report into out_dir.  formats: results table formats beyond the CSV ("jsonl",
    "parquet"); html: report.html (with slack plots and the redrawn Figures 1 and 2 unless turned
    off); index: refresh <out_dir's parent>/index.html (default: when that parent is named "reports");
    alexnet: a finished `aligncheck alexnet` result (theorems.alexnet.load_result) whose FIG3a/FIG3b
    verdicts, controls and figure go into the report."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from {list(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if html and figures:  # the redrawn Figures 1 and 2 are evidence too: add their verdicts (once)
        from .figures import experiment_verdicts

        _add_once(outcome, experiment_verdicts())
    if alexnet is not None:
        from .alexnet import report_verdicts

        _add_once(outcome, *report_verdicts(alexnet))
        outcome.provenance["alexnet"] = alexnet["dir"]
        src, dst = Path(alexnet["figure"]), out_dir / "fig3.png"
        if src.resolve() != dst.resolve():  # --out may be the alexnet folder itself
            shutil.copyfile(src, dst)
    summary = summarise(outcome)
    with open(out_dir / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for v in outcome.verdicts:
            w.writerow(v.row())
    if "jsonl" in formats:
        with open(out_dir / "verdicts.jsonl", "w") as fh:
            write_jsonl(outcome, fh)
    if "parquet" in formats:
        write_parquet(outcome, out_dir / "results.parquet")
    json.dump({"claims": summary, "provenance": outcome.provenance,
               "counterexamples": {k: (v.row() | {"reproduce": reproduce_command(k, v.spec)}) if v else None
                                   for k, v in outcome.counterexamples.items()}},
              open(out_dir / "summary.json", "w"), indent=1, default=str)
    (out_dir / "report.md").write_text(_markdown(outcome, summary, alexnet))
    if html:
        from .html import render_report

        (out_dir / "report.html").write_text(render_report(outcome, summary, reproduce_command, method_notes(),
                                                           plots=plots, with_figures=figures, alexnet=alexnet))
    if index if index is not None else out_dir.resolve().parent.name == "reports":
        from .html import write_index

        write_index(out_dir.resolve().parent)
    return out_dir


REFERENCE_COMMANDS = ("aligncheck alexnet --seed 0 --out reports/reference/alexnet",
                      "aligncheck verify --profile thorough --seed 0 --alexnet reports/reference/alexnet "
                      "--out reports/reference")


def summary_table_md(summary: dict) -> str:
    """The compact status table (for the README and reports/reference/README.md)."""
    lines = ["| claim | paper | status | worst slack | runs |", "|---|---|---|---|---|"]
    lines += [f"| `{cid}` | {row.get('ref', '')} | {ICON[row['status']]} | {_fmt(row['worst_slack'])} | {row['n_runs']} |"
              for cid, row in summary.items()]
    return "\n".join(lines) + "\n"


def write_reference_note(out_dir, commands=REFERENCE_COMMANDS) -> Path:
    """reports/reference/README.md: how the committed reference report was made, and its table."""
    out_dir = Path(out_dir)
    s = json.loads((out_dir / "summary.json").read_text())
    p = s["provenance"]
    dirty = p.get("git_dirty")   # recorded when the run started
    text = "\n".join([
        "# Reference report", "",
        "Open [report.html](report.html) in any browser (self-contained, works offline); "
        "[report.md](report.md) is the same for terminals and diffs.", "",
        "- commands: " + ", then ".join(f"`{c}`" for c in commands),
        f"- commit: `{p.get('git_commit')}`" + (" (with uncommitted changes in the working tree)" if dirty else ""),
        f"- started: {p.get('started')}; {p.get('seconds', 0):.0f} s; Python {p.get('python')} on {p.get('platform')}",
        "", "Regenerate whenever claims or the simulators change:", "", "```", *commands,
        "python -c \"from theorems import report; report.write_reference_note('reports/reference')\"", "```", "",
        "## Summary", "", summary_table_md(s["claims"]),
    ])
    path = out_dir / "README.md"
    path.write_text(text)
    return path
