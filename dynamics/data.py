"""Datasets of the paper's setting (Section 1.2): ||x_i|| <= 1, y_i in {-1, +1}, separable through 0.

`Dataset` refuses anything else with one `DataError` that names the condition and the rows.
Generators make data with known properties; loaders read user files (CSV with a label column, NPZ
with arrays X and y).
"""
from __future__ import annotations

import csv
import io
import math
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import geometry

if TYPE_CHECKING:
    import pandas as pd   # imported where a CSV is read (an .npz or a generated dataset never needs it)

NORM_SLACK = 1e-12  # ||x_i|| <= 1 + NORM_SLACK: rounding of data normalised to the unit sphere
DELIMITERS = ",;\t"  # CSV delimiters recognised (sniffed from the header line; ',' when it has one column)
NUMERIC_KINDS = "biuf"  # numpy dtype kinds accepted for X and y (bool, ints, floats); complex/object/text refused


class DataError(ValueError):
    """The data does not fit the paper's setting; the message names the condition and rows."""


def _numeric(name: str, a) -> np.ndarray:
    """`a` as a float64 array, refusing ragged, complex, object and text input with one line."""
    try:
        arr = np.asarray(a)
    except ValueError:
        raise DataError(f"{name} is ragged (rows of different lengths); it must be a rectangular array") from None
    if arr.dtype.kind == "c":
        raise DataError(f"{name} is complex ({arr.dtype}); the paper's data are real: pass the real part explicitly "
                        "if that is what is meant")
    if arr.dtype.kind not in NUMERIC_KINDS:
        raise DataError(f"{name} must be numeric (bool, integer or float); got dtype {arr.dtype}")
    return arr.astype(float)


def row_norms(X: np.ndarray) -> np.ndarray:
    """||x_i|| for every row without overflow (rows scaled by their largest |entry| first)."""
    scale = np.abs(X).max(axis=1) if X.size else np.zeros(len(X))
    safe = np.where(scale > 0, scale, 1.0)
    return scale * np.linalg.norm(X / safe[:, None], axis=1)


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
        X = _numeric("X", self.X)
        y = _numeric("y", self.y)
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
        norms = row_norms(X)
        bad = np.flatnonzero(norms > 1 + NORM_SLACK)
        if bad.size:
            raise DataError(f"||x_i|| <= 1 fails (max {norms[bad].max():.6g}; tolerance 1 + {NORM_SLACK:g} "
                            f"for rounding) in {_rows(bad)}; rescale the data")
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
            X, y = _read_npz(path)
        elif suffix == ".csv":
            X, y = _read_csv(path, label)
        else:
            raise DataError(f"{path}: unknown format {suffix!r}; use .csv (with a {label!r} column) or .npz (X, y)")
    except DataError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {path}: {_first_line(exc)}") from None
    try:
        return Dataset(X, y, name=path.name)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_npz(path: Path):
    """Arrays X and y of an .npz archive (no pickles); a lone .npy array under an .npz name is refused."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(f"{path}: a single .npy array, not an .npz archive; write it with np.savez(path, X=X, y=y)")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not an .npz archive (no zip header); write it with np.savez(path, X=X, y=y)")
    with np.load(path, allow_pickle=False) as f:
        missing = {"X", "y"} - set(f.files)
        if missing:
            raise DataError(f"{path}: NPZ must hold arrays X and y; missing {sorted(missing)}")
        return f["X"], f["y"]


def _decode(path: Path) -> str:
    """The file's text (UTF-8, a byte-order mark dropped)."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None


def _delimiter(header_line: str) -> str:
    """The delimiter of a header line: one of DELIMITERS, sniffed (quotes respected); ',' for one column."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {c: header_line.count(c) for c in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _read_csv(path: Path, label: str):
    """A CSV with a header row and a label column: BOM, ',' ';' or tab delimiters and quoted names
    handled; every other column a feature."""
    text = _decode(path)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{path}: empty file")
    sep = _delimiter(lines[0])
    header = _header(path, lines[0], sep)
    if label not in header:
        raise DataError(f"{path}: no label column {label!r} in header {header} (delimiter {sep!r})")
    if len(header) < 2:
        raise DataError(f"{path}: no feature columns besides the label {label!r}")
    if len(lines) < 2:
        raise DataError(f"{path}: no data rows (only the header {header})")
    table = _fast_table(text, sep, len(header))
    if table is None or np.isinf(table).any():
        table = _checked_table(path, text, sep, header)
    j = header.index(label)
    return np.delete(table, j, axis=1), table[:, j]


def _frame(text: str, sep: str, **kw) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(io.StringIO(text), sep=sep, skip_blank_lines=True, skipinitialspace=True, **kw)


def _header(path: Path, line: str, sep: str) -> list[str]:
    """The column names of the header line (quotes and surrounding spaces removed)."""
    import pandas as pd

    try:
        head = _frame(line, sep, header=None, nrows=1, dtype=str, na_filter=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the header ({_first_line(exc)})") from None
    return [str(h).strip() for h in head.iloc[0]]


def _fast_table(text: str, sep: str, width: int) -> np.ndarray | None:
    """Every data row as float64 when the file is clean (pandas' C parser); None to diagnose slowly."""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = _frame(text, sep, header=0, index_col=False, dtype=np.float64, na_filter=False)
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning):
        return None
    table = df.to_numpy(dtype=float)
    return table if table.ndim == 2 and table.shape[1] == width else None


def _checked_table(path: Path, text: str, sep: str, header: list[str]) -> np.ndarray:
    """Parse cell by cell, naming the first ragged row, empty, non-numeric, complex or overflowing entry."""
    import pandas as pd

    try:
        raw = _frame(text, sep, header=None, dtype=str, na_filter=False)
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        what = f"file line {m[2]} has {m[3]} fields" if m else _first_line(exc)
        raise DataError(f"{path}: ragged rows: {what}, the header {len(header)} (delimiter {sep!r})") from None
    cells = raw.iloc[1:].to_numpy(dtype=object)
    table = np.empty(cells.shape)
    for (i, j), cell in np.ndenumerate(cells):
        table[i, j] = _cell(path, cell, i, header[j], len(header), sep)
    return table


def _cell(path: Path, cell, row: int, column: str, width: int, sep: str) -> float:
    """One CSV entry as a float, or a one-line DataError saying exactly what is wrong with it."""
    text = "" if cell is None or (isinstance(cell, float) and math.isnan(cell)) else str(cell).strip()
    where = f"row {row} (0-based), column {column!r}"
    if not text:
        raise DataError(f"{path}: empty or missing entry in {where}; every row needs {width} fields like the header")
    try:
        value = float(text)
    except ValueError:
        try:
            complex(text.replace(" ", ""))
        except ValueError:
            hint = "; decimal commas are not read, write 0.5" if sep != "," and "," in text else ""
            raise DataError(f"{path}: non-numeric entry {text!r} in {where}{hint}") from None
        raise DataError(f"{path}: complex value {text!r} in {where}; the paper's data are real") from None
    if math.isinf(value) and text.lower().lstrip("+-") not in ("inf", "infinity"):
        raise DataError(f"{path}: value {text!r} in {where} overflows float64 (|x| > {np.finfo(float).max:.4g})")
    return value
