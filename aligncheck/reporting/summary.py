"""One row per claim from an Outcome (status over its runs, worst slack, counts, negative control), and
the words every report format shares: status labels, reproduce commands, how the checks were made."""
from __future__ import annotations

import math

from theorems.experiments.alexnet import HINT as FIG3_HINT
from theorems.model import (REGISTRY, ROUNDING, STATUS_MEANINGS, Claim, Outcome, Verdict, aggregate, count_statuses,
                             ordered)

ICON = {"pass": "pass", "fail": "**FAIL**", "erratum": "*erratum*", "vacuous": "vacuous", "inconclusive": "inconclusive",
        "trend": "trend", "error": "**ERROR**", "not checked": "not checked"}
CHECKED = ("pass", "fail", "trend", "error")   # a run on which the claim was decided (or its check broke)


def reproduce_command(claim_id: str, spec: str, alexnet_dir: str | None = None) -> str:
    """The command that reproduces a verdict: the claim on the verdict's run (identities and Figures 1, 2 need
    none; Figure 3 reads the `aligncheck alexnet` folder it was judged on)."""
    if alexnet_dir:
        return f"aligncheck check {claim_id} --alexnet '{alexnet_dir}'"
    return f"aligncheck check {claim_id} --spec '{spec}'" if spec else f"aligncheck check {claim_id}"


def reproduce(v: Verdict) -> str:
    return reproduce_command(v.claim_id.removesuffix("~control"), v.spec, v.details.get("alexnet_dir"))


def fmt(x: object, digits: int = 3) -> str:
    """A number for a table: `digits` significant digits; nan/inf and non-numbers as they print."""
    if x is None:
        return ""
    if isinstance(x, float) and math.isfinite(x):
        return f"{x:.{digits}g}"
    return str(x)


def _control(note: str, controls: list) -> dict | None:
    """The negative control's summary: caught when the same machinery reported it failing."""
    return {"note": note, "caught": any(v.status == "fail" for v in controls)} if controls else None


def summarise(outcome: Outcome) -> dict:
    """{claim id: {status, worst_slack, rel_slack, trivial_share, n_runs, runs_checked, runs_vacuous,
    runs_inconclusive, ...}} for every registered claim, in catalogue order.  An assumption's failures say
    the run did not meet it (the claims resting on it are vacuous there): its row reads `met k/n`, never
    `pass`, when some run broke it."""
    out = {}
    for claim in ordered(REGISTRY.values()):
        cid = claim.id
        vs = [v for v in outcome.verdicts if v.claim_id == cid]
        judged = [v for v in vs if not (claim.assumption and v.status == "fail")]
        out[cid] = {
            "status": _status(claim, vs, judged),
            "worst_slack": _least(v.worst_slack for v in judged), "rel_slack": _least(v.rel_slack for v in judged),
            "trivial_share": _share(judged),
            "n_runs": len(vs), "runs_checked": sum(v.status in CHECKED for v in vs),
            "runs_vacuous": sum(v.status == "vacuous" for v in vs),
            "runs_inconclusive": sum(v.status == "inconclusive" for v in vs),
            "n_checked": sum(v.n_checked for v in vs), "kind": claim.kind, "ref": claim.ref,
            "statement": claim.statement,
            "runs_by_status": {s: sum(v.status == s for v in vs) for s in sorted({v.status for v in vs})},
            "control": _control(claim.control_note,
                                [v for v in outcome.controls if v.claim_id == cid + "~control"]),
        }
        if out[cid]["status"] in ("fail", "erratum"):
            out[cid]["counterexample"] = counterexample(judged, outcome.counterexamples.get(cid))
        if claim.sides is not None and claim.relation != "==":
            out[cid]["tightest"] = tightest(judged)
        rate = widest_rate(vs)
        if rate:
            out[cid]["rate"] = rate
        margins = [v.details["log_threshold_over_final"] for v in vs
                   if v.status == "trend" and "log_threshold_over_final" in v.details]
        if margins:   # a limit's own measure: how far below its threshold the quantity ended (log)
            out[cid]["log_threshold_over_final"] = min(margins)
        if not vs and cid in ("FIG3a", "FIG3b"):
            out[cid]["hint"] = FIG3_HINT
    return out


def _evidence(v: Verdict) -> dict:
    return {"run": v.run_id, "spec": v.spec, "reproduce": reproduce(v), "slack": v.worst_slack, "tol": v.tol,
            "where": v.where, "high_precision": v.details.get("high_precision")}


def counterexample(verdicts: list, shrunk: Verdict | None) -> dict | None:
    """The violation that decides a fail or erratum: the largest among the failing verdicts (with its
    high-precision replay), and beside it the shrunk (smallest) counterexample when one was found."""
    failing = [v for v in verdicts if v.status == "fail"]
    if not failing:
        return None
    worst = min(failing, key=lambda v: v.worst_slack if v.worst_slack is not None else 0.0)
    return _evidence(worst) | {"shrunk": _evidence(shrunk) if shrunk is not None and shrunk.status == "fail" else None}


def _hp_words(hp: dict | None) -> str:
    if not hp:
        return "not replayed in high precision"
    if "unavailable" in hp:
        return f"not replayed in high precision ({hp['unavailable']})"
    if hp.get("digits") == "exact":
        return f"exact arithmetic: {hp.get('method', '')}" + ("" if hp.get("confirms") else " (NOT confirmed)")
    return (f"{hp['digits']}-digit replay: slack {hp['slack'][:12]} at {hp.get('where', '?')}, "
            + ("confirmed" if hp.get("confirms") else "NOT confirmed"))


def evidence_lines(row: dict) -> list[str]:
    """Words for a fail / erratum's deciding counterexample (float64 and high-precision slack, its command),
    the shrunk one beside it, and any claim's tightest instance; shared by report.md and report.html."""
    out = []
    cx = row.get("counterexample")
    if cx:
        tol = "" if cx["tol"] is None else f" (tolerance {fmt(cx['tol'])})"
        out.append(f"Largest violation, run {cx['run']}: float64 slack {fmt(cx['slack'], 6)}{tol} at "
                   f"{cx['where'][:80] or '-'}; {_hp_words(cx['high_precision'])}.  Reproduce: {cx['reproduce']}")
        if cx.get("shrunk"):
            sh = cx["shrunk"]
            out.append(f"Shrunk counterexample (hypothesis): float64 slack {fmt(sh['slack'], 6)} at "
                       f"{sh['where'][:80] or '-'}; {_hp_words(sh['high_precision'])}.  Reproduce: {sh['reproduce']}")
    if row.get("rate"):
        out.append(rate_line(row["rate"]) + f".  Reproduce: {row['rate']['reproduce']}")
    t = row.get("tightest")
    if t:
        out.append(f"Tightest instance (profile runs and hunt): relative slack {fmt(t['rel_slack'])} on {t['run']}.  "
                   f"Reproduce: {t['reproduce']}")
    return out


RATE_DECADES = 3.0   # the span of the rate variable a fitted rate should cover to be telling


def widest_rate(verdicts: list) -> dict | None:
    """A limit with a proven rate g <= C x^p: its fitted exponent on the run whose fit spans the most
    decades of x (theorems.claims._limit fits the last half of each run)."""
    fitted = [v for v in verdicts if v.status in ("trend", "fail") and v.details.get("proven_rate") is not None
              and v.details.get("rate_decades") is not None]
    if not fitted:
        return None
    v = max(fitted, key=lambda v: v.details["rate_decades"])
    d = v.details
    return {"fitted": d["fitted_rate"], "se": d["fitted_rate_se"], "proven": d["proven_rate"],
            "decades": d["rate_decades"], "short": d["rate_decades"] < RATE_DECADES, "quantity": d["quantity"],
            "bound": d["rate_note"], "run": v.run_id, "reproduce": reproduce(v)}


def rate_line(r: dict) -> str:
    short = f" (under {RATE_DECADES:g} decades)" if r["short"] else ""
    return (f"Fitted rate x^{fmt(r['fitted'])} (se {fmt(r['se'], 2)}) vs proven x^{fmt(r['proven'])} over "
            f"{r['decades']:.2f} decades of x{short}, run {r['run']} ({r['bound']})")


def tightest(verdicts: list) -> dict | None:
    """The instance closest to the bound over every run (profile, hunt and shrink): least relative slack."""
    rated = [v for v in verdicts if v.rel_slack is not None and v.status in ("pass", "fail", "inconclusive")]
    if not rated:
        return None
    v = min(rated, key=lambda v: v.rel_slack)
    return {"rel_slack": v.rel_slack, "run": v.run_id, "spec": v.spec, "reproduce": reproduce(v)}


def _status(claim: Claim, vs: list, judged: list) -> str:
    if not vs:
        return "not checked"
    if claim.assumption and len(judged) < len(vs):
        return f"met {sum(v.status == 'pass' for v in vs)}/{len(vs)}"
    return aggregate(claim.id, judged)


def _least(values) -> float | None:
    values = [x for x in values if x is not None]
    return min(values) if values else None


def _share(verdicts: list) -> float | None:
    """The share of trivially true elements over the verdicts that measured it, weighted by points checked."""
    measured = [(v.trivial_share, v.n_checked) for v in verdicts if v.trivial_share is not None and v.n_checked]
    total = sum(n for _, n in measured)
    return sum(s * n for s, n in measured) / total if total else None


def checked_nowhere(summary: dict) -> list[str]:
    """Claims decided on no run: vacuous or inconclusive everywhere, or an assumption that held on no run."""
    return [cid for cid, row in summary.items()
            if row["status"] in ("vacuous", "inconclusive") or row["status"].startswith("met 0/")]


def status_counts(summary: dict) -> dict[str, int]:
    return count_statuses(row["status"] for row in summary.values())


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


def tolerance_notes() -> list[str]:
    """Every tolerance a registered claim declares, with its own description (rounding first)."""
    seen = {ROUNDING.name: ROUNDING}
    for claim in REGISTRY.values():
        seen.setdefault(claim.tolerance.name, claim.tolerance)
    return [f"`{t.name}`: {t.description}" for t in seen.values()]


def method_notes() -> list[str]:
    """How the checks were made (shared by report.md and report.html)."""
    return [
        "Every inequality is checked at every kept snapshot (log-spaced times, plus each kept step pair for "
        "per-step claims); the worst slack is the smallest (rhs - lhs) for `<=` (or its mirror).",
        "Tolerances: " + " ".join(tolerance_notes()),
        "Gradient flow: DOP853 (scipy solve_ivp), rtol 1e-10, atol 1e-12, time parametrisation unless stated.",
        "Gradient descent under Assumption 3.5: eta_t = min(1/beta(R_t), 1), R_0 = max_k ||W_k(0)||_F + 1, and "
        "when W(t+1) leaves B(R_t - 1), R_{t+1} = max_k ||W_k(t+1)||_F + 1 (the smallest radius allowed).",
        "Negative controls: each inequality's deliberately wrong variant is run through the same machinery on "
        "the same runs; `caught` means it was reported as failing.",
        "Slack plots (report.html): both sides along one representative run (the shrunk counterexample, else "
        "the run of smallest slack), recorded by verify with the same claim code; red marks points beyond "
        "their tolerance.",
    ]


def summary_table_md(summary: dict) -> str:
    """The compact status table (for the README and reports/reference/README.md)."""
    lines = ["| claim | paper | status | worst slack | runs |", "|---|---|---|---|---|"]
    lines += [f"| `{cid}` | {row.get('ref', '')} | {ICON.get(row['status'], row['status'])} | {fmt(row['worst_slack'])} | {row['n_runs']} |"
              for cid, row in summary.items()]
    return "\n".join(lines) + "\n"


TIGHT, LOOSE, MOSTLY_TRIVIAL = 1e-3, 0.5, 0.5   # relative slack / trivial share thresholds of the digest


def digest(summary: dict) -> dict[str, list[str]]:
    """What a reader needs first, as lines: which statements hold, which are wrong as printed (with their
    corrections), which failed, which bounds are tight and which loose (relative slack), which hold
    mostly for a trivial reason, which limits show their trend, and what was checked nowhere."""
    def rel(cid):
        return f"`{cid}` ({fmt(summary[cid]['rel_slack'])})"

    status = {cid: row["status"] for cid, row in summary.items()}
    holds = [cid for cid, s in status.items() if s == "pass"]
    rels = {cid: row["rel_slack"] for cid, row in summary.items() if row["status"] == "pass"
            and row["kind"] != "identity" and row["rel_slack"] is not None}
    out = {
        "hold": [f"{len(holds)} statements hold on every run where they were checked (`pass`)"],
        "errata": [f"`{cid}` is false as printed; corrected: " + (
            f"`{cid}-corrected` ({status[cid + '-corrected']})" if cid + "-corrected" in status else "see its note")
            for cid, s in status.items() if s == "erratum"],
        "failed": [f"`{cid}` {s}" for cid, s in status.items() if s in ("fail", "error")],
        "tight": [rel(cid) for cid, r in sorted(rels.items(), key=lambda kv: kv[1]) if r < TIGHT],
        "loose": [rel(cid) for cid, r in sorted(rels.items(), key=lambda kv: -kv[1]) if r > LOOSE],
        "trivial": [f"`{cid}` ({summary[cid]['trivial_share']:.0%} of points)" for cid, row in summary.items()
                    if (row.get("trivial_share") or 0) > MOSTLY_TRIVIAL],
        "trend": [f"{sum(s == 'trend' for s in status.values())} limits and experiments show their trend "
                  "(finite-time evidence, never a pass)"],
        "nowhere": [f"`{cid}` ({status[cid]})" for cid in checked_nowhere(summary)],
        "assumptions": [f"`{cid}` {s}" for cid, s in status.items() if s.startswith("met ")],
    }
    return {k: v for k, v in out.items() if v}


DIGEST_TITLES = {
    "hold": "Hold", "errata": "Wrong as printed (catalogued errata)", "failed": "Failed (not catalogued)",
    "tight": f"Tight bounds (relative slack < {TIGHT:g})", "loose": f"Loose bounds (relative slack > {LOOSE:g})",
    "trivial": f"Mostly trivially true (share of points > {MOSTLY_TRIVIAL:.0%})", "trend": "Limits",
    "nowhere": "Checked nowhere", "assumptions": "Assumptions not met on every run",
}


def catalogue_markdown() -> str:
    """The catalogue page (docs/claims.md), generated from the registry: every claim the report can show."""
    lines = ["# The claims catalogue", "",
             "Generated from the registry by `aligncheck claims --markdown > docs/claims.md` (a test fails when this "
             "page is stale). Catalogue order, as in the report.", "",
             "| ID | paper | kind | runs | hypotheses | statement | negative control | erratum |",
             "|---|---|---|---|---|---|---|---|"]
    for c in ordered(REGISTRY.values()):
        cells = [f"`{c.id}`", c.ref, c.kind, c.runs, ", ".join(c.hypotheses), c.statement, c.control_note, c.erratum]
        lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"
