"""Outcome -> reports/<run-id>/: report.md, results.csv (one row per claim x run), summary.json."""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from . import REGISTRY
from .catalogue import CATALOGUE
from .errata import ERRATA
from .evaluate import TOLERANCES  # noqa: F401  (documented below)
from .verify import aggregate

COLUMNS = ("claim_id", "status", "run_id", "worst_slack", "lhs", "rhs", "tol", "where", "n_checked",
           "seconds", "message", "spec")
ICON = {"pass": "pass", "fail": "**FAIL**", "erratum": "*erratum*", "vacuous": "vacuous", "trend": "trend",
        "error": "**ERROR**", "not implemented": "not implemented"}


def reproduce_command(claim_id: str, spec: str) -> str:
    return f"aligncheck check {claim_id} --spec '{spec}'" if spec else f"aligncheck check {claim_id}"


def default_run_id(profile: str, seed: int) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{profile}-s{seed}"


def summarise(outcome) -> dict:
    """{claim id: {status, worst_slack, n_runs, n_checked, ...}} for every catalogued or registered id."""
    out = {}
    for cid in list(CATALOGUE) + [c for c in REGISTRY if c not in CATALOGUE]:
        vs = [v for v in outcome.verdicts if v.claim_id == cid]
        claim = REGISTRY.get(cid)
        if claim is None:
            out[cid] = {"status": "not implemented", "worst_slack": None, "n_runs": 0, "n_checked": 0,
                        "kind": CATALOGUE[cid]}
            continue
        assumption = claim.assumption
        status = aggregate(cid, [v for v in vs if not (assumption and v.status == "fail")]) if vs else "not implemented"
        slacks = [v.worst_slack for v in vs if v.worst_slack is not None and not (assumption and v.status == "fail")]
        controls = [v for v in outcome.controls if v.claim_id == cid + "~control"]
        out[cid] = {
            "status": status, "worst_slack": min(slacks) if slacks else None, "n_runs": len(vs),
            "n_checked": sum(v.n_checked for v in vs), "kind": claim.kind, "ref": claim.ref,
            "statement": claim.statement,
            "runs_by_status": {s: sum(v.status == s for v in vs) for s in sorted({v.status for v in vs})},
            "control": None if claim.control is None else {
                "note": claim.control_note, "caught": any(v.status == "fail" for v in controls)},
        }
    return out


def _fmt(x, digits=3):
    return "" if x is None else f"{x:.{digits}g}"


def _markdown(outcome, summary) -> str:
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
        f"- commit `{p['git_commit']}`, Python {p['python']}, {p['platform']}",
        f"- versions: " + ", ".join(f"{k} {v}" for k, v in p["versions"].items() if v),
        f"- totals: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
        "",
        "Statuses: `pass` held at every checked point of every run; `fail` violated beyond its tolerance; "
        "`erratum` false as printed (the corrected claim is checked separately); `vacuous` hypotheses never met "
        "(never counted as a pass); `trend` limit, finite-time evidence only; `error` the check itself broke.",
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
    lines += [
        "", "## How the checks were made", "",
        "- Every inequality is checked at every kept snapshot (log-spaced times, plus each kept step pair for "
        "per-step claims); the worst slack is the smallest (rhs - lhs) for `<=` (or its mirror).",
        "- Tolerances: " + " ".join(line.strip() for line in (__import__("theorems.evaluate", fromlist=["x"]).__doc__
                                                              .split("Tolerances (stated in the report):")[1].splitlines())),
        "- Gradient flow: DOP853 (scipy solve_ivp), rtol 1e-10, atol 1e-12, time parametrisation unless stated.",
        "- Gradient descent under Assumption 3.5: eta_t = min(1/beta(R_t), 1), R_0 = max_k ||W_k(0)||_F + 1, and "
        "when W(t+1) leaves B(R_t - 1), R_{t+1} = max_k ||W_k(t+1)||_F + 1 (the smallest radius allowed).",
        "- Negative controls: each inequality's deliberately wrong variant is run through the same machinery on "
        "the same runs; `caught` means it was reported as failing.",
        "", "## Runs", "",
        "| run | spec |", "|---|---|",
    ]
    lines += [f"| `run{i:03d}` | `{s.to_json()}` |" for i, s in enumerate(outcome.specs)]
    return "\n".join(lines) + "\n"


def write(outcome, out_dir) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(outcome)
    with open(out_dir / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for v in outcome.verdicts:
            w.writerow(v.row())
    json.dump({"claims": summary, "provenance": outcome.provenance,
               "counterexamples": {k: (v.row() | {"reproduce": reproduce_command(k, v.spec)}) if v else None
                                   for k, v in outcome.counterexamples.items()}},
              open(out_dir / "summary.json", "w"), indent=1, default=str)
    (out_dir / "report.md").write_text(_markdown(outcome, summary))
    return out_dir
