"""The few types everything speaks: Claim, Verdict, and the registry.

A claim states one inequality or identity of the paper as two sides computed from a point of a run:
a Snapshot (kind "snapshot"), a pair of consecutive gradient-descent iterates (kind "step"), or
sample points drawn by the claim itself (kind "static").  `sides` returns None where the claim's
premise does not hold at that point (nothing is checked there), else (lhs, rhs) or
(lhs, rhs, scale): arrays compared elementwise by `relation`, with `scale` the magnitude of the
terms that were summed (for the rounding tolerance; default |lhs| + |rhs|).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

STATUSES = ("pass", "fail", "erratum", "vacuous", "trend", "error", "not implemented", "not checked")
KINDS = ("identity", "snapshot", "step", "static", "asymptotic", "experiment")
RUNS = ("flow", "gd", "any")


@dataclass(frozen=True)
class Claim:
    id: str
    ref: str                       # where in the paper
    kind: str
    statement: str                 # plain text, as in CLAIMS.md
    sides: Callable | None = None
    relation: str = "<="           # "<=", ">=" or "==" (lhs relation rhs)
    runs: str = "any"              # which trajectories it speaks about: "flow", "gd" or "any"
    hypotheses: tuple = ()         # assumption ids (theorems.assumptions); unmet -> "vacuous"
    tolerance: str = "rounding"    # name in theorems.evaluate.TOLERANCES
    points: Callable | None = None  # static claims: (trajectory) -> iterable of sample points
    control: Callable | None = None  # a deliberately wrong variant (its sides, or its proof for identities)
    control_note: str = ""
    proof: Callable | None = None    # identity claims: () -> Proof, run once (no trajectory needed)
    assumption: bool = False         # a hypothesis checked on each run: not met there is no paper error
    trend: Callable | None = None    # asymptotic claims: (trajectory) -> Verdict-like evidence (theorems.asymptotic)

    def __post_init__(self):
        assert self.kind in KINDS and self.runs in RUNS and self.relation in ("<=", ">=", "==")
        assert self.sides is None or self.kind in ("snapshot", "step", "static"), self.id

    @property
    def negative_control(self) -> "Claim | None":
        """The same claim with its deliberately wrong sides: the machinery must report it failing."""
        if self.control is None:
            return None
        swap = {"proof": self.control} if self.kind == "identity" else {"sides": self.control}
        return replace(self, id=self.id + "~control", control=None, **swap,
                       statement=f"NEGATIVE CONTROL ({self.control_note}) of: {self.statement}")


@dataclass
class Proof:
    """The outcome of proving an identity claim (symbolically, with a numeric cross-check)."""

    ok: bool
    method: str                            # how it was proved, e.g. "sympy, per shape" / "dimension-free"
    latex: str = ""
    shapes: tuple = ()                     # the concrete shapes proved, if per shape
    dimension_free: bool = False
    numeric_residual: float | None = None  # max |lhs - rhs| of the numeric cross-check (simulator's code)
    message: str = ""                      # on failure: the non-zero difference, or the counterexample


@dataclass
class Verdict:
    claim_id: str
    run_id: str
    status: str
    worst_slack: float | None = None   # min over checked points of (rhs - lhs) for "<=" etc.
    lhs: float | None = None           # both sides where the slack was smallest
    rhs: float | None = None
    tol: float | None = None           # the tolerance there
    where: str = ""                    # time / step / index of the worst point
    n_checked: int = 0
    message: str = ""
    spec: str = ""                     # RunSpec JSON of the run
    seconds: float = 0.0
    details: dict = field(default_factory=dict)  # e.g. thresholds reached and fitted rates (asymptotic claims)

    def row(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


REGISTRY: dict[str, Claim] = {}


def register(*claims: Claim) -> None:
    for c in claims:
        if c.id in REGISTRY:
            raise ValueError(f"claim {c.id} registered twice")
        REGISTRY[c.id] = c
