"""`aligncheck sweep`: a grid of runs through verify's executors; the same rows in this process, in local
processes and on a Dask cluster; a table and plots written whole; bad input one line, exit 2."""
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from aligncheck.cli import main
from theorems.run.executor import LocalExecutor
from theorems.run.sweep import Settings, grid, spec_of, sweep

TINY = dict(depth=(2, 3), width=(2, 4), dim=(2,), n=(8,))
SETTINGS = Settings(steps=4000, max_norm=100.0, checkpoints=40, claims=("L3.2", "SET-DATA", "T3.7-B3"))


def _rows(result):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in result.points], result.claims


@pytest.fixture(scope="module")
def serial():
    return sweep(grid(**TINY), SETTINGS)


def test_a_tiny_grid_reaches_its_targets(serial):
    assert [r["point"] for r in serial.points] == [0, 1, 2, 3]
    for r in serial.points:
        assert r["error"] == "" and r["stop"] == "norm reached", r
        assert 0 < r["align_t"] <= r["final_t"] and 0 < r["align_norm"] <= r["final_norm"]
        assert r["final_align_gap"] <= SETTINGS.align and r["final_angle"] <= SETTINGS.angle
        assert math.isnan(r["angle_t"]) or r["angle_t"] <= r["final_t"]
    claims = {c["claim_id"]: c for c in serial.claims}
    assert claims["L3.2"]["n_pass"] == 4 and 0 <= claims["L3.2"]["tightest_rel_slack"] <= 1
    assert claims["T3.7-B3"]["erratum"] and claims["T3.7-B3"]["n_fail"] > 0     # a catalogued erratum shows
    assert claims["T3.7-B3"]["tightest_rel_slack"] < 0 and "depth=" in claims["T3.7-B3"]["at"]


def test_processes_give_the_same_rows(serial):
    with LocalExecutor(2) as ex:
        assert _rows(sweep(grid(**TINY), SETTINGS, ex)) == _rows(serial)


def test_a_dask_cluster_gives_the_same_rows(serial):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed: "
                                                            "pip install 'aligncheck[dask]'")
    from theorems.run.executor import make

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  worker_dashboard_address=None) as cluster:
        with make("dask", scheduler=cluster.scheduler_address) as ex:
            assert _rows(sweep(grid(**TINY), SETTINGS, ex)) == _rows(serial)


def test_the_command_writes_its_table_and_plots(tmp_path):
    out = tmp_path / "sweep"
    r = CliRunner().invoke(main, ["sweep", "--depth", "2,3", "--width", "2", "--dim", "2", "--n", "8",
                                  "--max-norm", "200", "--checkpoints", "30", "--claim", "L3.2", "--jobs", "1",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    points = pd.read_csv(out / "points.csv")
    assert list(points["depth"]) == [2, 3] and points["align_t"].notna().all()
    claims = pd.read_csv(out / "claims.csv")
    assert list(claims["claim_id"]) == ["L3.2"]
    for png in ("steps.png", "norms.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert "L3.2" in (out / "sweep.md").read_text() and (out / "sweep.json").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]   # no temporary file left behind
    again = CliRunner().invoke(main, ["sweep", "--depth", "2", "--width", "2", "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


@pytest.mark.parametrize("args, says", [
    (["--depth", "1"], "depth"),
    (["--depth", "2,x"], "--depth"),
    (["--width", "2,,4"], "--width"),
    (["--policy", "sgd"], "policy"),
    (["--loss", "hinge"], "loss"),
    (["--claim", "NOPE"], "NOPE"),
    (["--angle-target", "0"], "angle"),
    (["--executor", "dask"], "--scheduler"),
    (["--dim", "100000"], "d"),
])
def test_bad_input_is_one_line(tmp_path, args, says):
    r = CliRunner().invoke(main, ["sweep", *args, "--out", str(tmp_path / "never")])
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") == 1 and says in r.output and "Traceback" not in r.output
    assert not (tmp_path / "never").exists()


def test_specs_are_validated_before_any_run():
    with pytest.raises(ValueError, match="depth"):
        spec_of(dict(depth=0, width=2, dim=2, n=8, loss="logistic", init="gaussian", policy="relative", seed=0),
                SETTINGS)
    with pytest.raises(ValueError, match="repeats"):
        grid(depth=(2, 2))
