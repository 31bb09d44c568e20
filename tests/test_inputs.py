"""Inputs that must be refused with one line, never executed, never left to run away: crafted CIFAR-10
pickles, out-of-range RunSpecs, malformed data files, too many support vectors, and flow time budgets."""
import json
import math
import os
import pickle
import time
import warnings

import numpy as np
import pytest

from dynamics import cifar, data, flow, geometry, init, losses, runs
from dynamics.runs import RunSpec


# --- 1. CIFAR-10 batches: a restricted unpickler --------------------------------------------------

class _Payload:
    """Unpickling this object would call os.system (touching a file)."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _OpenPayload:
    """Unpickling this would call builtins.open (creating a file) with no shell."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("payload", [_Payload, _OpenPayload])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_crafted_cifar_batch_is_refused_and_never_executed(tmp_path, payload, protocol):
    target = tmp_path / "pwned"
    batch = tmp_path / "data_batch_1"
    batch.write_bytes(pickle.dumps({b"data": payload(target), b"labels": [0]}, protocol=protocol))
    with pytest.raises(ValueError, match="refused to unpickle global") as exc:
        cifar.load_cifar10(tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and str(batch) in msg
    assert not target.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_genuine_batches_still_load(tmp_path, protocol):
    X = np.arange(4 * 3072, dtype=np.uint8).reshape(4, 3072)
    with open(tmp_path / "data_batch_1", "wb") as fh:
        pickle.dump({b"batch_label": b"x", b"labels": [1, 2, 3, 9], b"data": X,
                     b"filenames": [b"a", b"b", b"c", b"d"]}, fh, protocol=protocol)
    imgs = cifar.load_cifar10(tmp_path)
    assert imgs.X.shape == (4, 3, 32, 32) and list(imgs.y) == [1, 2, 3, 9]


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps([1, 2])[:-3], pickle.dumps([1, 2]),
                                     pickle.dumps({b"data": np.zeros((2, 5)), b"labels": [0, 1]})])
def test_damaged_batches_give_one_line(tmp_path, content):
    (tmp_path / "data_batch_1").write_bytes(content)
    with pytest.raises(ValueError) as exc:
        cifar.load_cifar10(tmp_path)
    assert "\n" not in str(exc.value) and "data_batch_1" in str(exc.value)


def test_protocol_2_codecs_global_admits_only_latin1(tmp_path):
    import codecs

    class _Zlib:
        def __reduce__(self):
            return (codecs.encode, ("x" * 10, "zlib_codec"))

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": _Zlib(), b"labels": [0]}, protocol=2))
    with pytest.raises(ValueError, match="only latin1") as exc:
        cifar.load_cifar10(tmp_path)
    assert "\n" not in str(exc.value)


# --- 2. RunSpec: every field range-checked before any work ---------------------------------------

BAD_SPECS = [
    "[1,2]", "null", '"text"', "{", "[[[[" * 5000, '{"x": 1}',
    '{"horizon": -5}', '{"horizon": 1e12}', '{"method": "gd", "policy": "a35", "horizon": 1e12}',
    '{"horizon": NaN}', '{"horizon": Infinity}',
    '{"hidden": [1000000]}', '{"hidden": [0]}', '{"hidden": [2.5]}', '{"hidden": 3}', '{"hidden": [[1]]}',
    '{"hidden": [' + ",".join(["2"] * 60) + "]}",
    '{"checkpoints": 1000000000}', '{"checkpoints": 0}', '{"checkpoints": true}',
    '{"method": "gd", "policy": "constant", "eta": -0.1}', '{"method": "gd", "policy": "constant", "eta": 1e300}',
    '{"method": "gd", "policy": "constant", "eta": NaN}', '{"method": "gd", "policy": "relative", "eta": 2}',
    '{"method": "gd", "policy": "constant"}', '{"method": "gd"}', '{"method": "gd", "policy": "fast"}',
    '{"method": "gd", "policy": "constant", "radius": 2, "loss": "exp"}',
    '{"scale": NaN}', '{"scale": 0}', '{"scale": 1e300}', '{"seed": -1}', '{"a12": "yes"}',
    '{"loss": "hinge"}', '{"init": "zeros"}', '{"method": "sgd"}', '{"param": "space"}', '{"solver": "Euler"}',
    '{"param": "geometric"}', '{"param": "geometric", "max_norm": 1e300}', '{"radius": -1}',
    '{"data": 5}', '{"data": []}', '{"data": [[1]]}', '{"data": ["random", 0, 3, 0.1, 0]}',
    '{"data": ["random", 12, 100000, 0.1, 0]}', '{"data": ["random", 12, 3, 0, 0]}',
    '{"data": ["random", 12, 3, 1.5, 0]}',
    '{"data": ["random", 12, 3, 0.1]}', '{"data": ["a27", 1, 0, 0.3, 0]}', '{"data": ["a27", 5000, 0, 0.3, 0]}',
    '{"data": ["file", "/no/such/file.csv"]}', '{"data": ["mnist", 1]}',
    '{"data": ["random", 100000, 10000, 0.1, 0]}',
    '{"hidden": [4096, 4096, 4096]}',
    '{"data": ["random", 100000, 1000, 0.1, 0], "method": "gd", "policy": "a35", "horizon": 1e7}',
]


@pytest.mark.parametrize("text", BAD_SPECS, ids=range(len(BAD_SPECS)))
def test_bad_specs_are_one_line_value_errors(text):
    with pytest.raises(ValueError) as exc:
        RunSpec.from_json(text)
    assert type(exc.value) is ValueError and "\n" not in str(exc.value) and str(exc.value)


def test_messages_name_the_field_and_the_limit():
    cases = {'{"horizon": 1e12}': "horizon (flow time)", '{"hidden": [1000000]}': "1..4096",
             '{"checkpoints": 1000000000}': "1..10000", '{"hidden": [4096, 4096, 4096]}': "GiB",
             '{"method": "gd", "policy": "constant", "eta": 1e300}': "eta"}
    for text, words in cases.items():
        with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
            RunSpec.from_json(text)


def test_every_spec_the_suite_builds_is_valid():
    from theorems.model import REGISTRY
    from theorems.run.profiles import long_specs, profile_specs

    for p in ("quick", "ci", "thorough"):
        for spec in profile_specs(p) + long_specs(REGISTRY.values(), p):
            assert spec.validate() is spec
            assert RunSpec.from_json(spec.to_json()) == spec


def test_simulate_validates_and_checks_max_norm_against_the_start():
    with pytest.raises(ValueError, match="eta"):
        runs.simulate(RunSpec(method="gd", policy="constant", eta=float("nan")))
    with pytest.raises(ValueError, match="must exceed the initial"):
        runs.simulate(RunSpec(method="flow", param="geometric", max_norm=1e-3))


def test_file_budget_is_checked_once_the_shape_is_known(tmp_path):
    X = np.tile([[0.6, 0.0, 0.0]], (4, 1)) + np.array([0, 0.1, 0.2, 0.3])[:, None] * [0, 1, 0]
    np.savez(tmp_path / "d.npz", X=X, y=np.ones(4))
    spec = RunSpec(data=("file", str(tmp_path / "d.npz")), hidden=(4096, 4096, 4096))
    spec.validate()                       # the data's shape is unknown until the file is read
    with pytest.raises(ValueError, match="GiB"):
        runs.simulate(spec)


# --- 3. Data files --------------------------------------------------------------------------------

GOOD = "a,b,y\n0.5,0.1,1\n-0.5,0.2,-1\n0.3,-0.4,1\n"


def _load(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return data.load(path)


@pytest.mark.parametrize("content", [
    GOOD, "\ufeff" + GOOD, GOOD.replace(",", ";"), GOOD.replace(",", "\t"), '"a","b","y"\n' + GOOD.split("\n", 1)[1],
    "\ufeff" + '"a";"b";"y"\n' + GOOD.split("\n", 1)[1].replace(",", ";"), GOOD.replace("\n", "\r\n"),
    GOOD + "\n\n", "a, b, y\n0.5, 0.1, 1\n-0.5, 0.2, -1\n0.3, -0.4, 1\n",
], ids=["comma", "bom", "semicolon", "tab", "quoted", "bom-quoted-semicolon", "crlf", "blank-lines", "spaces"])
def test_csv_dialects_read_the_same(tmp_path, content):
    ds = _load(tmp_path, "d.csv", content)
    assert np.array_equal(ds.X, [[0.5, 0.1], [-0.5, 0.2], [0.3, -0.4]]) and np.array_equal(ds.y, [1, -1, 1])


@pytest.mark.parametrize("content, words", [
    ("a,b,y\n", "no data rows"),
    ("", "empty file"),
    ("a,b,y\n0.5,0.1,1,7\n", "ragged rows: file line 2 has 4 fields"),
    ("a,b,y\n0.5,0.1,1\n0.5,0.1,1,7\n", "ragged rows: file line 3 has 4 fields"),
    ("a,b,y\n0.5,0.1,1\n0.3,-1\n", "empty or missing entry in row 1"),
    ("a,b,y\n0.5,,1\n", "empty or missing entry in row 0 \\(0-based\\), column 'b'"),
    ("a,y\n(1+2j),1\n", "complex value '\\(1\\+2j\\)'"),
    ("a,y\n1+2j,1\n", "complex value"),
    ("a,y\nfoo,1\n", "non-numeric entry 'foo'"),
    ("a;b;y\n0,5;0,1;1\n", "decimal commas"),
    ("a,y\n1e400,1\n", "'1e400' in row 0 \\(0-based\\), column 'a' overflows float64"),
    ("a,y\n1e308,1\n-0.3,-1\n", "\\|\\|x_i\\|\\| <= 1 fails \\(max 1e\\+308; tolerance 1 \\+ 1e-12"),
    ("a,y\n1.5,1\n", "tolerance 1 \\+ 1e-12"),
    ("a,y\nnan,1\n0.3,-1\n", "non-finite"),
    ("a,b\n0.5,0.1\n", "no label column 'y'"),
    ("y\n1\n", "no feature columns"),
    (b"a,y\n\xff\xfe,1\n", "not UTF-8"),
])
def test_bad_csv_files_are_named_in_one_line(tmp_path, content, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # no numpy overflow warnings before the message (1e308 once gave "max inf")
        with pytest.raises(data.DataError, match=words) as exc:
            _load(tmp_path, "d.csv", content)
    assert "\n" not in str(exc.value)


def test_npz_problems(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 2)))
    os.replace(tmp_path / "a.npy", tmp_path / "a.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.savez(tmp_path / "c.npz", X=np.array([[0.5 + 1j], [0.2 + 0j]]), y=np.array([1.0, -1.0]))
    np.savez(tmp_path / "s.npz", X=np.array([["a"], ["b"]]), y=np.array([1.0, -1.0]))
    for name, words in [("a.npz", "single .npy array, not an .npz archive"),
                        ("junk.npz", "not an .npz archive|cannot read"),
                        ("c.npz", "X is complex"), ("s.npz", "X must be numeric")]:
        with pytest.raises(data.DataError, match=words) as exc:
            data.load(tmp_path / name)
        assert "\n" not in str(exc.value) and name in str(exc.value)


def test_dataset_refuses_complex_object_and_ragged_arrays():
    with pytest.raises(data.DataError, match="complex"):
        data.Dataset(np.array([[0.5 + 0.5j]]), np.array([1.0]))
    with pytest.raises(data.DataError, match="numeric"):
        data.Dataset(np.array([[0.5]], dtype=object), np.array([1.0]))
    with pytest.raises(data.DataError, match="ragged"):
        data.Dataset([[0.5, 0.1], [0.2]], [1.0, -1.0])


# --- 4. Large problems ----------------------------------------------------------------------------

def _primal(Z):
    import quadprog
    d = Z.shape[1]
    u, _, _, _, lam, _ = quadprog.solve_qp(np.eye(d), np.zeros(d), Z.T.copy(), np.ones(len(Z)))
    return u, lam


@pytest.mark.parametrize("n, d, seed", [(1, 3, 0), (3, 7, 1), (5, 40, 2), (8, 9, 3), (12, 3, 4)])
def test_reduced_form_equals_the_primal(n, d, seed):
    Z = data.random_separable(n, d, 0.1, seed).Z
    u, lam = _primal(Z)
    mm = geometry.max_margin(Z)
    assert mm.kkt_residual < 1e-12
    assert np.allclose(mm.ubar, u / np.linalg.norm(u), atol=1e-12, rtol=0)
    assert mm.gamma == pytest.approx(1 / np.linalg.norm(u), abs=1e-12, rel=0)
    assert np.allclose(mm.dual, lam, atol=1e-11, rtol=0)


def test_max_margin_is_cached_and_read_only():
    Z = data.random_separable(9, 6, 0.1, 5).Z
    a, b = geometry.max_margin(Z), geometry.max_margin(Z.copy())
    assert a is b and not a.ubar.flags.writeable


@pytest.mark.parametrize("shape", [(30, 4), (4, 30), (6, 6), (1, 5), (5, 1)])
def test_span_basis_matches_a_plain_svd(shape):
    rng = np.random.default_rng(sum(shape))
    V = rng.standard_normal(shape)
    V = np.vstack([V, V[:1] * 2])               # a dependent row
    _, s, vt = np.linalg.svd(V, full_matrices=False)
    ref = vt[s > 1e-10 * s[0]].T
    got = geometry.span_basis(V)
    assert got.shape == ref.shape and np.allclose(got @ got.T, ref @ ref.T, atol=1e-12)


def test_alpha_refuses_too_many_support_vectors_quickly():
    # 120 support vectors in R^10: gamma e_1 + sqrt(1 - gamma^2) s_i, with s_i in e_1-perp in +- pairs
    rng = np.random.default_rng(0)
    s = rng.standard_normal((60, 9))
    s = np.vstack([s, -s]) / np.linalg.norm(np.vstack([s, -s]), axis=1, keepdims=True)
    gamma = 0.3
    Z = np.hstack([np.full((120, 1), gamma), np.sqrt(1 - gamma**2) * s])
    ds = data.Dataset(Z, np.ones(120))
    assert len(ds.max_margin.support) == 120
    t = time.perf_counter()
    with pytest.raises(geometry.TooManyVertices, match="120 support vectors in dimension 10") as exc:
        geometry.alpha(ds.Z, ds.max_margin)
    assert time.perf_counter() - t < 2 and "\n" not in str(exc.value) and isinstance(exc.value, ValueError)


def _alpha_in_full_dimension(Z, mm):
    """The d-dimensional computation of alpha (no change of coordinates, LPs for the recession cone): the
    reference that geometry.alpha, computed in the data's own coordinates, must reproduce."""
    import itertools

    basis = geometry.span_basis(Z)
    perp = geometry.span_basis((basis - np.outer(mm.ubar, mm.ubar @ basis)).T)
    P = Z[mm.support] @ perp
    m = P.shape[1]
    if m == 0:
        return math.inf
    if geometry._recession_direction(P):
        return 0.0
    best = 0.0
    for rows in itertools.combinations(range(len(P)), m):
        A = P[list(rows)]
        if abs(np.linalg.det(A)) >= 1e-12 * max(1.0, np.abs(A).max() ** m):
            xi = np.linalg.solve(A, np.ones(m))
            if np.all(P @ xi <= 1.0 + 1e-9):
                best = max(best, float(np.linalg.norm(xi)))
    return 1.0 / best if best > 0 else 0.0


def _wide_and_tall_data():
    out = [data.random_separable(n, d, 0.1, seed).Z
           for seed, (n, d) in enumerate([(3, 40), (6, 9), (8, 120), (5, 5), (30, 4), (200, 6), (2, 300), (1, 7)])]
    for d, extra in [(3, 0), (4, 3), (5, 2)]:           # Assumption 2.7 data, embedded in R^40 (n < d)
        Zs = data.assumption_27(d, extra, 0.3, d).Z
        Q, _ = np.linalg.qr(np.random.default_rng(d).standard_normal((40, d)))
        out += [Zs, Zs @ Q.T]
    out.append(np.array([[0.5, 0.0, 0.0], [0.9, 0.1, 0.0]]))                 # alpha = 0 (one support vector)
    out.append(np.array([[0.5, 0.5], [0.5, -0.5], [0.5, 0.0]]))               # a support vector with lambda = 0
    return out


@pytest.mark.parametrize("k", range(16))
def test_alpha_and_spans_in_reduced_coordinates_equal_the_full_computation(k):
    Z = _wide_and_tall_data()[k]
    mm = geometry.max_margin(Z)
    basis = geometry.span_basis(Z)
    r_support = geometry.span_basis(Z[mm.support]).shape[1]
    full, relaxed = geometry.support_spans_data(Z, mm)
    assert (full, relaxed) == (r_support == Z.shape[1], r_support == basis.shape[1])
    if not relaxed:
        return
    got, ref = geometry.alpha(Z, mm), _alpha_in_full_dimension(Z, mm)
    if math.isfinite(ref) and ref > 0:
        assert got == pytest.approx(ref, rel=1e-10, abs=0)   # ALPHA_REL (1e-9) is alpha's stated accuracy
    else:
        assert got == ref


def test_coordinates_are_an_isometry():
    rng = np.random.default_rng(3)
    Z, v = rng.standard_normal((7, 50)), rng.standard_normal(50)
    C, c = geometry.coordinates(Z, v)
    assert C.shape == (7, 8) and np.allclose(C @ C.T, Z @ Z.T, atol=1e-12) and np.allclose(C @ c, Z @ v, atol=1e-12)
    (T,) = geometry.coordinates(rng.standard_normal((30, 4)))
    assert T.shape == (30, 4)


def test_multiplier_certificate_never_contradicts_the_lps():
    """Where the KKT multipliers certify a bounded polytope, no LP finds a recession direction; where a
    multiplier is 0 (a degenerate support vector) the certificate declines and the LPs decide."""
    certified = 0
    for Z in _wide_and_tall_data() + [data.random_separable(12, 5, 0.1, s).Z for s in range(20)]:
        mm = geometry.max_margin(Z)
        if not geometry.support_spans_data(Z, mm)[1]:
            continue
        S, ub, basis = geometry._frame(Z, mm)
        P = S @ geometry.span_basis((basis - np.outer(ub, ub @ basis)).T)
        if P.shape[1] and geometry._bounded_by_multipliers(P, mm.dual[mm.support]):
            certified += 1
            assert not geometry._recession_direction(P)
    assert certified >= 10
    Z = np.array([[0.5, 0.5], [0.5, -0.5], [0.5, 0.0]])
    mm = geometry.max_margin(Z)
    assert mm.dual[mm.support].min() == 0 and not geometry._bounded_by_multipliers(np.ones((3, 1)), mm.dual[mm.support])


@pytest.mark.parametrize("shape", [(2, 1), (6, 1), (1, 4), (5, 3)])
def test_max_margin_of_read_only_data(monkeypatch, shape):
    """theorems.claims._problem hands the solver a read-only view of bytes; quadprog needs writable buffers
    (d = 1 once gave 'NotSeparable: buffer source array is read-only' after a cache eviction)."""
    ds = data.random_separable(*shape, 0.05, 0)
    Z = np.frombuffer(ds.Z.tobytes()).reshape(ds.Z.shape)
    assert not Z.flags.writeable
    monkeypatch.setattr(geometry, "_SOLVED", type(geometry._SOLVED)())
    mm = geometry.max_margin(Z)
    assert mm.kkt_residual < 1e-12 and mm.gamma == pytest.approx(ds.max_margin.gamma, rel=1e-12)


def test_large_problems_solve_in_the_small_form_once(monkeypatch):
    """n = 40, d = 3000 and n = 3000, d = 40: the max-margin problem is solved once for the data check and
    the certificate (geometry's cache), and the whole certificate (QP, support, alpha) takes seconds at most."""
    from theorems.claims._problem import certify

    calls = []
    solve = geometry._solve
    monkeypatch.setattr(geometry, "_solve", lambda Z: calls.append(Z.shape) or solve(Z))
    monkeypatch.setattr(geometry, "_SOLVED", type(geometry._SOLVED)())
    for n, d in [(40, 3000), (3000, 40)]:
        rng = np.random.default_rng(n)
        X = rng.standard_normal((n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        t = time.process_time()
        ds = data.Dataset(X, np.where(X @ rng.standard_normal(d) > 0, 1.0, -1.0))
        g = certify(ds.Z)
        assert time.process_time() - t < 5 and g.kkt_residual < 1e-10 and g.spans_data and g.alpha > 0
    assert calls == [(40, 3000), (3000, 40)]


# --- 5. Time budgets ------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["LSODA", "DOP853"])
def test_geometric_flow_honours_max_seconds_within_a_level(method):
    from dynamics.trajectory import Stop

    ds = data.random_separable(16, 4, 0.1, 7)
    ws0 = init.satisfy_a12(init.gaussian((4, 3, 3, 1), 0.5, 0), ds.Z, losses.LOGISTIC)
    t = time.perf_counter()
    tr = flow.geometric_flow(ws0, ds.Z, losses.LOGISTIC, max_norm=1e6, levels=2, method=method, max_seconds=0.3)
    assert time.perf_counter() - t < 0.3 + 0.5
    assert tr.stop is Stop.TIME_BUDGET and len(tr.snapshots) >= 1 and math.isfinite(tr.snapshots[-1].t)



# --- any input to the command line: exit 0, 1 or 2, never a traceback ----------------------------------

from click.testing import CliRunner  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSON = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["data", "hidden", "horizon", "checkpoints", "eta", "scale", "method",
                                         "policy", "loss", "seed", "init", "radius", "max_norm", "x"]), inner,
                        max_size=5), max_leaves=12)


def _clean_exit(result) -> bool:
    from_exit = result.exception is None or isinstance(result.exception, SystemExit)
    return from_exit and result.exit_code in (0, 1, 2) and "Traceback" not in result.output


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(JSON)
def test_check_spec_never_tracebacks(value):
    from aligncheck.cli import main

    r = CliRunner().invoke(main, ["check", "A1.2", "--spec", json.dumps(value)])
    assert _clean_exit(r), r.output


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200), st.sampled_from([".csv", ".npz", ".txt"]))
def test_data_files_never_traceback(tmp_path_factory, blob, suffix):
    from aligncheck.cli import main

    path = tmp_path_factory.mktemp("fuzz") / f"data{suffix}"
    path.write_bytes(blob)
    for args in (["problem", "--data", str(path)], ["verify", "--data", str(path), "--out", str(path.parent / "r")]):
        r = CliRunner().invoke(main, args)
        assert _clean_exit(r) and r.exit_code == 2, r.output
