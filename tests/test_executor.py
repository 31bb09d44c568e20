"""verify on every core, and beyond one machine: the runs of verify go to local processes (--jobs) or a Dask
cluster (--executor dask) and the verdicts, their order, the journal's order and the plotted series are the
same as one after the other in this process; a stop keeps what finished, in order; bad options are one line."""
import pytest
from click.testing import CliRunner

from aligncheck.cli import main
from theorems.run.executor import LocalExecutor, SerialExecutor, default_jobs, make
from theorems.run.verify import Interrupted, verify

# fast claims: two inequalities on every profile run (their series are plotted) and a limit on the long runs
CLAIMS = ["L2.6a", "EQ3.3", "T2.2d"]
SHORT = 0.3   # horizon scale: every simulation shorter, so the three verifies of this module take seconds


def _rows(outcome):
    """Everything of the verdicts but their timing."""
    return [(v.claim_id, v.run_id, v.status, v.worst_slack, v.rel_slack, v.trivial_share, v.lhs, v.rhs, v.tol,
             v.where, v.n_checked, v.message, v.spec, repr(v.details)) for v in outcome.verdicts + outcome.controls]


def _series(outcome):
    return {cid: (s["run"], {k: list(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
                             for k, v in s["series"].items()}) for cid, s in outcome.series.items()}


@pytest.fixture(scope="module")
def serial():
    runs = []
    out = verify("quick", claims=CLAIMS, horizon_scale=SHORT, jobs=1, on_run=lambda r, vs, cs: runs.append(r))
    return out, runs


def test_default_jobs_are_the_cores_we_may_use():
    assert 1 <= default_jobs() <= 4096
    assert isinstance(make("local", 1), SerialExecutor)


def test_processes_give_the_same_verdicts_in_the_same_order(serial):
    expected, expected_runs = serial
    runs = []
    out = verify("quick", claims=CLAIMS, horizon_scale=SHORT, jobs=2, on_run=lambda r, vs, cs: runs.append(r))
    assert _rows(out) == _rows(expected)
    assert runs == expected_runs == sorted(expected_runs)       # journalled in run order
    assert _series(out) == _series(expected) and out.series     # the report's slack plots: the same runs


def test_a_stop_keeps_what_finished_in_order(serial):
    expected, _ = serial
    runs = []
    with LocalExecutor(2) as ex, pytest.raises(Interrupted) as stopped:
        verify("quick", claims=CLAIMS, horizon_scale=SHORT, executor=ex,
               on_run=lambda r, vs, cs: runs.append(r), stop=lambda: len(runs) >= 1)
    got = stopped.value
    assert 1 <= got.done < got.total and runs == sorted(runs) and len(runs) == got.done
    assert "interrupted" in got.outcome.provenance
    kept = [r for r in _rows(got.outcome) if r[1] in runs]
    assert kept == [r for r in _rows(expected) if r[1] in runs]   # each finished run's verdicts, as uninterrupted


def test_resume_after_a_parallel_stop_equals_the_uninterrupted_run(serial):
    expected, _ = serial
    journal = {}
    with pytest.raises(Interrupted):
        verify("quick", claims=CLAIMS, horizon_scale=SHORT, jobs=2,
               on_run=lambda r, vs, cs: journal.__setitem__(r, (vs, cs)), stop=lambda: len(journal) >= 2)
    out = verify("quick", claims=CLAIMS, horizon_scale=SHORT, jobs=2, finished=journal)
    assert _rows(out) == _rows(expected)


def test_bad_executor_options_are_one_line():
    for args in (["--executor", "dask"], ["--scheduler", "tcp://127.0.0.1:8786"], ["--jobs", "0"]):
        r = CliRunner().invoke(main, ["verify", "--profile", "quick", *args])
        assert r.exit_code == 2, r.output
        assert "Traceback" not in r.output


def test_dask_cluster_gives_the_local_verdicts(serial):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed: "
                                                            "pip install 'aligncheck[dask]'")
    from theorems.run.executor import DaskExecutor

    expected, expected_runs = serial
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0",
                                  worker_dashboard_address=None) as cluster:
        runs = []
        with make("dask", scheduler=cluster.scheduler_address) as ex:
            assert isinstance(ex, DaskExecutor)
            out = verify("quick", claims=CLAIMS, horizon_scale=SHORT, executor=ex,
                         on_run=lambda r, vs, cs: runs.append(r))
    assert _rows(out) == _rows(expected)
    assert runs == expected_runs
    assert _series(out) == _series(expected)


def test_an_unreachable_scheduler_is_one_line():
    pytest.importorskip("distributed", reason="dask.distributed is not installed: pip install 'aligncheck[dask]'")
    from theorems.run.executor import DaskExecutor

    with pytest.raises(OSError, match="cannot reach the dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=0.5)
    for bad in ("nonsense://host:1", "tcp://"):
        with pytest.raises(ValueError, match="not a scheduler address"):
            DaskExecutor(bad)
