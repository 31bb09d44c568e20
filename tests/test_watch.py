"""Watch your own network (aligncheck.watch, `aligncheck inspect`): a bias-free linear network and a ReLU
MLP trained on scikit-learn's digits with `watch` (history of every dense layer; the linear network's
ratios, alignments and margin rise; the untrained control fails), a series of checkpoints read back by
`aligncheck inspect`, and a malicious checkpoint refused without running its payload."""
import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from click.testing import CliRunner  # noqa: E402

import aligncheck  # noqa: E402
from aligncheck.cli import main  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny: one torch thread is many times faster on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    """Digits 0 against 1 (labels +1/-1, ||x|| <= 1) and all ten classes (standardised)."""
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    m = (d.target == 0) | (d.target == 1)
    X = d.data[m] / np.linalg.norm(d.data[m], axis=1).max()
    return X, np.where(d.target[m] == 0, 1.0, -1.0), d.data / 16.0, d.target


def linear_net(seed=0, width=8):
    torch.manual_seed(seed)
    dims = [64, width, width, width, 1]
    return torch.nn.Sequential(*(torch.nn.Linear(a, b, bias=False) for a, b in zip(dims, dims[1:])))


def train_linear(net, X, y, steps=300, lr=1.0, mon=None, save=None):
    """Full-batch GD on the logistic loss; `save(step)` every 100 steps (and at 0)."""
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for step in range(steps + 1):
        if save is not None and step % 100 == 0:
            save(step)
        if step == steps:
            break
        loss = torch.nn.functional.softplus(-yt * net(Xt).squeeze(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if mon is not None:
            mon.step()
    return float(loss.detach())


def test_linear_network_aligns(digits):
    X, y, _, _ = digits
    net = linear_net()
    with aligncheck.watch(net, every=20, data=(X, y)) as mon:
        train_linear(net, X, y, mon=mon)
    h = mon.history()
    names = [n for n, m in net.named_modules() if isinstance(m, torch.nn.Linear)]
    assert list(h["layer"].unique()) == names and sorted(h["step"].unique()) == list(range(0, 301, 20))
    assert h.groupby("layer").size().tolist() == [16] * 4
    assert (h["ratio"] >= h["lower_bound"] * (1 - 1e-6)).all() and h["exact"].iloc[0] and h["exact"].iloc[-1]
    assert np.allclose(h["stable_rank"], (h["frobenius_norm"] / h["spectral_norm"]) ** 2)
    assert list(h.dropna(subset=["alignment"])["next_layer"].unique()) == names[1:]
    assert mon.linear_chain
    found = {(v.claim_id, v.run_id): v.status for v in mon.verdicts()}
    assert found[("WATCH-RATIO", "3")] == "vacuous"   # 8 -> 1: a vector, ratio = bound = 1
    assert [s for k, s in found.items() if k != ("WATCH-RATIO", "3")] == ["trend"] * 7, found
    assert sum(k[0] == "WATCH-ALIGN" for k in found) == 3 and ("WATCH-MARGIN", "product") in found
    final = h[h["step"] == 300]
    assert final["alignment"].dropna().min() > 0.95 and final["margin_cos"].iloc[0] > 0.8
    controls = [c for c in mon.controls() if c.status != "vacuous"]
    assert len(controls) == 7 and all(c.status == "fail" and c.claim_id.endswith("~control") for c in controls)


def test_report_writes_the_section(tmp_path, digits):
    """monitor.report(DIR): a self-contained HTML page with the plots embedded, report.md with watch.png
    beside it, the history as CSV, the verdicts with their controls as a table; nothing half-written left."""
    import pandas as pd

    X, y, _, _ = digits
    net = linear_net(seed=5)
    with aligncheck.watch(net, every=50) as mon:
        train_linear(net, X, y, steps=200, mon=mon)
    out = tmp_path / "rep" / "nested"
    written = mon.report(out)
    assert sorted(written) == sorted(p.name for p in out.iterdir()) == sorted(
        ["report.html", "report.md", "watch.png", "history.csv", "verdicts.csv"])
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1   # offline: nothing loaded from elsewhere
    assert re.findall(r'(?:src|href)="(?!data:)([^"]*)"', page) == ["history.csv", "verdicts.csv"]
    assert "WATCH-ALIGN" in page and "a bias-free linear chain" in page and "Last record (step 200)" in page
    history = pd.read_csv(out / "history.csv")
    assert len(history) == len(mon.history()) == 4 * 5 and np.allclose(history["ratio"], mon.history()["ratio"])
    table = pd.read_csv(out / "verdicts.csv")
    assert len(table) == len(mon.verdicts()) == 7 and set(table["rule"]) == {"WATCH-RATIO", "WATCH-ALIGN"}
    judged = table[table["status"] != "vacuous"]
    assert (judged["status"] == "trend").all() and (judged["negative_control"] == "fail").all()
    assert judged["control_caught"].all()
    md = (out / "report.md").read_text()
    assert "![watch](watch.png)" in md and "| WATCH-ALIGN | `2 -> 3` | trend |" in md and "caught" in md
    assert (out / "watch.png").read_bytes()[:4] == b"\x89PNG"
    mon.report(out, title="again")   # written again in place (each file replaced whole)
    assert "<title>again</title>" in (out / "report.html").read_text() and len(list(out.iterdir())) == 5
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        mon.report(tmp_path / "file")


def test_report_of_a_relu_mlp_and_of_a_diverged_run(tmp_path):
    """Alignments recorded but not judged for a ReLU MLP; a diverged run (NaN weights) still writes its
    report, judged `fail` with the reason."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    mon = aligncheck.watch(net, every=1)
    net(torch.randn(2, 5))
    mon.step()
    with torch.no_grad():
        net[2].weight.fill_(float("nan"))
    mon.step()
    mon.close()   # its exact record of NaN weights: NaN, no LinAlgError
    mon.report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "not a bias-free linear chain" in md and "WATCH-ALIGN" not in md.split("Last record")[0]
    assert "| WATCH-RATIO | `2` | fail |" in md and "non-finite" in (tmp_path / "verdicts.csv").read_text()


def test_untrained_network_fails_the_rule(digits):
    """The negative control as a network: watched but never trained, every rule fails (one record:
    inconclusive; final := initial after steps without training: fail)."""
    X, y, _, _ = digits
    net = linear_net(seed=1)
    mon = aligncheck.watch(net, every=1)
    assert {v.status for v in mon.verdicts() if v.status != "vacuous"} == {"inconclusive"}
    for _ in range(3):
        mon.step()
    mon.close()
    statuses = [v.status for v in mon.verdicts() if v.status != "vacuous"]
    assert statuses and set(statuses) == {"fail"}


def test_relu_mlp_on_digits(digits):
    _, _, X, t = digits
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                              torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    Xt, tt = torch.tensor(X, dtype=torch.float32), torch.tensor(t)
    mon = aligncheck.watch(net, every=25, optimizer=opt)   # recorded through the optimizer's step hook
    for step in range(200):
        i = torch.randint(0, len(Xt), (64,))
        loss = torch.nn.functional.cross_entropy(net(Xt[i]), tt[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    mon.close()
    h = mon.history()
    assert list(h["layer"].unique()) == ["1", "4", "6"] and sorted(h["step"].unique()) == list(range(0, 201, 25))
    pairs = h.dropna(subset=["alignment"])[["layer", "next_layer"]].drop_duplicates().values.tolist()
    assert pairs == [["1", "4"], ["4", "6"]]   # ReLU and dropout between them: adjacent
    assert not mon.linear_chain   # biases and ReLUs: no alignment verdicts, ratios only
    assert {v.claim_id for v in mon.verdicts()} == {"WATCH-RATIO"} and len(mon.verdicts()) == 3
    assert float(loss.detach()) < 1.0


def test_layers_option_and_errors():
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Conv1d(1, 1, 1), torch.nn.Linear(5, 3))
    mon = aligncheck.watch(net, layers=["2"])
    assert list(mon.history()["layer"]) == ["2"]
    with pytest.raises(ValueError, match="not dense layers of the model: 1"):
        aligncheck.watch(net, layers=["1"])
    with pytest.raises(ValueError, match="has no dense"):
        aligncheck.watch(torch.nn.ReLU())
    with pytest.raises(ValueError, match="every must be a positive integer"):
        aligncheck.watch(net, every=0)
    with pytest.raises(ValueError, match="not a bias-free linear chain"):
        aligncheck.watch(net, data=(np.eye(4), np.ones(4)))


def test_forward_order_and_adjacency():
    """Layers registered out of forward order are reported in forward order; a conv between two dense
    layers breaks adjacency."""
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head, self.body, self.stem = torch.nn.Linear(6, 2), torch.nn.Linear(6, 6), torch.nn.Linear(3, 6)
            self.act = torch.nn.Tanh()

        def forward(self, x):
            return self.head(self.act(self.body(self.act(self.stem(x)))))

    net = Net()
    mon = aligncheck.watch(net, every=1)
    net(torch.randn(5, 3))
    mon.step()
    h = mon.history()
    assert list(h[h["step"] == 1]["layer"]) == ["stem", "body", "head"]
    first = h[h["step"] == 0].set_index("layer")["next_layer"]
    assert first[["stem", "body"]].tolist() == ["body", "head"] and first.isna()["head"]


def _series(tmp_path, digits):
    X, y, _, _ = digits
    net, paths = linear_net(seed=2), []

    def save(step):
        paths.append(str(tmp_path / f"ckpt{step:03d}.pt"))
        torch.save(net.state_dict(), paths[-1])

    train_linear(net, X, y, save=save)
    return paths


def test_inspect_reads_a_series_of_checkpoints(tmp_path, digits):
    paths = _series(tmp_path, digits)
    r = CliRunner().invoke(main, ["inspect", *paths, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["table"]) == 4 * len(paths) == 16
    assert [row["layer"] for row in out["table"][:4]] == ["0.weight", "1.weight", "2.weight", "3.weight"]
    status = {(v["claim_id"], v["run_id"]): v["status"] for v in out["verdicts"]}
    assert [status[("WATCH-RATIO", f"{k}.weight")] for k in range(3)] == ["trend"] * 3
    assert all(c["status"] in ("fail", "vacuous") for c in out["controls"])
    assert not any(v["claim_id"] == "WATCH-ALIGN" for v in out["verdicts"])
    out = tmp_path / "report"
    r = CliRunner().invoke(main, ["inspect", *paths, "--linear", "--out", str(out)])
    assert r.exit_code == 0 and "WATCH-RATIO 0.weight: trend" in r.stdout and "negative control caught" in r.stdout
    assert r.stdout.count("WATCH-ALIGN") == 3 and "WATCH-ALIGN 2.weight -> 3.weight: trend" in r.stdout
    # --out: the same report section as monitor.report, over the series (x = checkpoint index)
    assert f"report: {out / 'report.html'}" in r.stdout
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "ckpt300.pt" in page and "Last record (checkpoint 3)" in page
    assert "| WATCH-ALIGN | `2.weight -> 3.weight` | trend |" in (out / "report.md").read_text()
    assert (out / "history.csv").read_text().splitlines()[0].endswith(",checkpoint")
    # a nested checkpoint ({"model": state_dict, "step": ...}) reads the same
    nested = tmp_path / "nested.pt"
    torch.save({"model": torch.load(paths[-1], weights_only=True), "step": 300}, nested)
    r = CliRunner().invoke(main, ["inspect", str(nested), "--json"])
    assert r.exit_code == 0 and [row["layer"] for row in json.loads(r.stdout)["table"]][0] == "model.0.weight"


class Payload:
    """Unpickling this would create `target` (builtins.open in __reduce__)."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("kind", ["torch.save", "raw pickle", "raw pickle, protocol 5"])
def test_inspect_refuses_a_malicious_checkpoint(tmp_path, kind):
    target = tmp_path / "pwned"
    bad = tmp_path / "evil.pt"
    if kind == "torch.save":
        torch.save({"weight": torch.zeros(2, 2), "x": Payload(target)}, bad)
    else:
        bad.write_bytes(pickle.dumps({"x": Payload(target)}, protocol=5 if "5" in kind else 2))
    assert not target.exists()
    r = CliRunner().invoke(main, ["inspect", str(bad)])
    assert r.exit_code == 2 and not target.exists()
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "refused" in r.stderr and "nothing was executed" in r.stderr and "Traceback" not in r.stderr
    if "5" not in kind:   # protocol 5 is refused at its first frame opcode, before any name
        assert "names the callable io.open" in r.stderr
    try:   # the payload is real: an unrestricted load runs it
        torch.load(bad, weights_only=False)
    except Exception:   # raw pickles: torch then finds no magic number, after the payload ran
        pass
    assert target.exists()


def test_inspect_bad_input(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    for args in ([str(junk)], [str(tmp_path / "missing.pt")]):
        r = CliRunner().invoke(main, ["inspect", *args])
        assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_import_without_torch():
    """`import aligncheck` (and the CLI) must not import torch: it stays an optional extra."""
    code = "import sys, aligncheck, aligncheck.cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_example_script_runs(monkeypatch, capsys, tmp_path):
    """examples/watch_digits.py, as shipped (in this interpreter: torch and sklearn are imported already)."""
    import runpy
    from pathlib import Path

    pytest.importorskip("sklearn")
    script = Path(__file__).resolve().parents[1] / "examples" / "watch_digits.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--steps", "100", "--report", str(tmp_path / "rep")])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("WATCH-RATIO") == 3 and "final loss" in out
    assert f"report: {tmp_path / 'rep' / 'report.html'}" in out and (tmp_path / "rep" / "history.csv").is_file()


def test_diverged_training_fails_with_a_reason():
    """Non-finite weights (a diverged run) are recorded as they are and judged `fail`, saying why."""
    net = linear_net(seed=3)
    mon = aligncheck.watch(net, every=1)
    with torch.no_grad():
        net[1].weight.fill_(float("nan"))
    mon.step()
    v = {x.run_id: x for x in mon.verdicts()}["1"]
    assert v.status == "fail" and "non-finite" in v.message


def test_watch_is_callable_after_the_cli_imported_its_module():
    """`aligncheck.watch` stays the function once aligncheck.cli has imported its module (aligncheck.monitor)."""
    import aligncheck.cli  # noqa: F401
    from aligncheck.monitor import Monitor

    assert isinstance(aligncheck.watch(torch.nn.Linear(3, 2)), Monitor)


def test_inspect_reads_safetensors(tmp_path, monkeypatch):
    """.safetensors files go through safetensors.torch.load_file (a stand-in module here: the package is
    optional); without the package, one line says so."""
    import types

    f = tmp_path / "w.safetensors"
    f.write_bytes(b"")
    r = CliRunner().invoke(main, ["inspect", str(f)])
    if "safetensors" not in sys.modules:
        assert r.exit_code == 2 and "needs the safetensors package" in r.stderr
    fake = types.ModuleType("safetensors.torch")
    fake.load_file = lambda path, device="cpu": {"a.weight": torch.eye(3), "a.bias": torch.ones(3),
                                                 "b.weight": torch.ones(1, 3)}
    monkeypatch.setitem(sys.modules, "safetensors", types.ModuleType("safetensors"))
    monkeypatch.setitem(sys.modules, "safetensors.torch", fake)
    r = CliRunner().invoke(main, ["inspect", str(f), "--json"])
    assert r.exit_code == 0, r.output
    table = json.loads(r.stdout)["table"]
    assert [(t["layer"], t["ratio"], t["next_layer"]) for t in table] == [
        ("a.weight", pytest.approx(3 ** -0.5), "b.weight"), ("b.weight", pytest.approx(1.0), None)]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_watch_on_cuda_matches_cpu(digits):
    X, y, _, _ = digits
    runs = {}
    for dev in ("cpu", "cuda"):
        net = linear_net(seed=4).to(dev)
        Xt, yt = (torch.tensor(a, dtype=torch.float32, device=dev) for a in (X, y))
        opt = torch.optim.SGD(net.parameters(), lr=1.0)
        with aligncheck.watch(net, every=10, data=(X, y)) as mon:
            for _ in range(100):
                loss = torch.nn.functional.softplus(-yt * net(Xt).squeeze(1)).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                mon.step()
        runs[dev] = mon.history()
    cols = ["ratio", "stable_rank", "margin_cos"]
    assert np.allclose(runs["cpu"][cols], runs["cuda"][cols], rtol=1e-3, atol=1e-4)
