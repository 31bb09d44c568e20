"""Small shared quantities of the proofs, as functions of a snapshot and its trajectory."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from dynamics import network

from ._problem import certify

if TYPE_CHECKING:
    from dynamics.trajectory import Snapshot, Trajectory

    from ._problem import Geometry

POSITIVE = 5e-324  # the smallest positive float64: "x >= POSITIVE" is exactly "x > 0"


def geom(traj: Trajectory) -> Geometry:
    return certify(traj.Z)


def R0(traj: Trajectory) -> float:
    return traj.initial.risk


def align2(s: Snapshot, k: int) -> float:
    """<v_{k+1}, u_k>^2 (0-based k: layers k and k+1 of s.ws)."""
    return (s.triplets[k + 1][2] @ s.triplets[k][1]) ** 2   # no float(): a high-precision replay keeps its digits


def pairs(traj: Trajectory) -> list[tuple[Snapshot, Snapshot]]:
    """Consecutive kept snapshots (for monotonicity along a run)."""
    return list(zip(traj.snapshots, traj.snapshots[1:]))


def perp_W1(s: Snapshot, traj: Trajectory) -> np.ndarray:
    """Pi_perp W_1: the rows of W_1 projected onto ubar-perp."""
    return s.ws[0] @ geom(traj).perp


def grad_w1_norm(s: Snapshot) -> float:
    return network.fro(s.layer_grads[0])


def ks(traj: Trajectory) -> range:
    """0-based layer pairs k, k+1 for k = 1..L-1 of the paper."""
    return range(traj.L - 1)


def data_seed(Z: np.ndarray) -> int:
    """A seed fixed by the data's bytes alone (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(np.ascontiguousarray(Z, float).tobytes(), digest_size=8).digest(), "little")


def lacks_sums(s: Snapshot, traj: Trajectory) -> bool:
    """A gradient-descent snapshot without Appendix C's running sums (the lean relative-step loop keeps none):
    the claims and tolerances built on them have no premise there."""
    return traj.method == "gd" and s.sums is None


def next_layer_vanishes(s: Snapshot) -> bool:
    """Some ||W_{k+1}||_2 = 0 (k = 1..L-1): the bounds divided by it are undefined there (no premise holds)."""
    return bool(np.any(s.sigma[1:] == 0))


def rhs_nonpositive(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Where a lower bound on a non-negative quantity (a norm, a square, a squared cosine) is <= 0: the
    inequality holds there for a trivial reason (a claim's `trivial`)."""
    return np.asarray(rhs) <= 0
