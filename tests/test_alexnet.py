"""The Figure 3 experiment: CIFAR-10 batch loader (on files written here in exactly CIFAR's format),
stand-ins (and the generated one when scikit-learn is absent), AlexNet's shapes and initialisations, the
watch recorder's power iteration, a tiny training run, the driver's outputs and the `alexnet` command, a
diverging run; the check (training raised every dense layer's ratio) and
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


def test_power_iteration_tracks_svd():
    """The recorder's warm-started power iteration (dynamics.watch, what the AlexNet run records with)
    approaches ||W||_2 from below and keeps up with a small move of the weights."""
    torch = pytest.importorskip("torch")
    from dynamics.watch import top_singular

    g = torch.Generator().manual_seed(0)
    w = torch.randn(300, 200, generator=g)
    w += 3.0 * torch.outer(torch.randn(300, generator=g), torch.randn(200, generator=g)) / 20
    exact, _, v = top_singular(w)
    est = top_singular(w, v)[0]
    assert float(est) <= float(exact) * (1 + 1e-5) and float(est) == pytest.approx(float(exact), rel=1e-5)
    w2 = w + 0.01 * torch.randn(300, 200, generator=g)   # a small move: the warm start keeps up
    assert float(top_singular(w2, v)[0]) == pytest.approx(float(top_singular(w2)[0]), rel=1e-4)
    nan = top_singular(torch.full((3, 2), float("nan")))   # a diverged layer: NaN, not a LinAlgError
    assert all(bool(torch.isnan(t).all()) for t in nan)


def test_tiny_training_run_logs_ratios_above_bounds():
    pytest.importorskip("torch")
    from dynamics import alexnet

    r = alexnet.train(cifar.generated_standin(64), init="frobenius", width_scale=TINY, max_steps=4,
                      batch_size=16, log_every=2, device="cpu")
    assert r["step"] == [0, 2, 4] and len(r["ratio"]) == 3 and r["steps"] == 4
    ratios, lb = np.array(r["ratio"]), np.array(r["lower_bounds"])
    assert np.all(ratios >= lb - 1e-6) and np.all(ratios <= 1 + 1e-6)
    assert np.all(np.isfinite(r["risk"])) and len(r["risk"]) == len(r["accuracy"]) == 3
    # recorded by the watch recorder: exact (SVD) at the first and last records, which are the exact ratios
    assert r["initial_ratio_exact"] == r["ratio"][0] and r["final_ratio_exact"] == r["ratio"][-1]
    assert r["layers"] == ["classifier.1", "classifier.4", "classifier.6"] and "dynamics.watch" in r["settings"]["recorder"]
    assert np.array(r["alignment"]).shape == (3, 2) and np.array(r["stable_rank"]).shape == (3, 3)
    h = r["history"]   # the recorder's own table (the driver keeps it out of alexnet.json)
    assert list(h["layer"].unique()) == r["layers"] and sorted(h["step"].unique()) == [0, 2, 4]
    assert h[h["step"] == 4]["ratio"].tolist() == r["final_ratio_exact"] and h["exact"].tolist() == [True] * 3 + [False] * 3 + [True] * 3
    assert h.dropna(subset=["alignment"])["next_layer"].tolist()[:2] == ["classifier.4", "classifier.6"]


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
    for kind in ("default", "frobenius"):   # the same report section as aligncheck.watch's, per run
        page = (out / f"watch-{kind}" / "report.html").read_text()
        assert "data:image/png;base64," in page and "classifier.4" in page and "WATCH-RATIO" in page
        assert (out / f"watch-{kind}" / "history.csv").read_text().count("\n") == 1 + 3 * 3   # steps 0, 1, 2
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


@pytest.mark.parametrize("lr, sklearn", [("1e4", "with"), ("1e8", "with"), ("1e4", "without")])
def test_a_diverging_run_ends_with_one_clear_line(request, tmp_path, lr, sklearn):
    """Plain SGD on the digits, and clipped SGD on the generated stand-in (without scikit-learn)."""
    pytest.importorskip("torch")
    if sklearn == "without":
        request.getfixturevalue("no_sklearn")
    import re

    from click.testing import CliRunner

    from aligncheck.cli import main

    r = CliRunner().invoke(main, ["alexnet", "--device", "cpu", "--max-steps", "30", "--lr", lr,
                                  "--width-scale", str(TINY), "--out", str(tmp_path / "out")])
    last = r.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert r.exit_code == 2 and r.stdout == "" and "Traceback" not in r.output, r.output
    assert re.fullmatch(r"aligncheck: error: training diverged at SGD step \d+: loss (nan|inf|-inf|\S+).*; lower --lr",
                        last), last


# --- without scikit-learn: the generated stand-in (simulated absence: the import fails) ---------------

@pytest.fixture
def no_sklearn(monkeypatch):
    """scikit-learn made unimportable for the test (None in sys.modules: `import sklearn` raises ImportError)."""
    import sys

    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")] + ["sklearn", "sklearn.datasets"]:
        monkeypatch.setitem(sys.modules, name, None)


def test_without_sklearn_the_generated_standin_and_clipping(no_sklearn, tmp_path):
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from aligncheck.cli import main
    from theorems.experiments import alexnet

    with pytest.raises(ImportError):
        cifar.digits_standin()
    images = cifar.standin()
    assert images.source == "generated" and images.name.startswith("generated")
    assert alexnet.default_clip(images.standardised()) == alexnet.CLIP_GENERATED == 1.0
    assert alexnet.default_clip(cifar.Images(images.X, images.y, "CIFAR-10 train (test)")) is None   # plain SGD
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["alexnet", "--device", "cpu", "--max-steps", "3", "--width-scale", str(TINY),
                                  "--out", str(out)])
    saved = json.loads((out / "alexnet.json").read_text())
    assert saved["data"].startswith("generated") and r.exit_code in (0, 1), r.output
    assert {(run["settings"]["lr"], run["settings"]["clip_grad_norm"]) for run in saved["runs"].values()} == {(0.05, 1.0)}
    assert "gradient norm clipped to 1.0" in (out / "watch-default" / "report.md").read_text()
    assert [v["status"] in ("trend", "fail") for v in saved["verdicts"]] == [True, True]


@pytest.mark.slow
@pytest.mark.parametrize("sklearn", ["without scikit-learn", "with scikit-learn"])
def test_default_run_gives_figure_3_a_verdict(request, tmp_path, sklearn):
    """`aligncheck alexnet --seed 0` with its default options (CPU: width 0.125, 60 epochs of the stand-in,
    two runs): no divergence, FIG3a and FIG3b `trend`, controls caught (exit 0).  About 20 s idle on 2 cores."""
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from aligncheck.cli import main

    if sklearn.startswith("without"):
        request.getfixturevalue("no_sklearn")
    else:
        pytest.importorskip("sklearn")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["alexnet", "--device", "cpu", "--seed", "0", "--out", str(out)])
    assert r.exit_code == 0, r.output
    saved = json.loads((out / "alexnet.json").read_text())
    assert saved["data"].startswith("generated" if sklearn.startswith("without") else "scikit-learn")
    assert [(v["claim_id"], v["status"]) for v in saved["verdicts"]] == [("FIG3a", "trend"), ("FIG3b", "trend")]
    assert all(np.isfinite(run["risk"]).all() for run in saved["runs"].values())
