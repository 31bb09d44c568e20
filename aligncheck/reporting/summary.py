"""One row per claim from an Outcome (status over its runs, worst slack, counts, negative control), and
the words every report format shares: status labels, reproduce commands, how the checks were made."""
from __future__ import annotations

import math

from theorems.experiments.alexnet import HINT as FIG3_HINT
from theorems.model import REGISTRY, ROUNDING, Outcome, aggregate, count_statuses, ordered

ICON = {"pass": "pass", "fail": "**FAIL**", "erratum": "*erratum*", "vacuous": "vacuous", "trend": "trend",
        "error": "**ERROR**", "not checked": "not checked"}
STATUS_MEANINGS = {
    "pass": "held at every checked point of every run",
    "fail": "violated beyond its tolerance",
    "erratum": "false as printed (the corrected claim is checked separately)",
    "vacuous": "hypotheses never met (never counted as a pass)",
    "trend": "a limit or experiment: finite-time evidence only",
    "error": "the check itself broke",
    "not checked": "left out of this run (`--claim`, or Figure 3 without `--alexnet`)",
}


def reproduce_command(claim_id: str, spec: str) -> str:
    return f"aligncheck check {claim_id} --spec '{spec}'" if spec else f"aligncheck check {claim_id}"


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
    """{claim id: {status, worst_slack, n_runs, n_checked, ...}} for every registered claim, in catalogue
    order.  An assumption's failures say the run did not meet it (the claims resting on it are vacuous
    there): they do not make the assumption's row fail."""
    out = {}
    for claim in ordered(REGISTRY.values()):
        cid = claim.id
        vs = [v for v in outcome.verdicts if v.claim_id == cid]
        judged = [v for v in vs if not (claim.assumption and v.status == "fail")]
        slacks = [v.worst_slack for v in judged if v.worst_slack is not None]
        out[cid] = {
            "status": aggregate(cid, judged) if vs else "not checked",
            "worst_slack": min(slacks) if slacks else None, "n_runs": len(vs),
            "n_checked": sum(v.n_checked for v in vs), "kind": claim.kind, "ref": claim.ref,
            "statement": claim.statement,
            "runs_by_status": {s: sum(v.status == s for v in vs) for s in sorted({v.status for v in vs})},
            "control": _control(claim.control_note,
                                [v for v in outcome.controls if v.claim_id == cid + "~control"]),
        }
        if not vs and cid in ("FIG3a", "FIG3b"):
            out[cid]["hint"] = FIG3_HINT
    return out


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
    lines += [f"| `{cid}` | {row.get('ref', '')} | {ICON[row['status']]} | {fmt(row['worst_slack'])} | {row['n_runs']} |"
              for cid, row in summary.items()]
    return "\n".join(lines) + "\n"
