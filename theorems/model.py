"""The few types everything speaks: Claim, Verdict, Proof, Tolerance, Outcome, the statuses, the registry
and the one aggregation rule.  Nothing here checks or simulates.

A claim states one inequality or identity of the paper as two sides computed from a point of a run:
a Snapshot (kind "snapshot"), a pair of consecutive gradient-descent iterates (kind "step"), or
sample points drawn by the claim itself (kind "static").  `sides` returns None where the claim's
premise does not hold at that point (nothing is checked there), else (lhs, rhs) or
(lhs, rhs, scale): arrays compared elementwise by `relation`, with `scale` the magnitude of the
terms that were summed (for the rounding tolerance; default |lhs| + |rhs|).

A claim module declares everything about its claim in its Claim record (statement, reference, kind,
hypotheses, tolerance, negative control, the long runs it needs, erratum status and correction);
every list elsewhere (catalogue, errata, assumptions, tolerances, long runs) is derived from the registry.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import numpy as np

DECISIVE = 100.0   # a violation decides `fail` only beyond DECISIVE x its tolerance; smaller: inconclusive (rounding)
STATUSES = ("pass", "fail", "erratum", "vacuous", "inconclusive", "trend", "error", "not checked")
# what each status means, one meaning each (README, report and --help print this table)
STATUS_MEANINGS = {
    "pass": "held at every checked point of every run (within its stated tolerance)",
    "fail": f"violated by more than {DECISIVE:g} x its tolerance on some run, confirmed in high precision (a finding: "
            "see its counterexample)",
    "erratum": "false as printed, a catalogued erratum (its corrected form is a claim of its own)",
    "vacuous": "its hypotheses were not met on any run (never counted as a pass)",
    "inconclusive": "not decided: a limit still improving but short of its threshold, or too few records to tell "
                    "(horizon too short or the run stalled: `verify --horizon-scale X` runs longer); or a violation "
                    f"within {DECISIVE:g} x its tolerance, or not confirmed in high precision (rounding)",
    "trend": "a limit or an experiment: finite-time evidence consistent with it (never a pass)",
    "error": "the check itself broke, or its simulation failed",
    "not checked": "left out of this run (`--claim`, or Figure 3 without `--alexnet`)",
    "met k/n": "an assumption: held on k of the n runs (the claims resting on it are vacuous on the others)",
}
KINDS = ("identity", "snapshot", "step", "static", "asymptotic", "experiment")
RUNS = ("flow", "gd", "any")
RELATIONS = ("<=", ">=", "==")
# The catalogue's sections, in the paper's order (CLAIMS.md); the report lists claims in this order.
SECTIONS = ("setting", "identities", "flow", "gd", "geometry", "asymptotic", "experiments")

EPS = float(np.finfo(float).eps)
ROUNDING_FACTOR = 1e3   # rounding tolerance = ROUNDING_FACTOR * EPS * scale (see ROUNDING below)


@dataclass(frozen=True)
class Tolerance:
    """How much slack a check allows beyond rounding: `extra(point, trajectory)`, described in words
    (the report prints `description`), and capped: where `extra` exceeds `cap` times the magnitude of the
    terms, the run is too inaccurate to judge (an `error` of the run, never a wider tolerance)."""

    name: str
    description: str
    extra: Callable = field(default=lambda point, traj: 0.0, compare=False)
    cap: float = 0.0


ROUNDING = Tolerance("rounding", (
    f"{ROUNDING_FACTOR:g} * eps * scale, scale = magnitude of the summed terms.  Each side is a sum of a few "
    "dozen norms, singular values and inner products of matrices of width <= 8, each computed by "
    "backward-stable LAPACK/BLAS with error <= (a small multiple of width) * eps * its magnitude; "
    f"{ROUNDING_FACTOR:g} covers the sum."))


def rounding(scale: object) -> np.ndarray:
    """The rounding tolerance of a sum of terms of total magnitude `scale`."""
    return ROUNDING_FACTOR * EPS * np.asarray(scale, float)


@dataclass(frozen=True)
class Claim:
    id: str
    ref: str                       # where in the paper
    kind: str
    statement: str                 # plain text, as in CLAIMS.md
    sides: Callable | None = None
    relation: str = "<="           # "<=", ">=" or "==" (lhs relation rhs)
    runs: str = "any"              # which trajectories it speaks about: "flow", "gd" or "any"
    hypotheses: tuple = ()         # ids of assumption claims; unmet -> "vacuous"
    tolerance: Tolerance = ROUNDING
    points: Callable | None = None  # static claims: (trajectory) -> iterable of sample points
    control: Callable | None = None  # a deliberately wrong variant (its sides, its proof, or its trend)
    control_note: str = ""
    proof: Callable | None = None    # identity claims: () -> Proof, run once (no trajectory needed)
    dimension_free: bool = False     # identity claims: the proof covers symbolic widths (MatrixSymbols)
    assumption: bool = False         # a hypothesis checked on each run: not met there is no paper error
    requires: Callable | None = None  # assumptions: (trajectory) -> "" if the run can meet it, else why not
    trend: Callable | None = None    # asymptotic claims: (trajectory) -> Verdict-like evidence
    experiment: Callable | None = None  # experiments run once: () -> Verdict (they simulate their own runs)
    long_runs: Callable | None = None  # (profile, seed, data) -> the RunSpecs of the long runs it is judged on
    erratum: str = ""                # false as printed: why (and the ID of the corrected claim)
    witness: object = None           # errata checked on runs: a dynamics.runs.RunSpec where the printed form
                                     # fails (the catalogued counterexample; verify and the tests check it)
    section: str = ""                # the catalogue section (default: from kind, runs and assumption)
    trivial: Callable | None = None  # (lhs, rhs) -> bool array: where the inequality holds for a trivial reason
                                     # (e.g. a lower bound <= 0 on a squared cosine); reported as a share

    def __post_init__(self):
        bad = [(what, value, allowed) for what, value, allowed in
               (("kind", self.kind, KINDS), ("runs", self.runs, RUNS), ("relation", self.relation, RELATIONS),
                ("section", self.section or "setting", SECTIONS)) if value not in allowed]
        if bad:
            raise ValueError(f"claim {self.id}: " + "; ".join(f"{w} {v!r} not in {a}" for w, v, a in bad))
        if self.sides is not None and self.kind not in ("snapshot", "step", "static"):
            raise ValueError(f"claim {self.id}: only snapshot, step and static claims have sides")

    @property
    def catalogue_section(self) -> str:
        if self.section:
            return self.section
        if self.assumption:
            return "setting"
        if self.kind == "identity":
            return "identities"
        if self.kind in ("asymptotic", "experiment"):
            return {"asymptotic": "asymptotic", "experiment": "experiments"}[self.kind]
        if self.kind == "static":
            return "geometry"
        return "gd" if self.runs == "gd" else "flow"

    @property
    def negative_control(self) -> "Claim | None":
        """The same claim with its deliberately wrong sides: the machinery must report it failing."""
        if self.control is None:
            return None
        swap = {"identity": "proof", "asymptotic": "trend", "experiment": "trend"}.get(self.kind, "sides")
        return replace(self, id=self.id + "~control", control=None, **{swap: self.control},
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
    exact: bool = False                    # some symbolic difference is a nonzero expression: false in exact arithmetic


@dataclass
class Verdict:
    claim_id: str
    run_id: str
    status: str
    worst_slack: float | None = None   # min over checked points of (rhs - lhs) for "<=" etc.
    rel_slack: float | None = None     # min over checked points of slack / max(|lhs|, |rhs|) (both 0: left out)
    trivial_share: float | None = None  # share of checked elements where the claim holds trivially
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
        return dict(self.__dict__)


@dataclass
class Outcome:
    """Everything a verification produced; the report writers only read it."""

    verdicts: list = field(default_factory=list)          # one per (claim, run), identities once
    controls: list = field(default_factory=list)          # verdicts of the negative controls
    counterexamples: dict = field(default_factory=dict)   # claim id -> shrunk failing Verdict
    specs: list = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    series: dict = field(default_factory=dict)            # claim id -> (run label, both sides along one run)
    figures: dict = field(default_factory=dict)           # experiment data the report draws (never re-simulated)


REGISTRY: dict[str, Claim] = {}


def register(*claims: Claim) -> None:
    for c in claims:
        if c.id in REGISTRY:
            raise ValueError(f"claim {c.id} registered twice")
        REGISTRY[c.id] = c


def ordered(claims: Iterable[Claim]) -> list[Claim]:
    """Claims in catalogue order: by section, then in the order they were registered."""
    return sorted(claims, key=lambda c: SECTIONS.index(c.catalogue_section))


def errata() -> dict[str, str]:
    """{claim id: why it is false as printed} for every claim that declares an erratum."""
    return {c.id: c.erratum for c in REGISTRY.values() if c.erratum}


def count_statuses(statuses: Iterable[str]) -> dict[str, int]:
    """{status: how many}, in the order of STATUS_MEANINGS (assumption rows `met k/n` counted together)."""
    statuses = ["met k/n" if s.startswith("met ") else s for s in statuses]
    return {s: statuses.count(s) for s in STATUS_MEANINGS if s in statuses}


def aggregate(claim_id: str, verdicts: list) -> str:
    """One status per claim over its runs: a failure anywhere decides (erratum if the claim declares one)."""
    statuses = {v.status for v in verdicts}
    if "fail" in statuses:
        claim = REGISTRY.get(claim_id)
        return "erratum" if claim is not None and claim.erratum else "fail"
    if "error" in statuses:
        return "error"
    if any(v.status == "inconclusive" and v.details.get("rounding") for v in verdicts):
        return "inconclusive"   # a rounding-level violation somewhere is never hidden behind passes elsewhere
    if "trend" in statuses:  # a limit: finite-time evidence only, never promoted to pass
        return "trend"
    if "pass" in statuses:
        return "pass"
    if "inconclusive" in statuses:  # nowhere decided, somewhere too short to tell
        return "inconclusive"
    return "vacuous" if statuses else "not checked"
