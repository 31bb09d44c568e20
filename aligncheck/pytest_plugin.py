"""The pytest plugin (installed with the package as the `pytest11` entry point `aligncheck`).

In a test, the `aligncheck_check` fixture checks a claim on a trajectory and fails the test like an assert,
with the claim's statement, slack and reproduce information:

    def test_my_training(aligncheck_check):
        traj = aligncheck.trajectory(recorded_weights, X, y, step_sizes=0.1)
        aligncheck_check("L2.6a", traj)

`pytest --aligncheck-report DIR` writes the usual report (report.md, report.html, results.csv,
verdicts.jsonl, summary.json) of every verdict the session's tests checked.  Under pytest-xdist each
worker hands its verdicts to the controller, which writes the report once.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import pytest

FAILING = ("fail", "error")
_KEY = "aligncheck_verdicts"
_STASH = pytest.StashKey[list]()   # the verdicts this process checked


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aligncheck")
    group.addoption("--aligncheck-report", metavar="DIR", default=None,
                    help="write an aligncheck verification report of the verdicts checked in this session")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STASH] = []


def failure_text(v: object) -> str:
    """What a failing claim says in a test: its statement, where and by how much, and how to reproduce it."""
    from theorems.model import REGISTRY   # imported when used: loading the plugin stays cheap

    claim = REGISTRY[v.claim_id]
    lines = [f"aligncheck: {v.claim_id} ({claim.ref}) is {v.status}: {claim.statement}",
             f"  worst slack {v.worst_slack} (relative {v.rel_slack}, tolerance {v.tol}) at {v.where}"]
    if v.message:
        lines.append("  " + v.message.splitlines()[0])
    if claim.erratum:
        lines.append(f"  (a catalogued erratum: {claim.erratum})")
    if v.spec:
        from aligncheck.reporting.summary import reproduce

        lines.append(f"  reproduce: {reproduce(v)}")
    return "\n".join(lines)


@pytest.fixture
def aligncheck_check(request: pytest.FixtureRequest) -> Callable:
    """check(claim_id, trajectory=None) -> theorems.model.Verdict: fails the test when the claim fails or errors on it
    (a catalogued erratum fails too: mark such a test xfail); the verdict joins the session's report."""
    from aligncheck.api import check

    def run(claim_id: str, traj: object = None) -> object:
        v = check(claim_id, traj)
        v.run_id = request.node.nodeid
        request.config.stash[_STASH].append(v)
        if v.status in FAILING:
            pytest.fail(failure_text(v), pytrace=False)
        return v

    return run


@pytest.hookimpl(optionalhook=True)   # a pytest-xdist hook: absent without xdist
def pytest_testnodedown(node: object, error: object) -> None:
    """xdist controller: collect a worker's verdicts."""
    from theorems.model import Verdict

    rows = getattr(node, "workeroutput", {}).get(_KEY)
    if rows:
        node.config.stash[_STASH].extend(Verdict(**r) for r in json.loads(rows))


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    verdicts = config.stash.get(_STASH, [])
    if hasattr(config, "workeroutput"):   # an xdist worker: hand the verdicts to the controller
        config.workeroutput[_KEY] = json.dumps([asdict(v) for v in verdicts], default=str)
        return
    out = config.getoption("--aligncheck-report")
    if out is None:
        return
    from aligncheck.reporting.write import write
    from theorems.model import Outcome
    from theorems.run.verify import provenance

    outcome = Outcome(verdicts=list(verdicts), provenance=provenance("pytest", 0, None) | {"seconds": 0.0})
    write(outcome, Path(out), html=True, plots=False, figures=False, index=False)
