"""Judging a watched network (aligncheck.watch) or a series of checkpoints (aligncheck inspect) by the
rules the suite states for Figure 3, on a history table (dynamics.watch.COLUMNS).

- WATCH-RATIO, per dense layer: Figure 3's RULE (theorems.experiments.alexnet.RULE and `judge`): the final
  ||W||_2/||W||_F is above its lower bound 1/sqrt(min(shape)) and above its initial ratio.  A layer with one
  row or column is a vector (ratio = bound = 1 at every point): `vacuous`.
- WATCH-ALIGN, per adjacent pair, linear chains only (Theorem 2.2, Lemma 2.6): the final alignment
  |<v_{k+1}, u_k>| is above its initial value (rising towards 1).
- WATCH-MARGIN, when the history has cos(w_prod, ubar): its final value is above its initial one.

Statuses: `trend` (met: finite-time evidence of a limit), `fail`, `inconclusive` (fewer than two records;
not one of theorems.model.STATUSES, which a watched network never enters), `vacuous`.  Negative control
of every verdict: the same rule on the untrained network (final := initial) must fail.  The verdicts are
theorems.model.Verdict objects; these claims are not registered (they are about the user's network, not
the paper's catalogue).
"""
from __future__ import annotations

import math

from ..model import Verdict
from .alexnet import RULE, judge

ALIGN_RULE = "the final alignment |<v_{k+1}, u_k>| is above its initial value: adjacent layers align (towards 1)"
MARGIN_RULE = "the final cos(w_prod, ubar) is above its initial value: the product turns to the max-margin direction"
CONTROL_NOTE = "the untrained network, final := initial: it must fail the rise"


def _ends(history, mask, column):
    """(initial, final, number of records) of a column over the rows selected by mask, by step."""
    rows = history[mask].sort_values("step", kind="stable")
    return float(rows[column].iloc[0]), float(rows[column].iloc[-1]), len(rows)


def _verdict(claim_id, run_id, rule, ok, n, initial, final, bound=None, control=False, details=None) -> Verdict:
    status = "inconclusive" if n < 2 else ("trend" if ok else "fail")
    if not (math.isfinite(initial) and math.isfinite(final)):
        status, rule = "fail", f"non-finite values (diverged?): {rule}"
    message = ("NOT met: " if status == "fail" else "met: " if status == "trend"
               else f"only {n} record(s): ") + rule
    if control:
        claim_id, message = claim_id + "~control", f"NEGATIVE CONTROL ({CONTROL_NOTE}): {message}"
    rhs = initial if bound is None else max(initial, bound)
    return Verdict(claim_id, run_id, status, worst_slack=final - rhs, lhs=final, rhs=rhs, n_checked=n,
                   message=message, details=dict(details or {}, initial=initial, final=final, bound=bound))


def ratio_verdict(history, layer: str, control: bool = False) -> Verdict:
    """WATCH-RATIO of one layer: Figure 3's `judge` on its first and last records."""
    sel = history["layer"] == layer
    initial, final, n = _ends(history, sel, "ratio")
    final = initial if control else final
    row = history[sel].iloc[0]
    bound = float(row["lower_bound"])
    if min(row["rows"], row["cols"]) == 1:
        return Verdict("WATCH-RATIO" + ("~control" if control else ""), layer, "vacuous", n_checked=n,
                       message="a vector: its ratio is 1 = its lower bound at every point",
                       details={"initial": initial, "final": final, "bound": bound})
    return _verdict("WATCH-RATIO", layer, RULE, judge([final], [initial], [bound]), n, initial, final, bound,
                    control)


def alignment_verdict(history, layer: str, control: bool = False) -> Verdict:
    """WATCH-ALIGN of one adjacent pair (layer, its next layer)."""
    sel = (history["layer"] == layer) & history["next_layer"].notna()
    initial, final, n = _ends(history, sel, "alignment")
    final = initial if control else final
    nxt = history[sel]["next_layer"].iloc[-1]
    return _verdict("WATCH-ALIGN", f"{layer} -> {nxt}", ALIGN_RULE, final > initial, n, initial, final,
                    control=control)


def margin_verdict(history, control: bool = False) -> Verdict:
    """WATCH-MARGIN: cos(w_prod, ubar) rose."""
    steps = history.drop_duplicates("step")
    initial, final, n = _ends(steps, steps["margin_cos"].notna(), "margin_cos")
    final = initial if control else final
    return _verdict("WATCH-MARGIN", "product", MARGIN_RULE, final > initial, n, initial, final, control=control)


def verdicts(history, linear: bool = False, control: bool = False) -> list[Verdict]:
    """Every verdict on a history: ratios per layer; for a linear chain (`linear`) alignments per adjacent
    pair; the margin when recorded.  control=True: the negative controls instead (each must fail)."""
    if history.empty:
        return []
    out = [ratio_verdict(history, layer, control) for layer in history["layer"].unique()]
    if linear:
        paired = history[history["next_layer"].notna()]["layer"].unique()
        out += [alignment_verdict(history, layer, control) for layer in paired]
    if history["margin_cos"].notna().any():
        out.append(margin_verdict(history, control))
    return out


def controls(history, linear: bool = False) -> list[Verdict]:
    """The negative controls (final := initial): each must come out `fail` (or vacuous/inconclusive)."""
    return verdicts(history, linear, control=True)
