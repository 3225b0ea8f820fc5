"""Layer normalisation (Ba, Kiros & Hinton, 2016): normalise each sample over its last axes."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers.base import Layer


class LayerNorm(Layer):
    """``y = gamma * (x - mu) / sqrt(var + eps) + beta`` over the trailing ``normalized_shape``.

    Shapes: ``x`` (..., *normalized_shape) -> ``y`` of the same shape; ``gamma``, ``beta``
    ``normalized_shape``. ``mu`` and the biased ``var`` are per sample (over the last
    ``len(normalized_shape)`` axes, ``D`` values), so train and eval behave the same.
    Backward, with ``xhat = (x - mu) / sqrt(var + eps)`` and ``g = dy * gamma``:

        dgamma = sum_batch(dy * xhat)     dbeta = sum_batch(dy)
        dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)     (means over the D values)
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        *,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.params["gamma"] = np.ones(self.normalized_shape, dtype=dtype)
            self.params["beta"] = np.zeros(self.normalized_shape, dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.cache: tuple | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape:
            raise ValueError(
                f"LayerNorm{self.normalized_shape} expects input ending in "
                f"{self.normalized_shape}, got shape {x.shape}"
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = xc * inv_std
        self.cache = (xhat, inv_std, axes)
        if "gamma" not in self.params:
            return xhat
        return xhat * self.params["gamma"] + self.params["beta"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError("LayerNorm.backward called before forward")
        xhat, inv_std, axes = self.cache
        if "gamma" in self.params:
            batch_axes = tuple(range(dout.ndim - len(axes)))
            np.sum(dout * xhat, axis=batch_axes, out=self.grads["gamma"])
            np.sum(dout, axis=batch_axes, out=self.grads["beta"])
            g = dout * self.params["gamma"]
        else:
            g = dout
        mean_g = g.mean(axis=axes, keepdims=True)
        mean_gx = (g * xhat).mean(axis=axes, keepdims=True)
        return (g - mean_g - xhat * mean_gx) * inv_std

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"
