"""Flatten: merge the axes from ``start_dim`` on into one (images -> vectors for Linear)."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers.base import Layer


class Flatten(Layer):
    """Reshape ``x`` (N, d1, d2, ...) -> (N, d1 * d2 * ...) (axes ``start_dim`` .. last merged).

    Backward reshapes ``dy`` back to the input's shape. Example: (128, 1, 28, 28) -> (128, 784).
    """

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.in_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.in_shape = x.shape
        return x.reshape(*x.shape[: self.start_dim], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.in_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"
