"""Deterministic train/validation splits."""

from __future__ import annotations

import numpy as np


def train_val_split(
    n: int, val_fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded random split of ``range(n)`` into train and validation.

    The same (n, val_fraction, seed) always gives the same split; the two parts are disjoint
    and cover ``range(n)``. Example: ``train_val_split(10, 0.2, seed=0)`` -> 8 train and 2
    validation indices, the validation ones ``round(0.2 * 10)`` in number.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(val_fraction * n))
    return np.sort(order[n_val:]), np.sort(order[:n_val])
