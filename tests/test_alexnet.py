"""The Figure 3 experiment: CIFAR-10 batch loader (on files written here in exactly CIFAR's format),
stand-ins, AlexNet's shapes and initialisations, the spectral-norm tracker, a tiny training run, the
driver's outputs and the `alexnet` command.  Everything with torch is skipped without torch."""
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


def test_driver_writes_figure_and_cli(tmp_path):
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from theorems import alexnet as fig3

    data = tmp_path / "cifar"
    data.mkdir()
    _write_cifar(data, n=20)
    out = tmp_path / "out"
    res = CliRunner().invoke(fig3.alexnet_command, ["--data-dir", str(data), "--device", "cpu", "--max-steps", "2",
                                                    "--width-scale", str(TINY), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "fig3.png").stat().st_size > 10_000
    saved = json.loads((out / "alexnet.json").read_text())
    assert "CIFAR-10 train (40 images" in saved["data"]
    assert [v["claim_id"] for v in saved["verdicts"]] == ["FIG3a", "FIG3b"]
    md = (out / "fig3.md").read_text()
    assert "fig3.png" in md and "lower bounds" in md and "CIFAR-10" in md
    bad = CliRunner().invoke(fig3.alexnet_command, ["--data-dir", str(tmp_path / "none"), "--max-steps", "1",
                                                    "--out", str(out)])
    assert bad.exit_code == 2 and "no CIFAR-10" in bad.output


@pytest.mark.gpu
def test_alexnet_trains_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    from dynamics import alexnet

    r = alexnet.train(cifar.generated_standin(256), width_scale=0.25, max_steps=5, log_every=5, device="cuda")
    assert r["device"].startswith("cuda") and r["steps"] == 5
