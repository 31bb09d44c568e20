"""The command line: `aligncheck verify | claims | problem | check` (also `python -m theorems`).

Bad input ends with one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from dynamics.data import DataError
from dynamics.geometry import NotSeparable

USER_ERRORS = (DataError, NotSeparable, ValueError, OSError)


def _fail(msg: str):
    click.echo(f"aligncheck: error: {msg}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Check, claim by claim, Ji & Telgarsky (2019): gradient descent aligns the layers of deep
    linear networks."""


@main.command()
@click.option("--profile", type=click.Choice(["quick", "ci", "thorough"]), default="ci", show_default=True,
              help="how many runs, how long, how hard to shrink counterexamples")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="report directory [default: reports/<timestamp>-<profile>-s<seed>]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data", "data_file", type=click.Path(), default=None,
              help="run every claim on your dataset (.csv with a 'y' column, or .npz with X and y)")
@click.option("--claim", "claims", multiple=True, help="check only these claim IDs (repeatable)")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "torch"]), default="auto", show_default=True,
              help="backend for gradient-descent runs: auto = CUDA if torch sees one, else numpy; flows and all "
                   "analysis stay numpy float64; a torch backend also records the agreement of a few runs with "
                   "the numpy reference (on the suite's tiny networks numpy measured fastest: quick profile 34 s vs "
                   "44 s on torch-CPU)")
@click.option("--format", "formats", multiple=True, type=click.Choice(["csv", "jsonl", "parquet"]),
              default=("csv", "jsonl"), show_default=True,
              help="results table formats (results.csv is always written; parquet needs pyarrow)")
@click.option("--alexnet", "alexnet_dir", type=click.Path(), default=None, metavar="DIR",
              help="a finished `aligncheck alexnet --out DIR` folder: adds Figure 3 (FIG3a, FIG3b) to the report")
def verify(profile, out, seed, data_file, claims, device, formats, alexnet_dir):
    """Run every claim and write the verification report (report.html, report.md, results, summary.json)."""
    from tqdm import tqdm

    from dynamics import backend

    from . import REGISTRY, report
    from .alexnet import load_result
    from .asymptotic import specs as long_specs
    from .verify import profile_specs, verify as run_verify

    unknown = [c for c in claims if c not in REGISTRY]
    if unknown:
        _fail(f"unknown claim id(s) {unknown}; see `aligncheck claims`")
    if data_file:
        _check_data(data_file)
    alexnet = None
    if alexnet_dir is not None:  # plain JSON (no torch), read before the long run so a bad folder fails fast
        try:
            alexnet = load_result(alexnet_dir)
        except ValueError as exc:
            _fail(str(exc))
    if "parquet" in formats:  # fail before the long run, not after
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            _fail("--format parquet needs pyarrow: pip install pyarrow")
    try:
        backend.resolve(device)
    except backend.BackendUnavailable as exc:
        _fail(str(exc))
    try:
        total = len(profile_specs(profile, seed, data_file)) + len(long_specs(profile, seed, data_file)) + 1
    except USER_ERRORS as exc:
        _fail(str(exc))
    with tqdm(total=total, desc=f"verify [{profile}]", unit="run", file=sys.stderr, dynamic_ncols=True) as bar:
        def tick(label):
            if label.startswith("shrink"):
                bar.set_postfix_str(label)
            else:
                bar.update(1)
        outcome = run_verify(profile, seed, data_file, list(claims) or None, progress=tick, device=device)
    out_dir = Path(out) if out else Path("reports") / report.default_run_id(profile, seed)
    report.write(outcome, out_dir, formats=formats, alexnet=alexnet)
    summary = report.summarise(outcome)
    counts = {}
    for row in summary.values():
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    click.echo(f"report: {out_dir / 'report.html'}  (also report.md)")
    click.echo("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    for cid, row in summary.items():
        if row["status"] in ("fail", "error"):
            click.echo(f"  {row['status'].upper()}: {cid}", err=True)
    sys.exit(1 if any(r["status"] in ("fail", "error") for r in summary.values()) else 0)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable list")
def claims(as_json):
    """List the registered claims."""
    from . import REGISTRY

    rows = [{"id": c.id, "paper_ref": c.ref, "kind": c.kind, "statement": c.statement, "runs": c.runs,
             "hypotheses": list(c.hypotheses), "negative_control": c.control_note or None}
            for c in REGISTRY.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        click.echo(f"{r['id']:<20} {r['kind']:<10} {r['paper_ref']:<45} {r['statement']}")


def _check_data(path):
    from dynamics.data import load

    try:
        return load(path)
    except USER_ERRORS as exc:
        _fail(str(exc))


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


@main.command()
@click.option("--data", "data_file", type=click.Path(), required=True)
@click.option("--json", "as_json", is_flag=True)
def problem(data_file, as_json):
    """The certified quantities of a dataset: margin, max-margin direction, support, alpha, thresholds."""
    from .problem import certify

    ds = _check_data(data_file)
    g = certify(ds.Z)
    info = {
        "separable": True, "n": ds.n, "d": ds.d, "gamma": g.gamma, "ubar": g.ubar.tolist(),
        "support": g.support.tolist(), "dual": g.dual[g.support].tolist(), "kkt_residual": g.kkt_residual,
        "assumption_2_7": g.spans_space, "assumption_2_7_relaxed": g.spans_data, "alpha": _clean(g.alpha),
        "lemma_2_11_thresholds": {k: {r: _clean(v) for r, v in d.items()} for k, d in g.thresholds().items()},
    }
    if as_json:
        click.echo(json.dumps(info, indent=1))
        return
    for k, v in info.items():
        click.echo(f"{k:>24}: {v}")


@main.command()
@click.argument("claim_id")
@click.option("--spec", default=None, help="RunSpec JSON (as printed in a report); default: a standard run")
def check(claim_id, spec):
    """Check one claim on one run (the reproduce command of a report)."""
    from dynamics.runs import RunSpec, simulate

    from . import REGISTRY
    from .evaluate import applies, evaluate, evaluate_identity

    if claim_id not in REGISTRY:
        _fail(f"unknown claim id {claim_id!r}; see `aligncheck claims`")
    claim = REGISTRY[claim_id]
    if claim.kind == "identity":
        v = evaluate_identity(claim)
    else:
        try:
            run = RunSpec.from_json(spec) if spec else RunSpec(method="flow" if claim.runs != "gd" else "gd",
                                                               policy=None if claim.runs != "gd" else "a35")
            traj = simulate(run)
        except (json.JSONDecodeError, TypeError) as exc:
            _fail(f"bad --spec: {exc}")
        except USER_ERRORS as exc:
            _fail(str(exc))
        if not applies(claim, traj):
            _fail(f"{claim_id} speaks about {claim.runs} runs; this spec is a {traj.method} run")
        v = evaluate(claim, traj, "check", run.to_json())
    from .errata import ERRATA

    known = f" (known erratum: {ERRATA[claim_id]})" if v.status == "fail" and claim_id in ERRATA else ""
    click.echo(f"{claim_id}: {v.status}{known}  (checked {v.n_checked} points, worst slack {v.worst_slack})")
    if v.message:
        click.echo("  " + v.message.splitlines()[0])
    sys.exit(1 if v.status in ("fail", "error") else 0)


def _add_commands():
    from .alexnet import alexnet_command
    from .figures import command as figures_command

    main.add_command(alexnet_command)
    main.add_command(figures_command, "figures")


_add_commands()
