"""The house's architecture holds: imports run one way between the rooms, nothing imports in a circle,
and a claim added as one new module is registered, verified, reported and tested with no other edit."""
import ast
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# cli -> reporting -> run -> engine / experiments -> claims -> model; everything -> dynamics
LAYERS = ["aligncheck.cli", "aligncheck.reporting", "theorems.run", "theorems.engine", "theorems.experiments",
          "theorems.claims", "theorems.model"]
RANK = {"aligncheck.cli": 0, "aligncheck.reporting": 1, "theorems.run": 2, "theorems.engine": 3,
        "theorems.experiments": 3, "theorems.claims": 4, "theorems.model": 5}


def _room(module: str) -> str | None:
    return next((r for r in LAYERS if module == r or module.startswith(r + ".")), None)


def _imports(path: Path, module: str):
    """Every module `path` imports (absolute names), with the line."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            yield name, node.lineno
            for a in node.names:   # `from . import plan` imports the submodule theorems.run.plan
                yield f"{name}.{a.name}", node.lineno


def _modules():
    for pkg in ("aligncheck", "theorems", "dynamics"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            yield path, ".".join(parts)


def test_imports_run_one_way():
    bad = []
    for path, module in _modules():
        src = _room(module)
        for name, line in _imports(path, module):
            if module.startswith("dynamics") and name.split(".")[0] in ("theorems", "aligncheck"):
                bad.append(f"{module}:{line} imports {name} (dynamics knows nothing of claims)")
            dst = _room(name)
            if src and dst and src != dst and RANK[dst] <= RANK[src]:
                bad.append(f"{module}:{line} imports {name} ({src} -> {dst} runs against the arrows)")
    assert bad == []


def test_no_import_circle():
    graph = {}
    known = {m for _, m in _modules()}
    for path, module in _modules():
        graph[module] = {n for n, _ in _imports(path, module) if n in known and n != module}
    seen, stack, cycles = set(), [], []

    def visit(m):
        if m in stack:
            cycles.append(stack[stack.index(m):] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if not (n.startswith(m + ".") or m.startswith(n + ".")):   # a package and its own modules
                visit(n)
        stack.pop()

    for m in sorted(graph):
        visit(m)
    assert cycles == []


NEW_CLAIM = '''
"""A test claim: ||W_k||_2 <= ||W_k||_F (true at every point; its control demands half of it)."""
import numpy as np

from ..model import Claim, register


def _sides(s, traj, factor=1.0):
    return s.sigma, factor * s.fro


register(Claim("TEST-SPECTRAL", "test only", "snapshot", "||W_k||_2 <= ||W_k||_F", sides=_sides,
               control=lambda s, t: _sides(s, t, factor=0.5), control_note="||W_k||_F halved"))
'''


def test_a_claim_is_one_file(tmp_path):
    """A new module in the claims package and nothing else: the registry, verify, the report and the
    generated tests all pick it up.  The module lives in a temporary folder added to the package's path
    (the source tree is not touched, so tests running beside this one never see it)."""
    import subprocess

    import theorems.claims
    from aligncheck.reporting.summary import summarise
    from aligncheck.reporting.write import write
    from theorems.model import REGISTRY
    from theorems.run.verify import verify

    name = "zz_test_temporary_claim"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(NEW_CLAIM))
    load = (f"import importlib, theorems.claims; theorems.claims.__path__.append({str(tmp_path)!r}); "
            f"importlib.import_module('theorems.claims.{name}')")
    try:
        exec(load)
        assert "TEST-SPECTRAL" in REGISTRY
        out = verify("quick", claims=["TEST-SPECTRAL"])
        summary = summarise(out)
        assert summary["TEST-SPECTRAL"]["status"] == "pass" and summary["TEST-SPECTRAL"]["control"]["caught"]
        write(out, tmp_path / "report", html=False, index=False)
        assert "| `TEST-SPECTRAL` |" in (tmp_path / "report" / "report.md").read_text()
        # the generated tests see it too: collect test_claims.py in a fresh interpreter that loads the module
        code = f"{load}; import pytest, sys; sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', " \
               f"{str(ROOT / 'tests' / 'test_claims.py')!r}]))"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert "test_claim_holds_on_drawn_runs[TEST-SPECTRAL]" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    finally:
        theorems.claims.__path__.remove(str(tmp_path))
        REGISTRY.pop("TEST-SPECTRAL", None)
        sys.modules.pop(f"theorems.claims.{name}", None)
