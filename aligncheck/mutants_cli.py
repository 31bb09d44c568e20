"""`aligncheck mutants`: the suite measures its own detection power.

Every mutant of theorems.run.mutants (a deliberately broken simulator or claim) runs `verify` in a fresh
interpreter; `judge` digests each Outcome the way `aligncheck verify` reports it (summarise,
checked_nowhere, the exit decision), and the table says which mutants the suite killed, by which claims,
and the mutation score killed / counted.
"""
from __future__ import annotations

import json
import sys

import click


def judge(outcome) -> dict:
    """What `aligncheck verify` would report of `outcome`: each claim's status, whether its negative
    control was caught, the claims checked nowhere and the exit status (1: a claim failed or errored, or
    one was checked nowhere)."""
    from .reporting.summary import checked_nowhere, summarise

    summary = summarise(outcome)
    nowhere = checked_nowhere(summary)
    failed = any(row["status"] in ("fail", "error") for row in summary.values())
    return {"status": {cid: row["status"] for cid, row in summary.items()},
            "control_caught": {cid: row["control"]["caught"] for cid, row in summary.items() if row["control"]},
            "nowhere": nowhere, "exit": int(failed or bool(nowhere))}


def _progress(row: dict) -> None:
    verdict = "KILLED" if row["killed"] else "survived"
    click.echo(f"  {row['name']}: {verdict} ({row['seconds']:.0f} s) {_shown(row['by'])}", err=True)


def _shown(by: list[str], most: int = 6) -> str:
    """The first `most` catchers, and how many more (--json lists them all)."""
    if not by:
        return "-"
    more = f" (+{len(by) - most} more)" if len(by) > most else ""
    return ", ".join(by[:most]) + more


def table(report: dict) -> str:
    """The plain-text table: mutant, counted, killed, by which claims; then the score."""
    lines = [f"{'mutant':<28} {'counted':<8} {'killed':<7} by", "-" * 100]
    for r in report["mutants"]:
        by = _shown(r["by"])
        lines.append(f"{r['name']:<28} {'yes' if r['counted'] else 'no':<8} {'yes' if r['killed'] else 'NO':<7} {by}")
    lines += ["", "not counted (every statement stays true, or verify never runs the code):"]
    lines += [f"  {r['name']}: {r['why_not_counted']}" for r in report["mutants"] if not r["counted"]]
    frac = report["score"]
    lines += ["", f"profile {report['profile']}: baseline {report['baseline_seconds']:.0f} s (exit "
              f"{report['baseline_exit']}), budget per mutant {report['budget_seconds']:.0f} s",
              f"mutation score: {report['killed']}/{report['counted']}" + (f" = {frac:.2f}" if frac is not None else "")]
    survivors = [r["name"] for r in report["mutants"] if r["counted"] and not r["killed"]]
    if survivors:
        lines.append("survivors: " + ", ".join(survivors))
    return "\n".join(lines)


@click.command("mutants")
@click.option("--profile", type=click.Choice(["quick", "ci"]), default="ci", show_default=True,
              help="the verify profile every mutant is run against")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=2, show_default=True,
              help="mutants run at the same time (each in a fresh interpreter)")
@click.option("--json", "as_json", is_flag=True, help="print the report as one JSON object")
@click.option("--mutant", "names", multiple=True, help="run only these mutants (repeatable)")
@click.option("--seed", type=int, default=0, show_default=True)
def mutants_command(profile: str, workers: int, as_json: bool, names: tuple[str, ...], seed: int) -> None:
    """Run verify against a catalogue of deliberately broken simulators and claims; report which the
    suite kills (a claim turns fail/error, a control is no longer caught, an erratum is lost, a claim
    becomes checked nowhere, the exit status changes, or the run hangs past 4x the baseline's time) and
    the mutation score killed / counted."""
    from theorems.run.mutants import RunConfig, by_name, run_catalogue

    try:
        for n in names:
            by_name(n)
    except KeyError as exc:
        click.echo(f"aligncheck: error: {exc.args[0]}", err=True)
        sys.exit(2)
    cfg = RunConfig(profile=profile, seed=seed, judge=f"{__name__}:judge")
    click.echo(f"mutants [{profile}]: baseline first, then {len(names) or 'every'} mutant(s), {workers} at a time",
               err=True)
    report = run_catalogue(cfg, workers=workers, names=list(names) or None, on_result=_progress)
    click.echo(json.dumps(report, indent=1) if as_json else table(report))
