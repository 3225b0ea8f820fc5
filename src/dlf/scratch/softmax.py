"""The softmax, numerically stable and maskable, and its backward pass.

    softmax(z)_i = exp(z_i - max_j z_j) / sum_j exp(z_j - max_j z_j)

Subtracting the row maximum changes nothing mathematically and keeps ``exp`` from overflowing.
With a boolean ``mask`` (True = the entry takes part), masked entries get probability exactly 0
and a row with no allowed entry is all zeros (not NaN): it attends to nothing.
"""

from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray, axis: int = -1, mask: np.ndarray | None = None) -> np.ndarray:
    """Stable softmax of ``z`` along ``axis``; entries where ``mask`` is False get 0.

    Shapes: ``z`` any; ``mask`` boolean, broadcastable to ``z.shape`` -> same shape as ``z``.
    Example: ``softmax(np.array([1.0, 1.0, 5.0]), mask=np.array([True, True, False]))``
    -> ``[0.5, 0.5, 0.0]``; with an all-False mask -> ``[0.0, 0.0, 0.0]``.
    """
    if mask is None:
        shifted = z - z.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=axis, keepdims=True)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), z.shape)
    row_max = np.max(np.where(mask, z, -np.inf), axis=axis, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)  # fully masked rows
    e = np.where(mask, np.exp(np.where(mask, z - row_max, 0.0)), 0.0).astype(z.dtype, copy=False)
    total = e.sum(axis=axis, keepdims=True)
    return e / np.where(total > 0, total, 1.0).astype(z.dtype, copy=False)


def softmax_backward(p: np.ndarray, dp: np.ndarray, axis: int = -1) -> np.ndarray:
    """``dL/dz`` from ``p = softmax(z)`` and ``dL/dp``: ``dz = p * (dp - sum_j dp_j p_j)``.

    (The Jacobian ``diag(p) - p p^T`` applied to ``dp``.) Masked entries have ``p = 0`` and so get
    gradient 0. Shapes: ``p``, ``dp`` the same -> the same.
    Example: ``softmax_backward(np.array([0.5, 0.5]), np.array([1.0, 0.0]))`` -> ``[0.25, -0.25]``.
    """
    return p * (dp - np.sum(dp * p, axis=axis, keepdims=True))
