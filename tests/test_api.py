"""aligncheck as a library, used as a user would: the documented API on a network trained with plain
numpy, the pytest plugin in a test file outside the repository, load_report, prepare, the claims listing."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import aligncheck
from aligncheck.cli import main

USER_TEST = '''
import numpy as np
import aligncheck


def train(steps=60, eta=0.2, seed=0):
    """A 3-layer linear network trained by plain gradient descent on separable data, every step recorded."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 3))
    X /= 1.5 * np.linalg.norm(X, axis=1, keepdims=True)
    y = np.sign(X @ np.array([1.0, -0.5, 0.3]))
    ws = [0.5 * rng.normal(size=(4, 3)), 0.5 * rng.normal(size=(4, 4)), 0.5 * rng.normal(size=(1, 4))]
    record = [[w.copy() for w in ws]]
    for _ in range(steps):
        w_prod = (ws[2] @ ws[1] @ ws[0]).ravel()
        m = y * (X @ w_prod)
        g = -(y * np.exp(-np.logaddexp(0, m)))[:, None] * X   # logistic loss: l'(m) z_i
        g = g.mean(axis=0)[None, :]                              # grad R(w_prod) as a row
        grads = [(ws[2] @ ws[1]).T @ g, ws[2].T @ g @ ws[0].T, g @ (ws[1] @ ws[0]).T]
        ws = [w - eta * gw for w, gw in zip(ws, grads)]
        record.append([w.copy() for w in ws])
    return record, X, y, eta


def test_my_network_aligns(aligncheck_check):
    record, X, y, eta = train()
    traj = aligncheck.trajectory(record, X, y, step_sizes=eta)
    for claim in ("EQC.11-corrected", "EQC.18", "T2.8-B4", "SET-DATA"):
        aligncheck_check(claim, traj)
    # claims resting on Assumption 3.5's step sizes say so, never pass, on a constant step
    assert aligncheck.check("EQC.10", traj).status == "vacuous"
    assert aligncheck.check("EQ-GRADW").status == "pass"
'''


def test_version_and_claims():
    assert aligncheck.__version__ and CliRunner().invoke(main, ["--version"]).output.startswith("aligncheck, version")
    ids = [c.id for c in aligncheck.claims()]
    assert len(ids) == len(set(ids)) and "FIG1a" in ids and "FIG3b" in ids
    assert {c.kind for c in aligncheck.claims(kind="identity")} == {"identity"}
    listed = json.loads(CliRunner().invoke(main, ["claims", "--json"]).output)
    assert [r["id"] for r in listed] == ids and all(r["statement"] for r in listed)


def test_user_test_file_with_the_plugin_and_a_report(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TEST)
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                        str(tmp_path / "test_user.py"), "--aligncheck-report", str(out)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    frame = aligncheck.load_report(out)
    assert set(frame.index) == {c.id for c in aligncheck.claims()}
    assert frame.loc["EQC.18", "status"] == "pass" and frame.loc["FIG1a", "status"] == "not checked"
    assert len(aligncheck.load_report(out, verdicts=True)) == 4
    assert (out / "report.html").is_file() and (out / "verdicts.jsonl").is_file()


def test_a_failing_claim_fails_the_test_with_its_statement(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TEST.replace('("EQC.11-corrected", "EQC.18", "T2.8-B4", "SET-DATA")',
                                                             '("EQC.9",)'))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                        str(tmp_path / "test_user.py")], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and "aligncheck: EQC.9" in r.stdout and "catalogued erratum" in r.stdout


def test_trajectory_is_validated():
    X, y = np.array([[0.5, 0.0], [0.0, 0.5]]), np.array([1.0, -1.0])
    ws = [[np.ones((2, 2)), np.ones((1, 2))]]
    assert aligncheck.trajectory(ws, X, y).L == 2
    with pytest.raises(ValueError, match="chain"):
        aligncheck.trajectory([[np.ones((2, 3)), np.ones((1, 2))]], X, y)
    with pytest.raises(ValueError):
        aligncheck.trajectory(ws, 3 * X, y)          # ||x_i|| <= 1 fails


def test_prepare_iris_for_problem(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    frame = datasets.load_iris(as_frame=True).frame
    frame = frame[frame.target < 2].rename(columns={"target": "y"})
    raw = tmp_path / "iris.csv"
    frame.to_csv(raw, index=False)
    assert CliRunner().invoke(main, ["problem", "--data", str(raw)]).exit_code == 2   # raw iris: refused
    r = CliRunner().invoke(main, ["prepare", str(raw), str(tmp_path / "iris01.csv")])
    assert r.exit_code == 0 and "bias" in r.output, r.output
    p = CliRunner().invoke(main, ["problem", "--data", str(tmp_path / "iris01.csv"), "--json"])
    assert p.exit_code == 0 and json.loads(p.output)["separable"] is True


def test_catalogue_page_is_fresh():
    """docs/claims.md is generated from the registry; regenerate: aligncheck claims --markdown > docs/claims.md"""
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "claims.md"
    assert page.read_text() == CliRunner().invoke(main, ["claims", "--markdown"]).output


def test_registry_matches_the_shared_catalogue_kinds():
    """Every ID of ../shared/CLAIMS.md (the acceptance list) is registered with the same kind."""
    import re
    from pathlib import Path

    from theorems.model import REGISTRY

    path = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"
    if not path.exists():
        pytest.skip("../shared/CLAIMS.md not beside the checkout")
    rows = re.findall(r"^\|\s*`([A-Z][A-Za-z0-9.\-]+)`\s*\|.*\|\s*(\w+)\s*\|\s*$", path.read_text(), re.M)
    assert rows and [(cid, kind) for cid, kind in rows if cid not in REGISTRY or REGISTRY[cid].kind != kind] == []
