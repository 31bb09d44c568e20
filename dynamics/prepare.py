"""Turn a raw two-class dataset into the paper's setting, saying what was done (`aligncheck prepare`).

The paper needs ||x_i|| <= 1, labels in {-1, +1}, and data separable through the origin (some u with
y_i <u, x_i> > 0 for every i).  The standard transform:
  1. labels: the two classes, in sorted order, become -1 and +1;
  2. centre the features (subtract their mean) and scale them so that the largest ||x_i|| is 1;
  3. append a constant coordinate (a bias): data separable by any hyperplane, not only one through the
     origin, is separable through the origin after it; then divide by sqrt(2) so that ||x_i|| <= 1 again.
Data that is still not separable is refused: the paper's results are about separable data.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import geometry
from .data import DataError


def read_raw(path: str | Path, label: str = "y") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(X, raw labels, feature names) from a CSV (any common delimiter, BOM allowed; label column `label`)
    or an .npz with arrays X and y.  No check of the paper's setting: that is what `prepare` establishes."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                X, y = np.asarray(f["X"]), np.asarray(f["y"])
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{path}: not an .npz with arrays X and y ({exc})") from None
        return X, y, [f"x{i + 1}" for i in range(X.shape[1] if X.ndim == 2 else 0)]
    try:
        frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if label not in frame.columns:
        raise DataError(f"{path}: no label column {label!r} (columns: {', '.join(frame.columns[:8])})")
    features = frame.drop(columns=[label])
    bad = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if bad:
        raise DataError(f"{path}: non-numeric feature columns {bad[:4]}")
    return features.to_numpy(float), frame[label].to_numpy(), list(features.columns)


def prepare(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(X', y', what was done): the standard transform of the module docstring."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) < 2:
        raise DataError(f"X must be a 2-D array with at least two rows; got shape {X.shape}")
    if not np.isfinite(X).all():
        raise DataError("X holds NaN or inf values")
    classes = np.unique(labels)
    if len(classes) != 2:
        raise DataError(f"two classes are needed; the labels hold {len(classes)}: {list(classes[:6])}")
    y = np.where(labels == classes[1], 1.0, -1.0)
    centred = X - X.mean(axis=0)
    top = float(np.max(np.linalg.norm(centred, axis=1)))
    if top == 0:
        raise DataError("every row is the same point: nothing to separate")
    Xp = np.hstack([centred / top, np.ones((len(X), 1))]) / np.sqrt(2.0)
    try:
        mm = geometry.max_margin(y[:, None] * Xp)
    except geometry.NotSeparable:
        raise DataError("the two classes are not linearly separable (not even with a bias): the paper's "
                        "results are about separable data") from None
    a, b = (c.item() if isinstance(c, np.generic) else c for c in classes)
    notes = [f"labels: {a!r} -> -1, {b!r} -> +1 ({int(np.sum(y < 0))} and {int(np.sum(y > 0))} rows)",
             f"features centred (mean subtracted) and divided by the largest centred norm {top:.6g}",
             "a constant coordinate (bias) appended, then every row divided by sqrt(2): ||x_i|| <= 1",
             f"separable through the origin: max-margin gamma = {mm.gamma:.6g}"]
    return Xp, y, notes


def write(path: str | Path, X: np.ndarray, y: np.ndarray, names: list[str]) -> Path:
    """Write a prepared dataset as CSV (features, then `bias`, then `y`) or .npz (X, y)."""
    path = Path(path)
    if path.suffix == ".npz":
        np.savez(path, X=X, y=y)
    else:
        frame = pd.DataFrame(X, columns=[*names, "bias"])
        frame["y"] = y.astype(int)
        frame.to_csv(path, index=False, float_format="%.17g")
    return path
