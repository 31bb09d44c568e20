"""Hypothesis profiles: dev (fast), ci (default), thorough (long hunts).  Choose with
HYPOTHESIS_PROFILE=... or pytest --hypothesis-profile=...  Simulations are slow and deterministic,
so no deadline, derandomize (identical examples across runs and xdist workers) and no example database
(a failure saved by an earlier run on this machine must not change what this run tests)."""
import fcntl
import os
import pickle

import pytest
from hypothesis import HealthCheck, settings

common = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=5, **common)
settings.register_profile("ci", max_examples=15, **common)
settings.register_profile("thorough", max_examples=200, **common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def quick_outcome(tmp_path_factory, request):
    """`verify --profile quick` on every claim, computed once per test session: under xdist the first worker
    to ask runs it on two processes while the others wait, then each reads it (our own pickle, in the
    session's temporary folder).  Read-only for the tests that share it."""
    from theorems.run.verify import verify

    if not hasattr(request.config, "workerinput"):   # not an xdist worker
        return verify("quick", seed=0, jobs=2)
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "quick.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = shared / "quick-outcome.pickle"
        if not path.exists():
            path.write_bytes(pickle.dumps(verify("quick", seed=0, jobs=2)))
        return pickle.loads(path.read_bytes())
