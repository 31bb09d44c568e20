"""Datasets of the paper's setting (Section 1.2): ||x_i|| <= 1, y_i in {-1, +1}, separable through 0.

`Dataset` refuses anything else with one `DataError` that names the condition and the rows.
Generators make data with known properties; loaders read user files (CSV with a label column, NPZ
with arrays X and y).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import geometry

NORM_SLACK = 1e-12  # ||x_i|| <= 1 + NORM_SLACK: rounding of data normalised to the unit sphere


class DataError(ValueError):
    """The data does not fit the paper's setting; the message names the condition and rows."""


def _rows(idx) -> str:
    idx = [int(i) for i in np.atleast_1d(idx)]
    shown = ", ".join(map(str, idx[:8])) + (", ..." if len(idx) > 8 else "")
    return f"row{'s' if len(idx) > 1 else ''} {shown} (0-based)"


@dataclass(frozen=True, eq=False)
class Dataset:
    X: np.ndarray
    y: np.ndarray
    name: str = "data"
    max_margin: geometry.MaxMargin = field(init=False, repr=False)

    def __post_init__(self):
        X = np.asarray(self.X, dtype=float)
        y = np.asarray(self.y, dtype=float)
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"X must be a non-empty 2-D array (n x d); got shape {X.shape}")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise DataError(f"y must be 1-D with one label per row of X; got {y.shape} for X {X.shape}")
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1) | ~np.isfinite(y))
        if bad.size:
            raise DataError(f"non-finite values (NaN or inf) in {_rows(bad)}")
        bad = np.flatnonzero(~np.isin(y, (-1.0, 1.0)))
        if bad.size:
            raise DataError(f"labels must be -1 or +1; got {sorted(set(y[bad].tolist()))[:4]} in {_rows(bad)}")
        norms = np.linalg.norm(X, axis=1)
        bad = np.flatnonzero(norms > 1 + NORM_SLACK)
        if bad.size:
            raise DataError(f"||x_i|| <= 1 fails (max {norms[bad].max():.6g}) in {_rows(bad)}; rescale the data")
        Z = y[:, None] * X
        bad = np.flatnonzero(norms == 0)
        if bad.size:
            raise DataError(f"not separable through the origin: x_i = 0 in {_rows(bad)}")
        try:
            mm = geometry.max_margin(Z)
        except geometry.NotSeparable:
            raise DataError("not separable through the origin: no u has y_i <u, x_i> > 0 for every row") from None
        X.flags.writeable = False
        y.flags.writeable = False
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "max_margin", mm)

    @property
    def Z(self) -> np.ndarray:
        """z_i = y_i x_i, one per row."""
        return self.y[:, None] * self.X

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]


# ---------------------------------------------------------------- generators

def _unit_rows(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def random_separable(n: int, d: int, margin: float = 0.1, seed: int = 0) -> Dataset:
    """n points on the unit sphere with y_i <u*, x_i> >= margin for a random unit u*."""
    if not 0 < margin < 1:
        raise ValueError("margin must lie in (0, 1)")
    rng = np.random.default_rng(seed)
    u = _unit_rows(rng.standard_normal((1, d)))[0]
    y = rng.choice([-1.0, 1.0], size=n)
    # along u: |<u, x>| uniform in [margin, 1); the rest a random direction in u-perp
    a = rng.uniform(margin, 1.0, size=n)
    g = rng.standard_normal((n, d))
    g -= np.outer(g @ u, u)
    perp = _unit_rows(g) if d > 1 else np.zeros((n, d))
    X = (y * a)[:, None] * u + np.sqrt(1 - a**2)[:, None] * perp
    return Dataset(X, y, name=f"random_separable(n={n}, d={d}, margin={margin}, seed={seed})")


def assumption_27(d: int, n_extra: int = 0, gamma: float = 0.3, seed: int = 0) -> Dataset:
    """Data whose d support vectors span R^d, with ubar and gamma known by construction.

    Support vectors z_i = gamma*ubar + sqrt(1-gamma^2) * s_i with s_1..s_d the vertices of a
    regular simplex in ubar-perp (they sum to 0, so ubar is in their positive cone); the extra
    points have margin > gamma.  Labels are random; x_i = y_i z_i.
    """
    if d < 2:
        raise ValueError("assumption_27 needs d >= 2")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    ubar, B = Q[:, 0], Q[:, 1:]                     # B: orthonormal basis of ubar-perp
    E = np.eye(d) - 1.0 / d                         # d centred basis vectors: a simplex in R^{d-1}
    S = _unit_rows(E @ np.linalg.svd(E)[2][: d - 1].T)  # simplex coordinates in R^{d-1}
    Zs = gamma * ubar + np.sqrt(1 - gamma**2) * (S @ B.T)
    a = rng.uniform(min(1.0, gamma + 0.1), 1.0, size=n_extra)
    g = rng.standard_normal((n_extra, d - 1))
    Ze = a[:, None] * ubar + np.sqrt(1 - a**2)[:, None] * (_unit_rows(g) @ B.T) if n_extra else np.zeros((0, d))
    Z = np.vstack([Zs, Ze])
    y = rng.choice([-1.0, 1.0], size=len(Z))
    return Dataset(y[:, None] * Z, y, name=f"assumption_27(d={d}, n_extra={n_extra}, gamma={gamma}, seed={seed})")


# ---------------------------------------------------------------- loaders

def load(path: str | Path, label: str = "y") -> Dataset:
    """Read a user file: .npz with arrays X and y, or .csv with a header and a label column."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot read {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                missing = {"X", "y"} - set(f.files)
                if missing:
                    raise DataError(f"{path}: NPZ must hold arrays X and y; missing {sorted(missing)}")
                X, y = f["X"], f["y"]
        elif suffix == ".csv":
            X, y = _read_csv(path, label)
        else:
            raise DataError(f"{path}: unknown format {suffix!r}; use .csv (with a {label!r} column) or .npz (X, y)")
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return Dataset(X, y, name=path.name)


def _read_csv(path: Path, label: str):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise DataError(f"{path}: empty file")
    header, body = rows[0], [r for r in rows[1:] if r]
    if label not in header:
        raise DataError(f"{path}: no label column {label!r} in header {header}")
    j = header.index(label)
    try:
        table = np.array([[float(v) for v in r] for r in body], dtype=float)
    except ValueError as exc:
        raise DataError(f"{path}: non-numeric entry ({exc})") from None
    if table.ndim != 2 or table.shape[1] != len(header):
        raise DataError(f"{path}: every row must have {len(header)} fields")
    return np.delete(table, j, axis=1), table[:, j]
