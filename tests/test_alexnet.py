"""The Figure 3 experiment: CIFAR-10 batch loader (on files written here in exactly CIFAR's format),
stand-ins, AlexNet's shapes and initialisations, the spectral-norm tracker, a tiny training run, the
driver's outputs and the `alexnet` command; the check (training raised every dense layer's ratio) and
its negative control on results written here, and `aligncheck verify --alexnet DIR`.  Everything
with torch is skipped without torch; the check and the report need none."""
import json

import numpy as np
import pytest

from dynamics import cifar

TINY = 0.0625   # width scale: dense 256 -> 256 -> 10, a few ms a step


def _write_cifar(root, files=("data_batch_1", "data_batch_2", "test_batch"), n=6, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for k, name in enumerate(files):
        X = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        y = rng.integers(0, 10, size=n)
        cifar.write_batch(root / name, X, y, batch_label=name)
        out[name] = (X, y)
    return out


def test_cifar_batches_are_read_channel_major(tmp_path):
    written = _write_cifar(tmp_path)
    train = cifar.load_cifar10(tmp_path)
    assert train.X.shape == (12, 3, 32, 32) and train.X.dtype == np.float32 and train.y.dtype == np.int64
    X1, y1 = written["data_batch_1"]
    # CIFAR rows: 1024 red, then 1024 green, then 1024 blue values, each row-major 32 x 32
    i, c, r, k = 4, 2, 7, 30
    assert train.X[i, c, r, k] == pytest.approx(X1[i, c * 1024 + r * 32 + k] / 255.0)
    assert train.y[:6].tolist() == y1.tolist()
    test = cifar.load_cifar10(tmp_path, split="test")
    assert len(test) == 6 and "test" in test.name


def test_cifar_subfolder_and_errors(tmp_path):
    sub = tmp_path / cifar.SUBDIR
    sub.mkdir()
    _write_cifar(sub, files=("data_batch_3",))
    assert len(cifar.load(tmp_path)) == 6
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 train batches"):
        cifar.load_cifar10(tmp_path / "nowhere")
    bad = tmp_path / "bad"
    bad.mkdir()
    import pickle

    (bad / "data_batch_1").write_bytes(pickle.dumps({b"foo": 1}))
    with pytest.raises(ValueError, match="not a CIFAR-10 batch"):
        cifar.load_cifar10(bad)


def test_standins():
    g = cifar.generated_standin(50, seed=1)
    assert g.X.shape == (50, 3, 32, 32) and 0 <= g.X.min() and g.X.max() <= 1 and set(g.y) <= set(range(10))
    pytest.importorskip("sklearn")
    d = cifar.digits_standin()
    assert d.X.shape == (1797, 3, 32, 32) and "load_digits" in d.name
    assert np.all(d.X[:, 0] == d.X[:, 2])    # grey copied to 3 channels
    assert np.all(d.X[:, :, :4, :4] == d.X[:, :, :1, :1])  # 4x4 pixel blocks from the 8x8 originals
    s = d.standardised()
    assert np.allclose(s.X.mean(axis=(0, 2, 3)), 0, atol=1e-5)


# --- torch parts ---------------------------------------------------------------------------------

def test_alexnet_dense_shapes_match_the_paper():
    pytest.importorskip("torch")
    from dynamics import alexnet

    model = alexnet.AlexNet(1.0)
    assert [tuple(l.weight.shape) for l in model.dense()] == [(4096, 1024), (4096, 4096), (10, 4096)]
    assert alexnet.lower_bounds(model) == pytest.approx([1024 ** -0.5, 4096 ** -0.5, 10 ** -0.5])


def test_initialisations():
    torch = pytest.importorskip("torch")
    from dynamics import alexnet

    m = alexnet.initialise(alexnet.AlexNet(TINY), "frobenius", seed=3)
    for layer in m.dense():
        assert float(torch.linalg.matrix_norm(layer.weight.detach())) == pytest.approx(alexnet.FRO_NORM, rel=1e-6)
    a = alexnet.initialise(alexnet.AlexNet(TINY), "default", seed=3)
    b = alexnet.initialise(alexnet.AlexNet(TINY), "default", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert a(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown AlexNet initialisation"):
        alexnet.initialise(a, "xavier")


def test_power_iteration_tracks_svdvals():
    torch = pytest.importorskip("torch")
    from dynamics import alexnet

    g = torch.Generator().manual_seed(0)
    w = torch.randn(300, 200, generator=g)
    w += 3.0 * torch.outer(torch.randn(300, generator=g), torch.randn(200, generator=g)) / 20
    tracker = alexnet.SpectralTracker([w])
    est, exact = tracker([w])[0], alexnet.SpectralTracker.exact([w])[0]
    assert est <= exact * (1 + 1e-5) and est == pytest.approx(exact, rel=1e-4)
    w2 = w + 0.01 * torch.randn(300, 200, generator=g)   # a small move: the warm start keeps up
    assert tracker([w2])[0] == pytest.approx(alexnet.SpectralTracker.exact([w2])[0], rel=1e-4)


def test_tiny_training_run_logs_ratios_above_bounds():
    pytest.importorskip("torch")
    from dynamics import alexnet

    r = alexnet.train(cifar.generated_standin(64), init="frobenius", width_scale=TINY, max_steps=4,
                      batch_size=16, log_every=2, device="cpu")
    assert r["step"] == [0, 2, 4] and len(r["ratio"]) == 3 and r["steps"] == 4
    ratios, lb = np.array(r["ratio"]), np.array(r["lower_bounds"])
    assert np.all(ratios >= lb - 1e-6) and np.all(ratios <= 1 + 1e-6)
    assert np.all(np.isfinite(r["risk"]))
    # the power iteration approaches ||W||_2 from below; the exact (svdvals) ratios bound it
    assert np.all(ratios[0] <= np.array(r["initial_ratio_exact"]) * (1 + 1e-5))
    assert np.all(ratios[-1] <= np.array(r["final_ratio_exact"]) * (1 + 1e-5))


def test_driver_writes_figure_and_cli(tmp_path):
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from aligncheck.cli import main

    data = tmp_path / "cifar"
    data.mkdir()
    _write_cifar(data, n=20)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["alexnet", "--data-dir", str(data), "--device", "cpu", "--max-steps", "2",
                                                    "--width-scale", str(TINY), "--out", str(out)])
    assert (out / "fig3.png").stat().st_size > 10_000
    saved = json.loads((out / "alexnet.json").read_text())
    assert "CIFAR-10 train (40 images" in saved["data"]
    assert [v["claim_id"] for v in saved["verdicts"]] == ["FIG3a", "FIG3b"]
    # two steps need not raise the alignment: the status is whatever the rule says, and a fail is exit 1
    statuses = [v["status"] for v in saved["verdicts"]]
    assert set(statuses) <= {"trend", "fail"} and [c["status"] for c in saved["controls"]] == ["fail", "fail"]
    assert res.exit_code == (1 if "fail" in statuses else 0), res.output
    assert f"FIG3a (default): {statuses[0]}" in res.output and "negative control caught" in res.output
    md = (out / "fig3.md").read_text()
    assert "fig3.png" in md and "lower bounds" in md and "CIFAR-10" in md and f"| FIG3a | {statuses[0]} |" in md
    bad = CliRunner().invoke(main, ["alexnet", "--data-dir", str(tmp_path / "none"), "--max-steps", "1",
                                                    "--out", str(out)])
    assert bad.exit_code == 2 and "no CIFAR-10" in bad.output


# --- the check and the report, on a result written here (plain JSON: no torch, no training) ----------

BOUNDS = [128 ** -0.5, 512 ** -0.5, 10 ** -0.5]
INITIAL = [0.13, 0.087, 0.35]     # a random matrix's ratios: already above BOUNDS


def fake_result(root, final=None, below=None):
    """An `aligncheck alexnet` folder: two runs whose ratios rise from INITIAL to `final` (default: up by
    half on every layer); `below` = (init, layer) puts that layer's final ratio under its initial one."""
    from theorems.experiments import alexnet

    final = final or [1.5 * r for r in INITIAL]
    runs = {}
    for kind in alexnet.CLAIMS:
        end = list(final)
        if below and below[0] == kind:
            end[below[1]] = 0.9 * INITIAL[below[1]]
        runs[kind] = {"step": [0, 50, 100], "ratio": [INITIAL, [(a + b) / 2 for a, b in zip(INITIAL, end)], end],
                      "risk": [2.3, 1.0, 0.01], "lower_bounds": BOUNDS, "final_ratio_exact": end,
                      "shapes": [[512, 128], [512, 512], [10, 512]], "steps": 100}
    result = {"data": "generated stand-in (test)", "width_scale": 0.125, "device": "cpu", "runs": runs}
    root.mkdir(parents=True, exist_ok=True)
    (root / "alexnet.json").write_text(json.dumps(result))
    return root


def test_rule_trend_when_training_raised_every_ratio(tmp_path):
    from theorems.experiments import alexnet

    result = alexnet.load_result(fake_result(tmp_path / "a"))
    assert [(v["claim_id"], v["status"]) for v in result["verdicts"]] == [("FIG3a", "trend"), ("FIG3b", "trend")]
    verdicts, controls = alexnet.report_verdicts(result)
    d = verdicts[0].details
    assert d["data"] == "generated stand-in (test)" and d["width scale"] == 0.125 and d["device"] == "cpu"
    assert d["SGD steps"] == 100 and d["final ratio / initial ratio"] == pytest.approx([1.5, 1.5, 1.5])
    assert controls[0].claim_id == "FIG3a~control" and controls[0].message.startswith("NEGATIVE CONTROL")
    assert verdicts[0].message.startswith("met: ") and verdicts[0].n_checked == 3


def test_rule_fails_when_a_layer_ends_below_its_initial_ratio(tmp_path):
    from theorems.experiments import alexnet

    # dense 2 ends at 0.9 x its initial ratio: still far above its bound, but training lowered it
    result = alexnet.load_result(fake_result(tmp_path / "a", below=("frobenius", 1)))
    v = {r["claim_id"]: r for r in result["verdicts"]}
    assert v["FIG3a"]["status"] == "trend" and v["FIG3b"]["status"] == "fail"
    assert v["FIG3b"]["ratio_over_bound"][1] > 1 and v["FIG3b"]["message"].startswith("NOT met: ")
    # final ratios under a lower bound fail too (impossible for a real matrix; the rule still says so)
    under = alexnet.verdicts({"x": dict(result["runs"]["default"], final_ratio_exact=[0.08, 0.2, 0.5])})
    assert under[0]["status"] == "fail"


def test_negative_control_is_caught(tmp_path):
    from aligncheck.reporting.summary import summarise
    from theorems.experiments import alexnet
    from theorems.model import Outcome

    result = alexnet.load_result(fake_result(tmp_path / "a"))
    # the untrained network clears every bound (so a bound-only rule would pass it) ...
    assert all(i > b for i, b in zip(INITIAL, BOUNDS))
    assert [c["claim_id"] for c in result["controls"]] == ["FIG3a~control", "FIG3b~control"]
    assert all(c["status"] == "fail" for c in result["controls"])
    # ... and the report shows it caught, next to the trend verdicts
    verdicts, controls = alexnet.report_verdicts(result)
    summary = summarise(Outcome(verdicts=verdicts, controls=controls))
    for cid in ("FIG3a", "FIG3b"):
        assert summary[cid]["status"] == "trend" and summary[cid]["control"]["caught"] is True
        assert summary[cid]["ref"].startswith("Figure 3")


def test_not_checked_without_a_result():
    from aligncheck.reporting.summary import summarise
    from theorems.model import Outcome

    summary = summarise(Outcome())
    assert summary["FIG3a"]["status"] == "not checked" and "aligncheck verify --alexnet DIR" in summary["FIG3a"]["hint"]


@pytest.mark.parametrize("case, expected", [
    ("nowhere", "does not exist"), ("empty", "no alexnet.json"), ("notjson", "not valid JSON"),
    ("noruns", "missing runs.default.final_ratio_exact"),
])
def test_bad_alexnet_folders_are_refused(tmp_path, case, expected):
    from theorems.experiments import alexnet

    d = tmp_path / case
    if case != "nowhere":
        d.mkdir()
    if case == "notjson":
        (d / "alexnet.json").write_text("{not json")
    if case == "noruns":
        fake_result(d)
    if case == "noruns":
        r = json.loads((d / "alexnet.json").read_text())
        del r["runs"]["default"]["final_ratio_exact"]
        (d / "alexnet.json").write_text(json.dumps(r))
    with pytest.raises(ValueError, match=expected):
        alexnet.load_result(d)


def test_verify_puts_figure_3_into_the_report(tmp_path):
    """`aligncheck verify --alexnet DIR` on one cheap claim: Figure 3's section, rows, figure and control."""
    import csv

    from click.testing import CliRunner

    from aligncheck import cli

    src, out = fake_result(tmp_path / "alex"), tmp_path / "rep"
    r = CliRunner().invoke(cli.main, ["verify", "--profile", "quick", "--claim", "L2.6a", "--alexnet", str(src),
                                      "--out", str(out)])
    assert r.exit_code == 0, r.output
    md = (out / "report.md").read_text()
    assert "## Figure 3: AlexNet dense-layer alignment (FIG3a, FIG3b)" in md and "![Figure 3](fig3.png)" in md
    assert "| `FIG3a` | Figure 3a | experiment | trend |" in md and "| FIG3a | trend | default |" in md
    assert "generated stand-in (test)" in md and "Width scale 0.125" in md
    rows = {row["claim_id"]: row for row in csv.DictReader(open(out / "results.csv"))}
    assert rows["FIG3a"]["status"] == rows["FIG3b"]["status"] == "trend"
    assert (out / "fig3.png").stat().st_size > 10_000   # drawn by the report from the logged runs
    summary = json.loads((out / "summary.json").read_text())
    assert summary["claims"]["FIG3b"]["control"]["caught"] and summary["provenance"]["alexnet"] == str(src)
    page = (out / "report.html").read_text()
    assert 'id="c-FIG3a"' in page and '<figure id="fig3">' in page and 'href="#fig3"' in page
    assert "alexnet.json" not in page and 'src="fig3.png"' not in page  # embedded, like Figures 1 and 2


def test_verify_fails_early_on_a_bad_alexnet_folder(tmp_path):
    from click.testing import CliRunner

    from aligncheck import cli

    r = CliRunner().invoke(cli.main, ["verify", "--claim", "L2.6a", "--alexnet", str(tmp_path / "none"),
                                      "--out", str(tmp_path / "rep")])
    assert r.exit_code == 2 and not (tmp_path / "rep").exists()
    # (output: stdout and stderr together on every click >= 8.1)
    assert r.output.strip().count("\n") == 0 and r.output.startswith("aligncheck: error: alexnet folder")


@pytest.mark.gpu
def test_alexnet_trains_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    from dynamics import alexnet

    r = alexnet.train(cifar.generated_standin(256), width_scale=0.25, max_steps=5, log_every=5, device="cuda")
    assert r["device"].startswith("cuda") and r["steps"] == 5


def test_a_diverging_run_ends_with_one_clear_line(tmp_path):
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from aligncheck.cli import main

    r = CliRunner().invoke(main, ["alexnet", "--device", "cpu", "--max-steps", "30", "--lr", "1e8",
                                  "--width-scale", str(TINY), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "diverged at SGD step" in r.output and r.output.count("\n") <= 2, r.output
