"""Outcome -> reports/<run-id>/: report.md, report.html, results.csv (+ verdicts.jsonl, results.parquet),
summary.json, the figures; and the note beside the committed reference report."""
from __future__ import annotations

import json
import time
from pathlib import Path

from theorems.model import Outcome

from . import markdown
from .files import atomic, write_atomic
from .summary import reproduce_command, summarise, summary_table_md
from .tables import FORMATS, write_csv, write_jsonl, write_parquet

REFERENCE_COMMANDS = ("aligncheck alexnet --seed 0 --out reports/reference-alexnet",
                      "aligncheck verify --profile thorough --seed 0 --alexnet reports/reference-alexnet "
                      "--out reports/reference --overwrite")


def default_run_id(profile: str, seed: int) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{profile}-s{seed}"


def write(outcome: Outcome, out_dir: str | Path, formats: tuple = ("csv", "jsonl"), html: bool = True,
          plots: bool = True, figures: bool = True, index: bool | None = None) -> Path:
    """Write the report of `outcome` into out_dir.  formats: results table formats beyond the CSV
    ("jsonl", "parquet"); html: report.html (with slack plots and the redrawn Figures 1 and 2 unless turned
    off); index: refresh <out_dir's parent>/index.html (default: when that parent is named "reports").
    Figure 3 is drawn when the outcome holds an `aligncheck alexnet` result (verify's `alexnet`)."""
    from .plots import figure3

    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from {list(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(outcome)
    with atomic(out_dir / "results.csv") as tmp:
        write_csv(outcome, tmp)
    if "jsonl" in formats:
        with atomic(out_dir / "verdicts.jsonl") as tmp, open(tmp, "w") as fh:
            write_jsonl(outcome, fh)
    if "parquet" in formats:
        with atomic(out_dir / "results.parquet") as tmp:
            write_parquet(outcome, tmp)
    if "fig3" in outcome.figures:
        with atomic(out_dir / "fig3.png") as tmp:
            figure3(outcome.figures["fig3"]).savefig(tmp, dpi=120, format="png")
    write_atomic(out_dir / "summary.json", json.dumps(
        {"claims": summary, "provenance": outcome.provenance,
         "counterexamples": {k: (v.row() | {"reproduce": reproduce_command(k, v.spec)}) if v else None
                             for k, v in outcome.counterexamples.items()}}, indent=1, default=str))
    write_atomic(out_dir / "report.md", markdown.report(outcome, summary))
    if html:
        from .html import render_report

        write_atomic(out_dir / "report.html", render_report(outcome, summary, with_plots=plots, with_figures=figures))
    if index if index is not None else out_dir.resolve().parent.name == "reports":
        from .html import write_index

        write_index(out_dir.resolve().parent)
    return out_dir


def write_reference_note(out_dir: str | Path, commands: tuple = REFERENCE_COMMANDS) -> Path:
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
        "python -c \"from aligncheck.reporting import write; write.write_reference_note('reports/reference')\"",
        "```", "", "## Summary", "", summary_table_md(s["claims"]),
    ])
    return write_atomic(out_dir / "README.md", text)
