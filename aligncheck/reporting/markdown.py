"""report.md (and the Figure 3 section, also written as fig3.md by `aligncheck alexnet`): plain text
for terminals and diffs, read-only over an Outcome and its summary."""
from __future__ import annotations

from theorems.experiments.alexnet import CONTROL_NOTE as FIG3_CONTROL_NOTE
from theorems.experiments.alexnet import HINT as FIG3_HINT
from theorems.experiments.alexnet import RULE as FIG3_RULE
from theorems.model import REGISTRY, Outcome

from .summary import (DIGEST_TITLES, ICON, STATUS_MEANINGS, backend_note, digest, evidence_lines, fmt, method_notes,
                      RATE_DECADES, reproduce_command, status_counts)


def fmt_list(xs: list[float]) -> str:
    """Per-layer numbers, three significant digits (tables of report.md, report.html, fig3.md)."""
    return ", ".join(f"{x:.3g}" for x in xs)


def figure3(result: dict, figure_rel: str = "fig3.png") -> str:
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
             f"Rule (status `trend` when met, `fail` when not): {FIG3_RULE}. Negative control ({FIG3_CONTROL_NOTE}): "
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


def _figure3_section(outcome: Outcome) -> list[str]:
    result = outcome.figures.get("fig3")
    if result is not None:
        return [""] + figure3(result, "fig3.png").splitlines()
    return ["", "## Figure 3: AlexNet dense-layer alignment (FIG3a, FIG3b)", "", f"Not checked in this run: {FIG3_HINT}."]


def _cell(text: str) -> str:
    """A table cell: GitHub's tables split at every `|`, even inside code."""
    return text.replace("|", "\\|")


def report(outcome: Outcome, summary: dict) -> str:
    """The whole report.md."""
    p = outcome.provenance
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
        *([f"- **interrupted** after {p['interrupted']}: a partial report (`aligncheck verify --resume DIR` "
           "finishes it)"] if p.get("interrupted") else []),
        "- totals: " + ", ".join(f"{k}: {v}" for k, v in status_counts(summary).items()),
        "",
        "Statuses: " + "; ".join(f"`{s}` {m}" for s, m in STATUS_MEANINGS.items()) + ".",
        "",
        "## Digest",
        "",
    ]
    for key, items in digest(summary).items():
        lines.append(f"- **{DIGEST_TITLES[key]}**: " + "; ".join(items))
    lines += [
        "",
        "## Summary",
        "",
        "Relative slack: the smallest (rhs - lhs) / max(|lhs|, |rhs|) over the checked points (mirrored for >=); "
        "trivial: the share of points where the bound holds for a trivial reason; runs: checked / vacuous / "
        "inconclusive; limits show log(threshold / final value) instead of a slack.",
        "",
        "| claim | paper | kind | status | worst slack | relative slack | trivial | runs | points checked | negative control |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cid, row in summary.items():
        ctrl = row.get("control")
        ctrl_txt = "" if not ctrl else ("caught" if ctrl["caught"] else "**NOT CAUGHT**")
        slack = (fmt(row["worst_slack"]) if "log_threshold_over_final" not in row
                 else f"log(thr/final) {fmt(row['log_threshold_over_final'])}")
        trivial = "" if row["trivial_share"] is None else f"{row['trivial_share']:.0%}"
        lines.append(f"| `{cid}` | {row.get('ref', '')} | {row['kind']} | {ICON.get(row['status'], row['status'])} | "
                     f"{slack} | {fmt(row['rel_slack'])} | {trivial} | {row['runs_checked']} / {row['runs_vacuous']} / "
                     f"{row['runs_inconclusive']} | {row['n_checked']} | {ctrl_txt} |")
    bad = [c for c, r in summary.items() if r["status"] in ("fail", "erratum", "error")]
    if bad:
        lines += ["", "## Failures and errata", ""]
        for cid in bad:
            row = summary[cid]
            lines += [f"### `{cid}` — {ICON.get(row['status'], row['status'])}", "", f"Statement: {row['statement']}", ""]
            if REGISTRY[cid].erratum:
                lines += [f"Known erratum: {REGISTRY[cid].erratum}", ""]
            first = next((v for v in outcome.verdicts if v.claim_id == cid and v.status in ("fail", "error")), None)
            if first is not None:
                lines += [f"First failing run `{first.run_id}`: {first.message.splitlines()[0]}", ""]
            lines += [f"- {line}" for line in evidence_lines(row) if not line.startswith("Tightest")] + [""]
    tight = [(cid, r["tightest"]) for cid, r in summary.items() if r.get("tightest")]
    if tight:
        hunt = p.get("hunt") or {}
        lines += ["", "## Tightest instances", "",
                  f"Per inequality, the checked instance closest to its bound over the profile's runs and the hunt "
                  f"({hunt.get('runs', 0)} drawn runs steered towards each bound by hypothesis `target()`; "
                  f"{hunt.get('unsimulable', 0)} could not be simulated, {hunt.get('errors', 0)} checks too inaccurate "
                  "to judge).  Relative slack 0: tight up to the tolerance.", "",
                  "| claim | relative slack | run | reproduce |", "|---|---|---|---|"]
        lines += [f"| `{cid}` | {fmt(t['rel_slack'])} | `{t['run']}` | `{t['reproduce']}` |" for cid, t in tight]
    rates = [(cid, r["rate"]) for cid, r in summary.items() if r.get("rate")]
    if rates:
        lines += ["", "## Fitted rates", "",
                  "Per limit with a rate the proof gives (g <= C x^p, x -> 0): the least-squares exponent of log g "
                  "against log x over the last half of a long run (a limit fails when it is clearly below p), on the "
                  f"run whose fit spans the most decades of x.  Under {RATE_DECADES:g} decades the evidence is short.", "",
                  "| claim | g | fitted exponent (se) | proven | decades of x | run |", "|---|---|---|---|---|---|"]
        lines += [f"| `{cid}` | `{_cell(r['quantity'])}` | {fmt(r['fitted'])} ({fmt(r['se'], 2)}) | {fmt(r['proven'])} | "
                  f"{r['decades']:.2f}{' (short)' if r['short'] else ''} | `{r['run']}` |"
                  for cid, r in rates]
    vac = [cid for cid, r in summary.items() if r["status"] == "vacuous"]
    if vac:
        lines += ["", "## Vacuous claims (hypotheses never met)", ""]
        for cid in vac:
            v = next(v for v in outcome.verdicts if v.claim_id == cid)
            lines.append(f"- `{cid}`: {v.message.splitlines()[0]}")
    unmet = [v for v in outcome.verdicts if REGISTRY[v.claim_id].assumption and v.status == "fail"]
    if unmet:
        lines += ["", "## Assumptions not met on some runs (claims needing them are vacuous there)", ""]
        lines += [f"- `{v.claim_id}` on `{v.run_id}`: {v.message}" for v in unmet]
    lines += _figure3_section(outcome)
    lines += ["", "## How the checks were made", ""] + [f"- {m}" for m in method_notes()] + [
        "", "## Runs", "",
        "| run | spec |", "|---|---|",
    ]
    lines += [f"| `run{i:03d}` | `{s.to_json()}` |" for i, s in enumerate(outcome.specs)]
    return "\n".join(lines) + "\n"
