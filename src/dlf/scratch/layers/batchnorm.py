"""Batch normalisation (Ioffe & Szegedy, 2015) over a mini-batch, with running statistics."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers.base import Layer


class BatchNorm1d(Layer):
    """``y = gamma * (x - mu) / sqrt(var + eps) + beta``, per feature (channel).

    Shapes: ``x`` (N, C) or (N, C, L) -> ``y`` of the same shape; ``gamma``, ``beta`` (C,).
    Statistics are taken over every axis but C (N, or N and L), with ``m`` values per feature.

    Training: ``mu``, ``var`` are the batch mean and biased variance, and the running
    statistics follow torch.nn.BatchNorm1d:
    ``running = (1 - momentum) * running + momentum * batch``, where the variance stored is the
    unbiased one, ``var * m / (m - 1)``. Evaluation: ``mu``, ``var`` are the running statistics.

    Backward in training, with ``xhat = (x - mu) / sqrt(var + eps)`` and ``g = dy * gamma``:

        dgamma = sum(dy * xhat)     dbeta = sum(dy)
        dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)

    (sums and means over the non-feature axes). In evaluation mode ``dx = g / sqrt(var + eps)``.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        *,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        if affine:
            self.params["gamma"] = np.ones(num_features, dtype=dtype)
            self.params["beta"] = np.zeros(num_features, dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.buffers["running_mean"] = np.zeros(num_features, dtype=dtype)
        self.buffers["running_var"] = np.ones(num_features, dtype=dtype)
        self.cache: tuple | None = None

    def _axes_and_shape(self, x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Reduction axes and the broadcast shape of a per-feature vector for input ``x``."""
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expects input of shape (N, "
                f"{self.num_features}) or (N, {self.num_features}, L), got {x.shape}"
            )
        if x.ndim == 2:
            return (0,), (1, -1)
        return (0, 2), (1, -1, 1)

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes, shape = self._axes_and_shape(x)
        if self.training:
            m = x.size // self.num_features
            if m < 2:
                raise ValueError(
                    "BatchNorm1d in training needs more than one value per feature; "
                    "use a batch of >= 2 samples or call eval()"
                )
            mu = x.mean(axis=axes)
            xc = x - mu.reshape(shape)
            var = np.mean(xc * xc, axis=axes)
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1 - self.momentum
            rm += self.momentum * mu
            rv *= 1 - self.momentum
            rv += self.momentum * var * (m / (m - 1))
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]
            xc = x - mu.reshape(shape)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = xc * inv_std.reshape(shape)
        self.cache = (xhat, inv_std, axes, shape, self.training)
        if "gamma" not in self.params:
            return xhat
        return xhat * self.params["gamma"].reshape(shape) + self.params["beta"].reshape(shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError("BatchNorm1d.backward called before forward")
        xhat, inv_std, axes, shape, training = self.cache
        if "gamma" in self.params:
            np.sum(dout * xhat, axis=axes, out=self.grads["gamma"])
            np.sum(dout, axis=axes, out=self.grads["beta"])
            g = dout * self.params["gamma"].reshape(shape)
        else:
            g = dout
        if not training:
            return g * inv_std.reshape(shape)
        mean_g = g.mean(axis=axes, keepdims=True)
        mean_gx = (g * xhat).mean(axis=axes, keepdims=True)
        return (g - mean_g - xhat * mean_gx) * inv_std.reshape(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
