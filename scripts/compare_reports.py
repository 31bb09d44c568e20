"""Compare two verification reports: the same statuses and slacks, claim by claim and row by row.

    python scripts/compare_reports.py reports/A reports/B [--rtol 1e-12]

Reads each folder's summary.json (one status and worst slack per claim) and results.csv (one row per
claim x run).  Prints every difference and exits 1 if there is one, 0 if the reports agree.  Timing,
provenance and message texts are not compared.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEY = ["claim_id", "run_id"]
COMPARED = ["status", "worst_slack", "n_checked"]


def claims_table(folder: Path) -> pd.DataFrame:
    claims = json.loads((folder / "summary.json").read_text())["claims"]
    return pd.DataFrame.from_dict(claims, orient="index")[["status", "worst_slack", "n_runs", "n_checked"]]


def rows_table(folder: Path) -> pd.DataFrame:
    df = pd.read_csv(folder / "results.csv", keep_default_na=False, na_values=[""])
    return df.set_index(KEY)[COMPARED].sort_index()


def differences(a: pd.DataFrame, b: pd.DataFrame, rtol: float) -> list[str]:
    """One line per index present in only one table, or with a different value in some column."""
    out = [f"only in A: {i}" for i in a.index.difference(b.index)]
    out += [f"only in B: {i}" for i in b.index.difference(a.index)]
    common = a.index.intersection(b.index)
    for col in a.columns.intersection(b.columns):
        x, y = a.loc[common, col], b.loc[common, col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            same = np.isclose(x.astype(float), y.astype(float), rtol=rtol, atol=0.0, equal_nan=True)
        else:
            same = (x.astype(str) == y.astype(str)).to_numpy()
        out += [f"{i}: {col} {x[i]!r} -> {y[i]!r}" for i in common[~same]]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-12, help="relative tolerance on slacks (default 1e-12)")
    args = ap.parse_args(argv)
    for folder in (args.a, args.b):
        if not (folder / "summary.json").is_file() or not (folder / "results.csv").is_file():
            print(f"compare_reports: {folder} holds no summary.json and results.csv", file=sys.stderr)
            return 2
    claims = differences(claims_table(args.a), claims_table(args.b), args.rtol)
    rows = differences(rows_table(args.a), rows_table(args.b), args.rtol)
    for line in claims + rows:
        print(line)
    n_claims, n_rows = len(claims_table(args.a)), len(rows_table(args.a))
    print(f"{len(claims)} claim differences over {n_claims} claims, {len(rows)} row differences over {n_rows} rows")
    return 1 if claims or rows else 0


if __name__ == "__main__":
    sys.exit(main())
