"""Tests generated from the registry: each claim against hypothesis-drawn runs, its negative
control against the same machinery, and meta-tests that every catalogued claim is registered,
tested and reported.  Printed statements known false (a claim declaring `erratum=`) are strict xfails."""
import fcntl
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import Phase, given, note, settings

from dynamics.runs import RunSpec, simulate
from aligncheck.reporting.summary import summarise
from theorems import REGISTRY
from theorems.engine.evaluate import evaluate
from theorems.model import errata
from theorems.run import plan
from theorems.run.profiles import profile_specs, violating_a12
from theorems.run.strategies import run_specs
from theorems.run.verify import verify

ERRATA = errata()

CHECKED = [c for c in REGISTRY.values() if c.sides is not None]


def _param(claim):
    marks = [pytest.mark.xfail(strict=True, reason=ERRATA[claim.id])] if claim.id in ERRATA else []
    return pytest.param(claim, id=claim.id, marks=marks)


@pytest.mark.parametrize("claim", [_param(c) for c in CHECKED])
def test_claim_holds_on_drawn_runs(claim):
    """The claim holds on its catalogued counterexample (an erratum's witness: it must not) and on drawn runs."""
    method = None if claim.runs == "any" else claim.runs
    loss = "logistic" if "A3.1" in claim.hypotheses else None
    if claim.witness is not None:
        v = evaluate(claim, simulate(claim.witness), spec=claim.witness.to_json())
        assert v.status in ("pass", "vacuous"), v.message

    # an erratum's strict xfail needs one failing example, not hypothesis's shrinking of whole simulations
    phases = (Phase.explicit, Phase.generate) if claim.erratum else tuple(Phase)

    @settings(phases=phases)
    @given(run_specs(method=method, loss=loss))
    def check(spec):
        note(f"reproduce: aligncheck check {claim.id} --spec '{spec.to_json()}'")
        traj = simulate(spec)
        if not plan.speaks_about(claim, traj):
            return
        v = evaluate(claim, traj, spec=spec.to_json())
        note(v.message)
        ok = ("pass", "vacuous", "fail") if claim.assumption else ("pass", "vacuous")
        assert v.status in ok, v.message

    check()


# the identities are proved (and their controls refuted, their errata found) in tests/test_symbolic.py; here the
# quick profile runs every other claim, which spares each test worker ~10 s of sympy
ON_RUNS = [cid for cid, c in REGISTRY.items() if c.kind != "identity"]


@pytest.fixture(scope="module")
def quick(tmp_path_factory, request):
    """The quick profile's outcome, computed once per test session: under xdist the first worker to get here
    runs it on two processes while the others wait, then all read it (our own pickle, in the session's
    temporary folder)."""
    if not hasattr(request.config, "workerinput"):   # not an xdist worker
        return verify("quick", seed=0, claims=ON_RUNS)
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "quick.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = shared / "quick-outcome.pickle"
        if not path.exists():
            path.write_bytes(pickle.dumps(verify("quick", seed=0, claims=ON_RUNS, jobs=2)))
        return pickle.loads(path.read_bytes())


@pytest.mark.parametrize("claim", [pytest.param(c, id=c.id) for c in CHECKED if c.control])
def test_negative_control_is_caught(quick, claim):
    """The deliberately wrong variant must be reported as failing by the same machinery."""
    controls = [v for v in quick.controls if v.claim_id == claim.id + "~control"]
    assert controls, f"{claim.id}: its control was never evaluated"
    assert any(v.status == "fail" for v in controls), [v.message for v in controls]


@pytest.mark.parametrize("claim", [pytest.param(c, id=c.id) for c in REGISTRY.values() if c.trend is not None])
def test_asymptotic_claims_show_a_trend_and_their_controls_fail(quick, claim):
    """On the long runs: evidence consistent with the limit somewhere, and the wrong limit refuted."""
    statuses = {v.status for v in quick.verdicts if v.claim_id == claim.id}
    assert "trend" in statuses and not statuses & {"fail", "error"}, statuses
    controls = [v for v in quick.controls if v.claim_id == claim.id + "~control"]
    assert controls and all(v.status in ("fail", "vacuous", "inconclusive") for v in controls)
    assert any(v.status == "fail" for v in controls), [v.message for v in controls]


def test_every_inequality_has_a_negative_control():
    assert [c.id for c in CHECKED if c.control is None] == []


@pytest.mark.parametrize("claim", [pytest.param(c, id=c.id) for c in CHECKED])
def test_claim_is_checked_somewhere_in_the_quick_profile(quick, claim):
    """A claim that is vacuous on every run of the default profile would be a check that cannot fail."""
    statuses = {v.status for v in quick.verdicts if v.claim_id == claim.id}
    assert statuses & {"pass", "fail"}, f"{claim.id}: only {statuses}"


def test_every_registered_claim_is_reported(quick):
    summary = summarise(quick)
    assert set(REGISTRY) == set(summary)
    assert all(summary[c]["status"] != "not checked" for c in ON_RUNS if c not in ("FIG3a", "FIG3b"))


def test_registry_covers_claims_md():
    """Every ID of the catalogue the project follows is registered (the registry is the project's own
    catalogue; this compares it with the shared one when that is beside the checkout)."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "CLAIMS.md"
    if not path.exists():
        pytest.skip("../shared/CLAIMS.md not beside the checkout")
    ids = re.findall(r"^\|\s*`([A-Z][A-Za-z0-9.\-]+)`", path.read_text(), re.M)
    assert sorted(set(ids) - set(REGISTRY)) == []
    extra = [cid for cid in REGISTRY if cid not in ids]
    # corrected forms are claims of their own; "-rate" claims are the finite-time forms of catalogued limits
    assert all(cid.endswith(("-corrected", "-rate")) for cid in extra), extra


def test_errata_are_registered_and_found(quick):
    summary = summarise(quick)
    for cid in ERRATA:
        assert cid in REGISTRY
        if cid not in ON_RUNS:
            continue   # an identity: tests/test_symbolic.py::test_printed_erratum
        assert summary[cid]["status"] == "erratum", cid
        if REGISTRY[cid].sides is not None:
            assert quick.counterexamples.get(cid) is not None, f"{cid}: no shrunk counterexample"


def test_vacuous_path_when_assumption_1_2_fails():
    spec = violating_a12(profile_specs("quick")[0])
    traj = simulate(spec)
    assert evaluate(REGISTRY["A1.2"], traj).status == "fail"
    v = evaluate(REGISTRY["L2.3"], traj)
    assert v.status == "vacuous" and "A1.2" in v.message


def test_vacuous_when_assumption_3_1_fails():
    traj = simulate(RunSpec(loss="exp", method="gd", policy="constant", eta=0.1, horizon=50))
    assert evaluate(REGISTRY["EQC.19"], traj).status == "vacuous"
