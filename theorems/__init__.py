"""The paper's statements as checkable claims, their evaluation, and the verification report.

Importing the package registers every claim (theorems.claims holds one module per statement).
"""
from . import claims  # noqa: F401  (registers every claim)
from ._claim import REGISTRY, Claim, Verdict, register  # noqa: F401
