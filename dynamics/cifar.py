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


@dataclass(frozen=True)
class Images:
    X: np.ndarray   # (N, 3, 32, 32) float32 in [0, 1]
    y: np.ndarray   # (N,) int64
    name: str

    def __len__(self):
        return len(self.y)

    def standardised(self) -> "Images":
        """Per-channel zero mean, unit variance (statistics of this set)."""
        mean = self.X.mean(axis=(0, 2, 3), keepdims=True)
        std = self.X.std(axis=(0, 2, 3), keepdims=True) + 1e-8
        return Images(((self.X - mean) / std).astype(np.float32), self.y, self.name)


def read_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file: a pickled dict with b'data' (N x 3072 uint8, channel-major rows of
    1024 = 32 x 32 pixels: R, then G, then B) and b'labels' (N ints)."""
    with open(path, "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")
    data = raw.get(b"data", raw.get("data"))
    labels = raw.get(b"labels", raw.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"{path}: not a CIFAR-10 batch (needs keys b'data' and b'labels'; has {sorted(raw)[:6]})")
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != len(labels):
        raise ValueError(f"{path}: data must be N x 3072 with N labels; got {data.shape} and {len(labels)} labels")
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
    return Images(X, d.target.astype(np.int64), "scikit-learn load_digits (1797 real 8x8 images upsampled to 32x32x3)")


def generated_standin(n: int = 2000, seed: int = 0) -> Images:
    """Generated images: 10 smooth random class templates plus noise (when scikit-learn is absent)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((10, 3, 8, 8)).astype(np.float32)
    templates = np.kron(coarse, np.ones((4, 4), dtype=np.float32))
    y = rng.integers(0, 10, size=n)
    X = np.clip(templates[y] + 0.25 * rng.standard_normal((n, 3, 32, 32)).astype(np.float32), 0, 1)
    return Images(X.astype(np.float32), y.astype(np.int64), f"generated (10 random 8x8 templates upsampled, noise 0.25, n={n}, seed={seed})")


def standin() -> Images:
    """The default stand-in: load_digits if scikit-learn is installed, else generated images."""
    try:
        return digits_standin()
    except ImportError:
        return generated_standin()


def load(data_dir=None) -> Images:
    """CIFAR-10 train split from data_dir if given, else the stand-in."""
    return load_cifar10(data_dir) if data_dir else standin()
