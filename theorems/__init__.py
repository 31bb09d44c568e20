"""The paper's statements and how they are checked and run.

Rooms, with imports running one way (run -> engine, experiments -> claims -> model; everything may use
dynamics, which knows nothing of claims):
  model         Claim, Verdict, Proof, Tolerance, Outcome, statuses, the registry and the aggregation rule
  claims/       one module per statement (importing the package registers them all)
  engine/       pure checking: a claim on a trajectory, hypotheses, limits
  experiments/  Figures 1, 2 and 3: run, judge by stated rules, return verdicts
  run/          profiles, strategies, the one plan, verify
The reports and the command line live in the `aligncheck` package, above this one.
"""
from . import claims, experiments  # noqa: F401  (registers every claim)
from .model import REGISTRY, Claim, Verdict, register  # noqa: F401
