"""Inverted dropout (Srivastava et al., 2014): drop units in training, scale so E[y] = x."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers.base import Layer


class Dropout(Layer):
    """Inverted dropout with drop probability ``p``.

    Training: ``m_i ~ Bernoulli(1 - p)``, ``y = x * m / (1 - p)``, so ``E[y] = x``;
    backward ``dx = dy * m / (1 - p)`` (the same mask). Evaluation: ``y = x``, ``dx = dy``:
    nothing to rescale at test time, which is the point of the "inverted" form.
    ``p = 1`` drops everything (``y = 0``). Shapes: any ``x`` -> ``y`` of the same shape.
    ``rng`` (a ``np.random.Generator``) makes the masks reproducible.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()
        self.mask: np.ndarray | None = None  # m / (1 - p), in the dtype of x; None in eval

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        if self.p == 1.0:
            self.mask = np.zeros_like(x)
        else:
            keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
            self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout if self.mask is None else dout * self.mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
