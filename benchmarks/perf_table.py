"""The README's performance table, regenerated from the benchmarks in one run:

    python benchmarks/perf_table.py            # print the table
    python benchmarks/perf_table.py --write    # and replace it in README.md (between the perf-table markers)

It runs benchmarks/regime.py (the compiled engine and numpy against the plain PyTorch autograd loop measured in
the same run), benchmarks/watch_overhead.py (recording cost) and benchmarks/problem_size.py (`aligncheck
problem` end to end), each in its own process, and states the machine's load: ratios, not absolute times,
are what carries over between machines."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
BEGIN, END = "<!-- perf-table: begin (python benchmarks/perf_table.py --write) -->", "<!-- perf-table: end -->"


def _run(script: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True, cwd=HERE.parent)
    if out.returncode != 0:
        raise SystemExit(f"{script} failed ({out.returncode}): {out.stderr.strip()[-400:]}")
    return out.stdout


def regime_rows() -> list[str]:
    ratios = [json.loads(line) for line in _run("regime.py", "--repeats", "3", "--no-jax").splitlines()
              if line.startswith("{") and '"ratio"' in line]
    rows = []
    for r in ratios:
        took = "" if r.get("regime_seconds") is None else f"regime reached in {r['regime_seconds']:.2f} s"
        rows.append(f"| {r['ratio'].replace(' over the autograd loop', '')} | {r['median_wall']:.1f}x "
                    f"(CPU {r['median_cpu']:.1f}x) | {took} |")
    return rows


def watch_rows() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        _run("watch_overhead.py", "--threads", "1", "--json", f"{tmp}/w.json")
        res = json.loads(Path(f"{tmp}/w.json").read_text())
    return [f"| `watch` recording, {r['model']} on {r['device']}, every={r['every']} | "
            f"{r['overhead_per_record_pct']:.2f}% of a step | one record {r['record_ms']:.2f} ms, "
            f"a step {r['step_ms']:.1f} ms |" for r in res]


def problem_rows() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        _run("problem_size.py", "--json", f"{tmp}/p.json")
        res = json.loads(Path(f"{tmp}/p.json").read_text())
    return [f"| `aligncheck problem`, n = {r['n']}, d = {r['d']} (end to end) | {r['wall_median_s']:.2f} s "
            f"(CPU {r['cpu_median_s']:.2f} s) | of which import {r['import_median_s']:.2f} s; target < 5 s |"
            for r in res]


def table() -> str:
    load = os.getloadavg()[0]
    rows = regime_rows() + watch_rows() + problem_rows()
    return "\n".join([
        BEGIN, "",
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (1-minute load {load:.1f} before the run); "
        "speed ratios are steps per second against the plain PyTorch autograd SGD loop (float64, one thread) run "
        "in the same process (`benchmarks/_autograd.py`).", "",
        "| what | measured | note |", "|---|---|---|", *rows, "", END])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="replace the table in README.md")
    a = ap.parse_args(argv)
    text = table()
    print(text)
    if a.write:
        readme = README.read_text()
        if BEGIN not in readme or END not in readme:
            raise SystemExit(f"README.md has no perf-table markers ({BEGIN!r} ... {END!r})")
        head, rest = readme.split(BEGIN, 1)
        README.write_text(head + text + rest.split(END, 1)[1])


if __name__ == "__main__":
    main()
