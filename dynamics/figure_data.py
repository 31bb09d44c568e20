"""The 2-D datasets of the paper's Figures 1 and 2, made reproducibly from a seed.

Both are separable through the origin with ||x_i|| <= 1 (the paper's setting), so every
Dataset check of `data.Dataset` applies and `max_margin` is the certified one.
"""
from __future__ import annotations

import numpy as np

from .data import Dataset


def separable_blobs(n: int = 40, margin: float = 0.15, seed: int = 0) -> Dataset:
    """Figure 1: two Gaussian clouds in 2-D, positives around +c and negatives around -c.

    Points are drawn until n of them have y <u*, x> >= margin for u* = c/||c|| (so the data is
    separable through the origin), then scaled into the unit disc.  The clouds are elongated
    across u* so that the max-margin direction differs visibly from u*.
    """
    rng = np.random.default_rng(seed)
    c = np.array([0.45, 0.25])
    u = c / np.linalg.norm(c)
    cov = np.array([[0.06, -0.035], [-0.035, 0.05]])
    xs, ys = [], []
    while len(xs) < n:
        y = 1.0 if len(xs) % 2 == 0 else -1.0
        x = y * c + rng.multivariate_normal(np.zeros(2), cov)
        if y * (x @ u) >= margin:
            xs.append(x)
            ys.append(y)
    X = np.array(xs)
    X /= max(1.0, float(np.linalg.norm(X, axis=1).max()))
    return Dataset(X, np.array(ys), name=f"separable_blobs(n={n}, margin={margin}, seed={seed})")


def two_circles(n: int = 60, radius: float = 0.22, centre=(0.55, 0.3), noise: float = 0.01,
                seed: int = 0) -> Dataset:
    """Figure 2: two well-separated circles, positives on the circle around +centre and negatives
    on the one around -centre, hence separable through the origin.  The negative circle is
    sampled at other angles with its own noise, so that z_i = y_i x_i of the two classes do not
    coincide and two distinct support vectors span R^2 (Assumption 2.7)."""
    rng = np.random.default_rng(seed)
    c = np.asarray(centre, float)
    if radius >= np.linalg.norm(c):
        raise ValueError("the circles must not reach the origin: radius < ||centre||")
    m = n // 2
    theta = np.linspace(0, 2 * np.pi, m, endpoint=False)

    def ring(phase):
        return radius * np.c_[np.cos(theta + phase), np.sin(theta + phase)] + noise * rng.standard_normal((m, 2))

    X = np.vstack([c + ring(0.0), -c + ring(np.pi / m)])
    y = np.r_[np.ones(n // 2), -np.ones(n // 2)]
    X /= max(1.0, float(np.linalg.norm(X, axis=1).max()))
    return Dataset(X, y, name=f"two_circles(n={n}, radius={radius}, centre={tuple(c)}, seed={seed})")
