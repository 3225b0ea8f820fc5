"""Seeded Gaussian blobs shared by the classifier tests."""

import numpy as np


def gaussian_blobs(n_per_class, n_classes=4, dim=10, spread=1.0, separation=3.0, seed=0):
    """``n_classes`` isotropic Gaussian clouds in ``dim`` dimensions: X (N, dim) float32, y (N,).

    Returns a training set and a test set of ``n_per_class // 2`` per class, from the same
    centers (drawn as ``separation * N(0, I)``).
    """
    rng = np.random.default_rng(seed)
    centers = separation * rng.standard_normal((n_classes, dim))

    def draw(n):
        y = np.repeat(np.arange(n_classes), n)
        X = centers[y] + spread * rng.standard_normal((len(y), dim))
        perm = rng.permutation(len(y))
        return X[perm].astype(np.float32), y[perm]

    return draw(n_per_class), draw(n_per_class // 2)


def nearest_center_accuracy(X, y, n_classes=4, dim=10, separation=3.0, seed=0):
    """Accuracy of the Bayes-optimal rule for these blobs (nearest true center): the ceiling."""
    centers = separation * np.random.default_rng(seed).standard_normal((n_classes, dim))
    d = ((X[:, None, :] - centers[None]) ** 2).sum(axis=-1)
    return float(np.mean(d.argmin(axis=1) == y))
