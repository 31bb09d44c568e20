"""Hypothesis profiles: dev (fast), ci (default), thorough (long hunts).  Choose with
HYPOTHESIS_PROFILE=... or pytest --hypothesis-profile=...  Simulations are slow and deterministic,
so no deadline, derandomize (identical examples across runs and xdist workers) and no example database
(a failure saved by an earlier run on this machine must not change what this run tests)."""
import os

from hypothesis import HealthCheck, settings

common = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=5, **common)
settings.register_profile("ci", max_examples=15, **common)
settings.register_profile("thorough", max_examples=200, **common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
