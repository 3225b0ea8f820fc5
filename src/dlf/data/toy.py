"""Seeded 2-D toy sets and a noisy 1-D regression, for experiments that run in a second."""

from __future__ import annotations

import numpy as np


def spirals(
    n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """CS231n's interleaved spirals: X (classes*n, 2) float64, y (classes*n,) int64.

    Class c: radius r in [0, 1], angle t = 4(c + r) + noise * N(0, 1), point (r sin t, r cos t).
    """
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), classes)
    c = np.repeat(np.arange(classes), n_per_class)
    t = 4.0 * (c + r) + noise * rng.standard_normal(r.shape)
    return np.stack([r * np.sin(t), r * np.cos(t)], axis=1), c.astype(np.int64)


def circles(
    n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: X (n, 2), y (n,); class 1 is the inner one, of radius ``factor``."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = np.where(y == 1, factor, 1.0)
    x = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)
    return x + noise * rng.standard_normal(x.shape), y.astype(np.int64)


def regression_1d(n: int = 30, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of f(x) = sin(2 pi x) on [0, 1]: x (n,), y = f(x) + noise * N(0, 1)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 1.0, n))
    return x, true_function(x) + noise * rng.standard_normal(n)


def true_function(x: np.ndarray) -> np.ndarray:
    """The noiseless target of ``regression_1d``: sin(2 pi x)."""
    return np.sin(2.0 * np.pi * x)
