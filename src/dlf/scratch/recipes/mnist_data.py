"""MNIST as the Module 1 recipes use it: flat float vectors, a seeded train/validation split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlf.data import load_images, to_float, train_val_split


@dataclass
class MnistSplits:
    """Pixels in [0, 1] as float32 rows (N, 784) and int64 labels (N,), in three disjoint parts.

    ``val`` is held out of the 60,000 training images (for early stopping and model choice);
    ``test`` is the official 10,000-image test set, scored once at the end.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def sizes(self) -> str:
        """E.g. ``"54000 train / 6000 validation / 10000 test"``."""
        return f"{len(self.y_train)} train / {len(self.y_val)} validation / {len(self.y_test)} test"


def _subset(n: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` sorted random indices of ``range(total)``; all of them when n is 0 or >= total.

    Example: ``_subset(0, 4, rng)`` -> ``[0, 1, 2, 3]``.
    """
    if n <= 0 or n >= total:
        return np.arange(total)
    return np.sort(rng.choice(total, size=n, replace=False))


def mnist_splits(
    val_fraction: float = 0.1,
    train_subset: int = 0,
    val_subset: int = 0,
    test_subset: int = 0,
    seed: int = 0,
) -> MnistSplits:
    """Split MNIST's training images into train and validation (``train_val_split``, seeded),
    then keep random subsets of each part (0 = all of it).

    The validation part depends only on ``(val_fraction, seed)``, never on the subset sizes, so a
    small-data run is scored on the same held-out images as a full one (when ``val_subset`` is 0).
    Example: ``mnist_splits(0.1)`` -> 54000 train / 6000 validation / 10000 test.
    """
    data = load_images("mnist")
    x = to_float(data.x_train).reshape(len(data.x_train), -1)
    x_test = to_float(data.x_test).reshape(len(data.x_test), -1)
    train_idx, val_idx = train_val_split(len(x), val_fraction, seed)
    rng = np.random.default_rng(seed)
    train_idx = train_idx[_subset(train_subset, len(train_idx), rng)]
    val_idx = val_idx[_subset(val_subset, len(val_idx), rng)]
    test_idx = _subset(test_subset, len(x_test), rng)
    return MnistSplits(
        x[train_idx],
        data.y_train[train_idx],
        x[val_idx],
        data.y_train[val_idx],
        x_test[test_idx],
        data.y_test[test_idx],
    )
