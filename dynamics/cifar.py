"""Image data for the AlexNet experiment (Figure 3): CIFAR-10's python-pickle batches from a user
directory, and stand-ins for when no CIFAR-10 is at hand (nothing can be downloaded here).

All loaders return `Images`: X float32 (N, 3, 32, 32) scaled to [0, 1], y int64 in 0..9, and a name
saying which data it is (the report prints it).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
SUBDIR = "cifar-10-batches-py"   # what the official tarball unpacks to


# The globals a CIFAR-10 python batch (or one written by `write_batch`, any protocol) names: numpy's
# array and scalar reconstruction (numpy 1.x and 2.x module names) and, for protocol-2 pickles written by
# Python 3, _codecs.encode (how such a pickle spells bytes).  Dicts, lists, ints and bytes need no global.
ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
})


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """What a protocol-2 pickle's _codecs.encode(text, 'latin1') does, and nothing else (no other codec)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ValueError(f"refused _codecs.encode({type(text).__name__}, {encoding!r}): only latin1 text "
                         "spells a CIFAR byte string")
    return text.encode("latin1")


class RefusedGlobal(ValueError):
    """A pickle named a global outside ALLOWED_GLOBALS; it was neither imported nor called."""


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that resolves only ALLOWED_GLOBALS: any other global is refused before it is
    imported or called, so a crafted file cannot run code."""

    def __init__(self, fh, path):
        super().__init__(fh, encoding="bytes")
        self._path = path

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise RefusedGlobal(f"{self._path}: refused to unpickle global {module}.{name} (a CIFAR-10 batch "
                                "needs only numpy arrays, dicts, lists, ints and bytes); nothing was executed")
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        return super().find_class(module, name)


def safe_unpickle(path):
    """Unpickle `path` admitting only the globals a CIFAR-10 batch needs (ALLOWED_GLOBALS); anything
    else, or a damaged pickle, is a one-line ValueError naming the file."""
    with open(path, "rb") as fh:
        try:
            return _BatchUnpickler(fh, path).load()
        except RefusedGlobal:
            raise
        except Exception as exc:  # UnpicklingError, EOFError, TypeError from a malformed stream, ...
            raise ValueError(f"{path}: not a readable CIFAR-10 batch pickle ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None


@dataclass(frozen=True)
class Images:
    X: np.ndarray   # (N, 3, 32, 32) float32 in [0, 1]
    y: np.ndarray   # (N,) int64
    name: str
    source: str = "cifar10"   # "cifar10", "digits" or "generated" (the driver's default step size follows it)

    def __len__(self):
        return len(self.y)

    def standardised(self) -> "Images":
        """Per-channel zero mean, unit variance (statistics of this set)."""
        mean = self.X.mean(axis=(0, 2, 3), keepdims=True)
        std = self.X.std(axis=(0, 2, 3), keepdims=True) + 1e-8
        return Images(((self.X - mean) / std).astype(np.float32), self.y, self.name, self.source)


def read_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file: a pickled dict with b'data' (N x 3072 uint8, channel-major rows of
    1024 = 32 x 32 pixels: R, then G, then B) and b'labels' (N ints).  Read by a restricted unpickler
    (`safe_unpickle`): nothing in the file is executed."""
    raw = safe_unpickle(path)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: not a CIFAR-10 batch (a pickled dict); got {type(raw).__name__}")
    data = raw.get(b"data", raw.get("data"))
    labels = raw.get(b"labels", raw.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"{path}: not a CIFAR-10 batch (needs keys b'data' and b'labels'; "
                         f"has {sorted(map(repr, raw))[:6]})")
    try:
        data, labels = np.asarray(data, dtype=np.uint8), np.asarray(labels)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{path}: b'data' must be N x 3072 uint8 values and b'labels' N integers") from None
    if data.ndim != 2 or data.shape[1] != 3072 or labels.ndim != 1 or data.shape[0] != len(labels) \
            or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(f"{path}: data must be N x 3072 with N integer labels; "
                         f"got {data.shape} and labels {labels.shape} {labels.dtype}")
    y = np.asarray(labels, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{path}: labels must be in 0..9; got {y.min()}..{y.max()}")
    return data.reshape(-1, 3, 32, 32), y


def load_cifar10(directory, split: str = "train") -> Images:
    """CIFAR-10 from `directory` (or its cifar-10-batches-py/ subfolder): split "train" (the
    data_batch_* files present) or "test" (test_batch)."""
    root = Path(directory)
    if (root / SUBDIR).is_dir():
        root = root / SUBDIR
    names = TRAIN_FILES if split == "train" else (TEST_FILE,)
    files = [root / n for n in names if (root / n).is_file()]
    if not files:
        raise FileNotFoundError(f"no CIFAR-10 {split} batches ({', '.join(names)}) in {root}")
    parts = [read_batch(f) for f in files]
    X = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    y = np.concatenate([p[1] for p in parts])
    return Images(X, y, f"CIFAR-10 {split} ({len(y)} images from {len(files)} file(s) in {root})")


def write_batch(path, X_uint8: np.ndarray, y, batch_label: str = "batch") -> None:
    """Write a batch file in CIFAR-10's format (for tests and for converting other data)."""
    X_uint8 = np.asarray(X_uint8, dtype=np.uint8).reshape(len(y), 3072)
    with open(path, "wb") as fh:
        pickle.dump({b"batch_label": batch_label.encode(), b"labels": [int(v) for v in y],
                     b"data": X_uint8, b"filenames": [f"{i}.png".encode() for i in range(len(y))]}, fh)


def digits_standin() -> Images:
    """scikit-learn's load_digits (1797 real 8x8 grey images, 10 classes, shipped with the package),
    upsampled 4x to 32x32 by pixel repetition and copied to 3 channels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.images.astype(np.float32) / 16.0
    X = np.kron(X, np.ones((4, 4), dtype=np.float32))          # (N, 32, 32)
    X = np.repeat(X[:, None], 3, axis=1)
    return Images(X, d.target.astype(np.int64), "scikit-learn load_digits (1797 real 8x8 images upsampled to 32x32x3)",
                  "digits")


def generated_standin(n: int = 2000, seed: int = 0) -> Images:
    """Generated images: 10 smooth random class templates plus noise (when scikit-learn is absent)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((10, 3, 8, 8)).astype(np.float32)
    templates = np.kron(coarse, np.ones((4, 4), dtype=np.float32))
    y = rng.integers(0, 10, size=n)
    X = np.clip(templates[y] + 0.25 * rng.standard_normal((n, 3, 32, 32)).astype(np.float32), 0, 1)
    return Images(X.astype(np.float32), y.astype(np.int64),
                  f"generated (10 random 8x8 templates upsampled, noise 0.25, n={n}, seed={seed})", "generated")


def standin() -> Images:
    """The default stand-in: load_digits if scikit-learn is installed, else generated images."""
    try:
        return digits_standin()
    except ImportError:
        return generated_standin()


def load(data_dir=None) -> Images:
    """CIFAR-10 train split from data_dir if given, else the stand-in."""
    return load_cifar10(data_dir) if data_dir else standin()
