"""The machine-readable results: one row per verdict (results.csv always; verdicts.jsonl and
results.parquet on request), built as a pandas DataFrame so that other tools can filter and compare."""
from __future__ import annotations

import json
import math
from pathlib import Path

from typing import IO, Iterator

import pandas as pd

from theorems.model import Outcome

from .summary import reproduce

COLUMNS = ("claim_id", "status", "run_id", "worst_slack", "rel_slack", "trivial_share", "lhs", "rhs", "tol", "where",
           "n_checked", "seconds", "message", "spec", "reproduce")
FORMATS = ("csv", "jsonl", "parquet")  # the results table; CSV is always written


def json_safe(x: object) -> object:
    """NaN/inf are not JSON: write them as strings, like the CSV does."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


def verdict_records(outcome: Outcome) -> Iterator[dict]:
    """One flat dict per verdict (negative controls flagged), the rows of every table format."""
    for v in outcome.verdicts:
        yield {**v.row(), "control": False}
    for v in outcome.controls:
        yield {**v.row(), "control": True}


def results_frame(outcome: Outcome) -> pd.DataFrame:
    """The claims' verdicts (controls left out) with the columns of results.csv, each with the command that
    reproduces it."""
    rows = [v.row() | {"reproduce": reproduce(v)} for v in outcome.verdicts]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_csv(outcome: Outcome, path: str | Path) -> Path:
    results_frame(outcome).to_csv(path, index=False)
    return Path(path)


def write_jsonl(outcome: Outcome, fh: IO[str]) -> int:
    """The verdicts as JSON Lines (one object per line, stable keys, `details` kept): a stream other
    tools can consume line by line, e.g. `jq 'select(.status == "fail")'`."""
    n = 0
    for rec in verdict_records(outcome):
        fh.write(json.dumps(json_safe(rec), default=str, sort_keys=True) + "\n")
        n += 1
    return n


def write_parquet(outcome: Outcome, path: str | Path) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("--format parquet needs pyarrow: pip install pyarrow") from None
    rows = [dict(r, details=json.dumps(json_safe(r["details"]), default=str)) for r in verdict_records(outcome)]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return Path(path)
