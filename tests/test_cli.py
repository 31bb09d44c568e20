"""The command line as a user meets it: clear one-line errors, the listings, and a quick report."""
import json
import subprocess
import sys

import numpy as np
import pytest

from theorems import REGISTRY


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "aligncheck", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def invoke(*args):
    """The command in this process (click's CliRunner: no interpreter start-up); an exception that escaped the
    command is a traceback a user would have seen."""
    from click.testing import CliRunner

    from aligncheck.cli import main

    r = CliRunner().invoke(main, list(args))
    escaped = r.exception is not None and not isinstance(r.exception, SystemExit)
    assert not escaped, f"{type(r.exception).__name__}: {r.exception}"
    return r


BAD_FILES = {
    "labels01.csv": ("a,b,y\n0.5,0.1,0\n-0.5,0.1,1\n", "labels must be -1 or +1"),
    "nan.csv": ("a,y\nnan,1\n0.3,-1\n", "non-finite"),
    "big.csv": ("a,y\n2.0,1\n-0.3,-1\n", "||x_i|| <= 1 fails"),
    "notsep.csv": ("a,y\n0.5,1\n0.5,-1\n", "not separable"),
    "nolabel.csv": ("a,b\n0.5,0.1\n", "no label column"),
    "text.csv": ("a,y\nfoo,1\n", "non-numeric"),
    "data.txt": ("1 2 3\n", "unknown format"),
    "missing.npz": (None, "no such file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["problem", "verify"])
def test_bad_input_gives_one_clear_line(tmp_path, name, command):
    content, expected = BAD_FILES[name]
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    r = invoke(command, "--data", str(path))
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and expected in r.stderr, r.stderr


def test_npz_wrong_shapes(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((3, 2)), y=np.ones(2))
    r = invoke("problem", "--data", str(path))
    assert r.exit_code == 2 and "one label per row" in r.stderr


def test_claims_json_lists_registry():
    rows = json.loads(invoke("claims", "--json").stdout)
    assert {r["id"] for r in rows} == set(REGISTRY)
    assert all({"id", "paper_ref", "kind", "statement"} <= set(r) for r in rows)


def test_problem_json(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.where(X @ np.array([1.0, 0.5, 0.0]) > 0, 1.0, -1.0)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    info = json.loads(invoke("problem", "--data", str(tmp_path / "d.npz"), "--json").stdout)
    for key in ("separable", "n", "d", "gamma", "ubar", "support", "alpha", "kkt_residual", "lemma_2_11_thresholds"):
        assert key in info
    assert info["n"] == 30 and info["kkt_residual"] < 1e-10
    assert set(info["lemma_2_11_thresholds"]) == {"exp", "logistic"}
    assert len(info["lemma_2_11_thresholds"]["exp"]) == 2


def test_verify_writes_the_report_on_user_data(tmp_path):
    X = np.array([[0.9, 0.1], [0.2, 0.8], [-0.7, -0.3], [-0.1, -0.9], [0.6, 0.6]])
    y = np.array([1.0, 1.0, -1.0, -1.0, 1.0])
    np.savetxt(tmp_path / "d.csv", np.column_stack([X, y]), delimiter=",", header="x1,x2,y", comments="")
    out = tmp_path / "rep"
    r = run("verify", "--profile", "quick", "--data", str(tmp_path / "d.csv"), "--out", str(out),
            "--claim", "L2.6a", "--claim", "EQC.10")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["claims"]["L2.6a"]["status"] == "pass"
    assert summary["provenance"]["data"].endswith("d.csv")
    assert (out / "report.md").exists() and (out / "results.csv").exists()


def test_check_reproduces_a_known_erratum():
    r = invoke("check", "T3.7-B3")
    assert r.exit_code == 1 and "known erratum" in r.stdout


# --- a fast --help (issue 13): nothing heavy is imported until a command runs -----------------------

HEAVY = ("numpy", "scipy", "pandas", "sympy", "torch", "matplotlib", "theorems", "dynamics")


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom aligncheck.cli import main\n"
            "try:\n    main(['--help'], prog_name='aligncheck')\nexcept SystemExit:\n    pass\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Statuses (one meaning each)" in r.stdout and "inspect" in r.stdout and "mutants" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout.splitlines()[-1]


def test_help_statuses_are_the_models():
    from aligncheck import cli
    from theorems.model import STATUS_MEANINGS

    assert cli.STATUS_MEANINGS == STATUS_MEANINGS


@pytest.mark.parametrize("name", ["inspect", "mutants"])
def test_lazy_commands_are_listed_by_their_own_summary(name):
    import inspect

    import click
    from click.testing import CliRunner

    from aligncheck import cli

    module, attr = cli._Group.LAZY[name]
    stand_in = click.Command(name, help=cli._docstring(module, attr))   # what --help lists, module not imported
    real = cli.main.get_command(click.Context(cli.main), name)
    assert real is getattr(__import__(module, fromlist=[attr]), attr)
    assert real.help and inspect.cleandoc(stand_in.help) == inspect.cleandoc(real.help)
    for limit in (30, 45, 80, 120, 500):
        assert stand_in.get_short_help_str(limit) == real.get_short_help_str(limit)
    r = CliRunner().invoke(cli.main, [name, "--help"], prog_name="aligncheck")
    assert r.exit_code == 0 and f"Usage: aligncheck {name}" in r.output


def test_problem_refuses_too_many_support_vectors_in_one_line(tmp_path):
    # 120 support vectors in R^10 (gamma e_1 + sqrt(1 - gamma^2) s_i, the s_i in +- pairs): alpha's exact
    # vertex enumeration would visit ~1e13 candidates; refused before any work, one line, exit 2
    rng = np.random.default_rng(0)
    s = rng.standard_normal((60, 9))
    s = np.vstack([s, -s]) / np.linalg.norm(np.vstack([s, -s]), axis=1, keepdims=True)
    X = np.hstack([np.full((120, 1), 0.3), np.sqrt(1 - 0.3**2) * s])
    np.savez(tmp_path / "sv.npz", X=X, y=np.ones(120))
    r = invoke("problem", "--data", str(tmp_path / "sv.npz"))
    assert r.exit_code == 2 and "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert "120 support vectors" in r.stderr and "vertex candidates" in r.stderr


def test_readme_statuses_are_the_models():
    """The README's status table is the third place the meanings are written: it must not drift."""
    import re
    from pathlib import Path

    from theorems.model import STATUS_MEANINGS

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z /]+)` \| (.+) \|$", text, re.M))
    assert {s: rows.get(s) for s in STATUS_MEANINGS} == STATUS_MEANINGS
