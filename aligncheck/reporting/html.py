"""report.html (one self-contained file) and the reports index page.

Self-contained means: every image is a data: URI, the CSS is inline, there is no script, no font
and no link that leaves the page, so it opens offline in any browser and can be mailed or
committed as it is.  Statements are plain text (as in CLAIMS.md); formulas in the figures are
matplotlib mathtext, rendered into the PNGs.  The template is a string in this module, so no
package data has to ship.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import jinja2
import markupsafe

from theorems.model import REGISTRY, Outcome

from . import plots
from .files import write_atomic
from .markdown import fmt_list
from .summary import (DIGEST_TITLES, STATUS_MEANINGS, backend_note, digest, evidence_lines, fmt, method_notes, reproduce_command,
                      status_counts)

COLOURS = {"pass": "#1e7b34", "fail": "#c0262d", "erratum": "#d9822b", "vacuous": "#7a7a7a", "trend": "#2d6cb5",
           "inconclusive": "#9a7b1c", "met k/n": "#5f7f9a",
           "error": "#7d1020", "not checked": "#d8d8d8"}
METHODS = {
    "identity": "symbolic proof (sympy) with a numeric cross-check",
    "snapshot": "both sides at every kept snapshot of every run",
    "step": "both sides at every kept gradient-descent step pair",
    "static": "both sides at sample points drawn per run",
    "asymptotic": "finite-time trend: thresholds reached and fitted rates",
    "experiment": "the paper's experiment, redrawn",
}
FIGURE_OF = {"FIG1a": "fig1a", "FIG1b": "fig1b", "FIG2": "fig2", "FIG3a": "fig3", "FIG3b": "fig3"}
CAPTIONS = {
    "fig1a": "Figure 1a. 1-layer and 4-layer linear networks trained by gradient descent on 2-D separable data: "
             "left, the final decision boundaries on top of the max-margin one (thick grey); right, the angle "
             "between each predictor w_prod and the max-margin direction ubar as the risk goes to 0.",
    "fig1b": "Figure 1b. ||W_i||_2 / ||W_i||_F of each layer of the 4-layer network against the risk: every "
             "ratio tends to 1 (each layer becomes rank one). Layer 4 is a row vector, so its ratio is 1 throughout.",
    "fig2": "Figure 2. Two circles, a 3-layer network (widths 2-3-3-1). (a) 1- and 3-layer boundaries against the "
            "max-margin one; (b)-(d) the data mapped through W_1, W_2 W_1, W_3 W_2 W_1 on its principal axes "
            "(scaled to unit extent along axis 1, equal aspect): it flattens onto span(u_i), and the next layer's "
            "top right singular vector v_{i+1} lies along the same horizontal line.",
    "fig3": "Figure 3. AlexNet (ReLUs, max-pooling, convolutions) trained by SGD from two initialisations: "
            "||W_i||_2 / ||W_i||_F of the three dense layers (solid) with their lower bounds 1/sqrt(min(shape)) "
            "(dashed, same colour), and the training risk (black, right axis), against SGD steps.",
}
PAPER_CAPTIONS = {
    "fig1a": "Paper: \u201cFigure 1a shows the convergence of 1-layer and 4-layer networks to the same "
             "margin-maximizing linear predictor on positive (blue) and negative (red) separable data.\u201d",
    "fig1b": "Paper: \u201cFigure 1b shows the convergence of ||W_i||_2/||W_i||_F to 1 on each layer, plotted "
             "against the risk.\u201d",
    "fig2": "Paper: \u201cDue to alignment, the product W_i ... W_1 becomes u_i ubar^T ... the mapped data will be well "
            "separated and lie along the span of u_i ... the top right singular vector v_{i+1} of the subsequent "
            "layer is aligned with this u_i, which in these plots (with principal component axes) corresponds "
            "to following a horizontal line.\u201d",
    "fig3": "Paper: \u201cthe key alignment ratios ||W_i||_2/||W_i||_F are much larger than their respective lower "
            "bounds (1024^-1/2, 4096^-1/2, 10^-1/2). Two initializations were tried: default PyTorch "
            "initialization, and a Gaussian initialization forcing all initial Frobenius norms to be just 4.\u201d",
}


def colour(status: str | None) -> str:
    """A status's colour (`met 12/13` shares `met k/n`'s; statuses of older reports get grey)."""
    s = str(status)
    return COLOURS.get("met k/n" if s.startswith("met ") else s, "#999")


def text_colour(status: str) -> str:
    return "#222" if status == "not checked" else "#fff"


def details_rows(details: dict) -> list[tuple[str, str]]:
    """Any Verdict.details (asymptotic claims: thresholds, fitted rates) as key/value strings."""
    rows = []
    for k, v in (details or {}).items():
        if k in ("series", "alexnet_dir"):   # plotted, or shown elsewhere
            continue
        if isinstance(v, dict):
            rows += [(f"{k}.{k2}", fmt(v2, 4) if not isinstance(v2, (dict, list)) else json.dumps(v2, default=str))
                     for k2, v2 in v.items()]
        elif isinstance(v, (list, tuple)):
            rows.append((str(k), ", ".join(fmt(x, 4) for x in v)))
        else:
            rows.append((str(k), fmt(v, 4)))
    return rows


TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aligncheck report: {{ p.profile }} s{{ p.seed }}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1180px; padding: 1em 1.5em 4em; color: #1c1c1c; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em }
h3 { margin: 1.6em 0 0.3em } code, pre { font: 13px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: #f5f5f2; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; word-break: break-all }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 13.5px } th, td { border: 1px solid #d5d5d5; padding: 3px 7px; vertical-align: top; text-align: left }
th { background: #f0f0ec } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap }
.st { display: inline-block; padding: 1px 7px; border-radius: 4px; font-weight: 600; font-size: 12.5px; white-space: nowrap }
.statement { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px }
.claim { border-left: 5px solid #ccc; padding-left: 0.9em; margin: 1.4em 0 } .muted { color: #666 }
img { max-width: 100%; height: auto; border: 1px solid #eee } img.wide { width: 100% } img.half { width: 62% } figure { margin: 1em 0 } figcaption { font-size: 13.5px; color: #333; max-width: 960px }
.totals span { margin-right: 0.6em } .kv td:first-child { color: #444 }
details > summary { cursor: pointer; font-size: 1.1em; margin: 0.4em 0 }
</style></head><body>
<h1>aligncheck verification report</h1>
<p>Ji &amp; Telgarsky (ICLR 2019), <em>Gradient descent aligns the layers of deep linear networks</em>: every catalogued
statement, checked on simulated gradient-flow and gradient-descent runs, or proved symbolically.</p>
<p class="totals">{% for s, n in counts %}<span class="st" style="background:{{ colour(s) }};color:{{ tcol(s) }}">{{ s }}: {{ n }}</span>{% endfor %}</p>
<p class="muted">profile <code>{{ p.profile }}</code>, seed {{ p.seed }}, data: {{ p.data or "generated" }}; {{ n_specs }} runs; {{ "%.1f"|format(p.seconds or 0) }} s;
commit <code>{{ p.git_commit or "unknown" }}</code>; started {{ p.started }}; Python {{ p.python }} on {{ p.platform }};
{{ versions }}.<br>{{ backend }}.</p>
{% if p.interrupted %}<p><b>Interrupted</b> after {{ p.interrupted }}: a partial report; <code>aligncheck verify --resume DIR</code> finishes it.</p>{% endif %}
<p>Statuses: {% for s, meaning in statuses.items() %}<b>{{ s }}</b> {{ meaning|code }}{{ "; " if not loop.last else "." }}{% endfor %}
Worst slack: the smallest (rhs &minus; lhs) over all checked points (mirrored for &ge;; &minus;|lhs &minus; rhs| for identities);
negative means violated.</p>
<h2 id="digest">Digest</h2>
<ul>{% for title, items in digest %}<li><b>{{ title }}</b>: {{ items|join("; ")|code }}</li>{% endfor %}</ul>
<p><a href="#summary">Summary</a> &middot; <a href="#figures">Figures 1 and 2</a> &middot;{% if fig3 %} <a href="#figure3">Figure 3</a> &middot;{% endif %} <a href="#claims">Claims</a> &middot; <a href="#method">How the checks were made</a> &middot; <a href="#runs">Runs</a></p>

<h2 id="summary">Summary</h2>
<p class="muted">Relative slack: the smallest (rhs &minus; lhs) / max(|lhs|, |rhs|) over the checked points (mirrored for &ge;);
trivial: share of points where the bound holds for a trivial reason; runs: checked / vacuous / inconclusive; limits show
log(threshold / final value) in place of a slack.</p>
<table><thead><tr><th>claim</th><th>paper</th><th>statement</th><th>status</th><th>worst slack</th><th>relative slack</th><th>trivial</th><th>runs</th><th>points</th><th>method</th><th>negative control</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="#c-{{ r.anchor }}"><code>{{ r.id }}</code></a></td><td>{{ r.ref }}</td><td class="statement">{{ r.statement }}</td>
<td><span class="st" style="background:{{ colour(r.status) }};color:{{ tcol(r.status) }}">{{ r.status }}</span></td>
<td class="num">{{ r.slack }}</td><td class="num">{{ r.rel_slack }}</td><td class="num">{{ r.trivial }}</td><td class="num">{{ r.runs }}</td><td class="num">{{ r.n_checked }}</td><td>{{ r.method }}</td><td>{{ r.control }}</td></tr>
{% endfor %}</tbody></table>

<h2 id="figures">The paper's Figures 1 and 2, redrawn</h2>
<p>Drawn by <code>aligncheck figures</code> from the project's gradient-descent simulator (scale-invariant steps, logistic loss),
with the certified hard-margin direction ubar. These are the experiments <code>FIG1a</code>, <code>FIG1b</code>, <code>FIG2</code>.</p>
{% macro figure_block(f) %}<figure id="{{ f.name }}"><img class="{{ 'half' if f.name == 'fig1b' else 'wide' }}" alt="{{ f.caption }}" src="data:image/png;base64,{{ f.png }}">
<figcaption>{{ f.caption }}<br><span class="muted">{{ f.paper }}</span>
{% if f.facts %}<table class="kv">{% for k, v in f.facts %}<tr><td>{{ k }}</td><td class="num">{{ v }}</td></tr>{% endfor %}</table>{% endif %}</figcaption></figure>
{% endmacro %}
{% for f in figures %}{{ figure_block(f) }}{% endfor %}
{% if fig3 %}<h2 id="figure3">The paper's Figure 3: AlexNet dense-layer alignment</h2>
<p>Trained by <code>aligncheck alexnet</code> (torch) and read from <code>{{ fig3.dir }}</code>; these are the experiments <code>FIG3a</code>, <code>FIG3b</code>.
Data: {{ fig3.data }}; width scale {{ fig3.width_scale }}; device {{ fig3.device }}.</p>
<p>Rule (<b>trend</b> when met, <b>fail</b> when not): {{ fig3.rule }}. A random matrix already sits above its lower bound, so the initial ratios are the baseline.</p>
{{ figure_block(fig3) }}{% endif %}

<h2 id="claims">Claims</h2>
<p class="muted">Each claim's evidence is folded; failures and errata open. Click a claim to unfold it.</p>
{% for c in claims %}<div class="claim" id="c-{{ c.anchor }}" style="border-color:{{ colour(c.status) }}">
<details{% if c.status in ("fail", "erratum", "error") %} open{% endif %}><summary><code>{{ c.id }}</code> <span class="st" style="background:{{ colour(c.status) }};color:{{ tcol(c.status) }}">{{ c.status }}</span> <span class="muted">{{ c.ref }} &middot; {{ c.kind }}</span></summary>
<p class="statement">{{ c.statement }}</p>
{% if c.erratum %}<p><b>Known erratum:</b> {{ c.erratum }}</p>{% endif %}
{% if c.hint %}<p class="muted">Not checked in this run: {{ c.hint }}.</p>{% else %}
{% if c.figure %}<p>Figure: <a href="#{{ c.figure }}">{{ c.figure }}</a>.</p>{% endif %}
<p>{{ c.method }}. Runs by status: {{ c.by_status }}; {{ c.n_checked }} points checked; worst slack <b>{{ c.slack }}</b>
{% if c.worst %}(lhs {{ c.worst.lhs }}, rhs {{ c.worst.rhs }}, tolerance {{ c.worst.tol }}, at {{ c.worst.where }} of <code>{{ c.worst.run }}</code>){% endif %}.
{% if c.control %}Negative control ({{ c.control_note }}): {{ c.control }}.{% endif %}</p>
{% if c.proof %}<p class="muted">Proof:</p><pre>{{ c.proof }}</pre>{% endif %}
{% if c.messages %}<pre>{% for m in c.messages %}{{ m }}
{% endfor %}</pre>{% endif %}
{% if c.counterexample %}<p>Shrunk counterexample (hypothesis): {{ c.counterexample }}</p>{% endif %}
{% for e in c.evidence %}<p>{{ e }}</p>{% endfor %}
{% if c.reproduce %}<p>Reproduce:</p><pre>{{ c.reproduce }}</pre>{% endif %}
{% for d in c.details %}<p class="muted">Details, <code>{{ d.run }}</code>:</p><table class="kv">{% for k, v in d.rows %}<tr><td>{{ k }}</td><td class="num">{{ v }}</td></tr>{% endfor %}</table>{% endfor %}
{% if c.plot %}<figure><img alt="plot of {{ c.id }}" src="data:image/png;base64,{{ c.plot }}"><figcaption class="muted">{{ c.plot_caption }}</figcaption></figure>{% endif %}
{% endif %}</details></div>
{% endfor %}

<h2 id="method">How the checks were made</h2>
<ul>{% for m in method %}<li>{{ m }}</li>{% endfor %}</ul>

<h2 id="runs">Runs</h2>
<table><thead><tr><th>run</th><th>spec (RunSpec JSON; <code>aligncheck check ID --spec '...'</code> reruns it)</th></tr></thead><tbody>
{% for rid, spec in specs %}<tr><td><code>{{ rid }}</code></td><td><code>{{ spec }}</code></td></tr>{% endfor %}
</tbody></table>
</body></html>
"""

INDEX_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>aligncheck reports</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 1em 1.5em; color: #1c1c1c }
table { border-collapse: collapse; font-size: 13px } th, td { border: 1px solid #d5d5d5; padding: 2px 6px; text-align: left }
th { background: #f0f0ec } .st { padding: 0 5px; border-radius: 3px; font-size: 12px; white-space: nowrap }
.changed { outline: 3px solid #000; outline-offset: -3px } .muted { color: #666 }
</style></head><body>
<h1>aligncheck reports</h1>
<table><thead><tr><th>run</th><th>profile</th><th>data</th><th>seed</th><th>commit</th><th>started</th><th>totals</th><th>changes vs the previous run of the same profile and data</th></tr></thead><tbody>
{% for r in runs %}<tr><td><a href="{{ r.href }}">{{ r.name }}</a></td><td>{{ r.profile }}</td><td>{{ r.data }}</td><td>{{ r.seed }}</td><td><code>{{ r.commit }}</code></td><td>{{ r.started }}</td><td>{{ r.totals }}</td><td>{{ r.changes }}</td></tr>
{% endfor %}</tbody></table>
<h2>Status of every claim, run by run</h2>
<p class="muted">Oldest run on the left. A framed cell changed status since the run before it.</p>
<table><thead><tr><th>claim</th>{% for r in runs %}<th><a href="{{ r.href }}">{{ loop.index }}</a></th>{% endfor %}</tr></thead><tbody>
{% for cid, cells in matrix %}<tr><td><code>{{ cid }}</code></td>{% for s, changed in cells %}<td{% if changed %} class="changed" title="changed"{% endif %}>{% if s %}<span class="st" style="background:{{ colour(s) }};color:{{ tcol(s) }}">{{ s }}</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
# `x` in a digest line (markdown's inline code) -> <code>x</code>, after escaping the text
_ENV.filters["code"] = lambda text: markupsafe.Markup(re.sub(r"`([^`]*)`", r"<code>\1</code>", str(markupsafe.escape(text))))


def render(template: str, **ctx) -> str:
    return _ENV.from_string(template).render(colour=colour, tcol=text_colour, **ctx)


def anchor(cid: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in cid)


# ---------------------------------------------------------------- one report

def slack_plot(cid: str, outcome: Outcome) -> tuple[str | None, str]:
    """(base64 PNG, caption) of the claim's sides along the run verify recorded for it (None when nothing
    can be plotted)."""
    rec = outcome.series.get(cid)
    if rec is None:
        return None, ""
    fig = plots.slack_figure(cid, rec["relation"], rec["series"], f"run {rec['run']}")
    if fig is None:
        return None, ""
    return plots.png_base64(fig, dpi=80), (
        f"Both sides along {rec['which']} ({rec['run']}), at each point the binding element (layer / index of "
        "smallest slack); below, the slack (red: violated beyond its tolerance).")


def claim_section(cid: str, row: dict, outcome: Outcome, with_plots: bool) -> dict:
    claim = REGISTRY[cid]
    vs = [v for v in outcome.verdicts if v.claim_id == cid]
    statement = claim.statement
    sec = {"id": cid, "anchor": anchor(cid), "status": row["status"], "ref": row.get("ref", ""),
           "kind": row["kind"], "statement": statement,
           "erratum": claim.erratum or None, "figure": FIGURE_OF.get(cid) if vs else None, "hint": row.get("hint", ""),
           "method": METHODS.get(row["kind"], row["kind"]),
           "by_status": ", ".join(f"{k} {n}" for k, n in row.get("runs_by_status", {}).items()) or "none",
           "n_checked": row["n_checked"], "slack": fmt(row["worst_slack"]), "worst": None, "control": "",
           "control_note": "", "messages": [], "proof": "", "counterexample": "", "reproduce": "", "details": [], "plot": None,
           "evidence": evidence_lines(row),
           "plot_caption": ""}
    if not vs:
        return sec
    ctrl = row.get("control")
    if ctrl:
        sec["control"] = "caught (reported failing)" if ctrl["caught"] else "NOT CAUGHT"
        sec["control_note"] = ctrl["note"]
    if claim.kind == "experiment" and claim.trend is None:  # a redrawn experiment: its verdict says what was required
        sec["messages"] = [v.message for v in vs]
        sec["method"] = "the paper's experiment redrawn (see the figure); checked that the run moves as the caption says"
        sec["details"] = [{"run": v.run_id, "rows": details_rows(v.details)} for v in vs if v.details]
        return sec
    worst = min((v for v in vs if v.worst_slack is not None), key=lambda v: v.worst_slack, default=None)
    if worst is not None and worst.lhs is not None:  # identities have a residual, not two sides
        sec["worst"] = {"lhs": fmt(worst.lhs, 6), "rhs": fmt(worst.rhs, 6), "tol": fmt(worst.tol),
                        "where": _short(worst.where) or "-", "run": worst.run_id}
    bad = [v for v in vs if v.status in ("fail", "error", "vacuous")]
    sec["messages"] = [f"{v.run_id}: {v.status}: {_short(v.message.splitlines()[0], 400) if v.message else ''}"
                       for v in bad[:5]]
    if len(bad) > 5:
        sec["messages"].append(f"... and {len(bad) - 5} more runs")
    if claim.kind == "identity" and vs[0].message:  # the proof's own account, shortened for reading
        msg = vs[0].message
        sec["proof"] = msg if len(msg) <= 1500 else msg[:1500] + " ... (full text in results.csv)"
    cx = outcome.counterexamples.get(cid)
    first_fail = next((v for v in vs if v.status == "fail"), None)
    if cx is not None:
        sec["counterexample"] = cx.message
        sec["reproduce"] = reproduce_command(cid, cx.spec)
    elif first_fail is not None:
        sec["reproduce"] = reproduce_command(cid, first_fail.spec)
    sec["details"] = [{"run": v.run_id, "rows": details_rows(v.details)} for v in vs if v.details][:8]
    if with_plots:
        sec["plot"], sec["plot_caption"] = slack_plot(cid, outcome) if claim.sides is not None else limit_plot(vs)
    return sec


def limit_plot(vs: list) -> tuple[str | None, str]:
    """(base64 PNG, caption) of a limit's quantity along its first run with a trend (else its first run)."""
    runs = [v for v in vs if v.details.get("series")]
    rep = next((v for v in runs if v.status == "trend"), runs[0] if runs else None)
    fig = None if rep is None else plots.limit_figure(rep.claim_id, rep.details, f"run {rep.run_id}")
    if fig is None:
        return None, ""
    return plots.png_base64(fig, dpi=80), (f"{rep.details.get('quantity', 'the quantity')} along {rep.run_id} "
                                           "against the threshold it must reach (dashed).")


def _short(text: str, n: int = 90) -> str:
    """'where' of a static claim can be a whole repr: keep its head (results.csv has it all)."""
    return text if len(text) <= n else text[:n] + " ..."


def summary_row(cid: str, row: dict, sec: dict) -> dict:
    ctrl = row.get("control")
    method = METHODS.get(row["kind"], row["kind"])
    if row.get("hint"):  # an experiment that needs an input this run did not get
        method = row["hint"]
    elif cid in FIGURE_OF:
        method = ("AlexNet trained by aligncheck alexnet (Figure 3 section); checked that training raised "
                  "every dense layer's ratio" if FIGURE_OF[cid] == "fig3" else
                  "experiment redrawn (Figures section); the run moves as the caption says")
    return {"id": cid, "anchor": anchor(cid), "ref": row.get("ref", ""), "statement": sec["statement"],
            "status": row["status"], "n_runs": row["n_runs"],
            "slack": fmt(row["worst_slack"]) if "log_threshold_over_final" not in row
            else f"log(thr/final) {fmt(row['log_threshold_over_final'])}",
            "rel_slack": fmt(row["rel_slack"]),
            "trivial": "" if row["trivial_share"] is None else f"{row['trivial_share']:.0%}",
            "runs": f"{row['runs_checked']} / {row['runs_vacuous']} / {row['runs_inconclusive']}",
            "n_checked": row["n_checked"], "method": method,
            "control": "" if not ctrl else ("caught" if ctrl["caught"] else "NOT CAUGHT")}


def figure_blocks(outcome: Outcome) -> list[dict]:
    """Figures 1 and 2, drawn from the runs verify kept, with the numbers their verdicts recorded."""
    facts = {v.claim_id: v.details for v in outcome.verdicts if v.claim_id in ("FIG1a", "FIG1b", "FIG2")}
    by_fig = {"fig1a": "FIG1a", "fig1b": "FIG1b", "fig2": "FIG2"}
    return [{"name": name, "png": plots.png_base64(draw(outcome.figures[key]), dpi=100), "caption": CAPTIONS[name],
             "paper": PAPER_CAPTIONS[name], "facts": [(k, fmt(v, 4)) for k, v in facts.get(by_fig[name], {}).items()]}
            for name, (key, draw) in plots.FIGURES.items() if key in outcome.figures]


def fig3_block(result: dict) -> dict:
    """Figure 3 from a finished `aligncheck alexnet` result (theorems.experiments.alexnet.load_result),
    embedded like the other figures, so the page stays self-contained."""
    from theorems.experiments.alexnet import RULE

    facts = []
    for v in result["verdicts"]:
        facts += [(f"{v['claim_id']} ({v['init']}): status", v["status"]),
                  (f"{v['claim_id']}: final ratio / lower bound (dense 1, 2, 3)", fmt_list(v["ratio_over_bound"])),
                  (f"{v['claim_id']}: final ratio / initial ratio (dense 1, 2, 3)", fmt_list(v["final_over_initial"]))]
    return {"name": "fig3", "png": plots.png_base64(plots.figure3(result), dpi=100), "caption": CAPTIONS["fig3"],
            "paper": PAPER_CAPTIONS["fig3"], "facts": facts, "dir": result["dir"], "data": result["data"],
            "width_scale": result["width_scale"], "device": result["device"], "rule": RULE}


def render_report(outcome: Outcome, summary: dict, with_plots: bool = True, with_figures: bool = True) -> str:
    """The whole report.html as a string."""
    p = outcome.provenance
    sections = [claim_section(cid, row, outcome, with_plots) for cid, row in summary.items()]
    rows = [summary_row(cid, row, sec) for (cid, row), sec in zip(summary.items(), sections)]
    fig3 = outcome.figures.get("fig3")
    return render(TEMPLATE, p=_Prov(p), counts=list(status_counts(summary).items()), n_specs=len(outcome.specs),
                  versions=", ".join(f"{k} {v}" for k, v in p.get("versions", {}).items() if v),
                  backend=backend_note(p).replace("**", ""), rows=rows, claims=sections,
                  figures=figure_blocks(outcome) if with_figures else [],
                  fig3=fig3_block(fig3) if fig3 is not None else None, statuses=STATUS_MEANINGS,
                  digest=[(DIGEST_TITLES[k], v) for k, v in digest(summary).items()],
                  method=method_notes(), specs=[(f"run{i:03d}", s.to_json()) for i, s in enumerate(outcome.specs)])


class _Prov(dict):
    """Provenance with attribute access and None for what an older outcome lacks."""

    def __getattr__(self, k):
        return self.get(k)


# ---------------------------------------------------------------- the index of all runs

def _load_runs(root: Path) -> list[dict]:
    runs = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and (p / "summary.json").is_file()):
        try:
            s = json.loads((d / "summary.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue
        runs.append({"dir": d, "summary": s})
    return sorted(runs, key=lambda r: (str(r["summary"].get("provenance", {}).get("started", "")), r["dir"].name))


def changes(prev: dict, cur: dict) -> list[str]:
    """'ID: old -> new' for every claim whose status differs between two summaries' claims."""
    out = []
    for cid, row in cur.items():
        old = prev.get(cid, {}).get("status")
        if old != row.get("status"):
            out.append(f"{cid}: {old or 'absent'} -> {row.get('status')}")
    return out


def render_index(root: str | Path) -> str:
    root = Path(root)
    runs = _load_runs(root)
    ids = []
    for r in runs:
        ids += [c for c in r["summary"].get("claims", {}) if c not in ids]
    table, previous = [], {}   # the last run of each (profile, data): runs on other data are no regression
    for r in runs:
        claims, p = r["summary"].get("claims", {}), r["summary"].get("provenance", {})
        counts = Counter(str(row.get("status")) for row in claims.values())   # older reports: other statuses too
        key = (p.get("profile"), p.get("data"))
        prev = previous.get(key)
        ch = changes(prev, claims) if prev else []
        report = "report.html" if (r["dir"] / "report.html").is_file() else "report.md"
        table.append({"name": r["dir"].name, "href": f"{r['dir'].name}/{report}", "profile": p.get("profile", ""),
                      "data": p.get("data") or "generated", "seed": p.get("seed", ""),
                      "commit": (p.get("git_commit") or "")[:10],
                      "started": p.get("started", ""), "totals": ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
                      "changes": ("; ".join(ch[:12]) + (f"; ... {len(ch) - 12} more" if len(ch) > 12 else ""))
                      if prev else "(first of this profile and data)"})
        previous[key] = claims
    matrix = []
    for cid in ids:
        cells, last = [], None
        for r in runs:
            s = r["summary"].get("claims", {}).get(cid, {}).get("status")
            cells.append((s, last is not None and s != last))
            last = s if s is not None else last
        matrix.append((cid, cells))
    return render(INDEX_TEMPLATE, runs=table, matrix=matrix)


def write_index(root: str | Path) -> Path:
    """reports/index.html: every run under `root` (directories with summary.json), oldest first."""
    root = Path(root)
    path = root / "index.html"
    write_atomic(path, render_index(root))
    return path
