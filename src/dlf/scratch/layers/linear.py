"""Fully connected (affine) layer: ``y = x W + b``."""

from __future__ import annotations

import numpy as np

from dlf.scratch.init import init_weight, zeros
from dlf.scratch.layers.base import Layer


class Linear(Layer):
    """Affine map ``y = x @ W + b`` over the last axis.

    Shapes: ``x`` (..., in_features) -> ``y`` (..., out_features); ``W`` (in_features,
    out_features), ``b`` (out_features,). Backward, with ``x`` and ``dy`` flattened to 2-D rows:

        dW = x^T dy        db = sum_rows dy        dx = dy W^T

    ``init`` names the weight scheme of :func:`dlf.scratch.init.init_weight` ("he" by default,
    "xavier", "small", ...); the bias starts at zero. ``needs_input_grad=False`` (settable at any
    time) skips ``dx``, and ``backward`` returns None: for the first layer of a network, whose
    input is the data, that saves the largest matrix product of the backward pass (784x512 in an
    MNIST MLP), as PyTorch does for inputs that do not require grad.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str = "he",
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
        needs_input_grad: bool = True,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.params["W"] = init_weight(init, in_features, out_features, rng=rng, dtype=dtype)
        if bias:
            self.params["b"] = zeros((out_features,), dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.needs_input_grad = needs_input_grad
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear expects inputs with last dimension {self.in_features}, got shape "
                f"{x.shape}; flatten images first (Flatten) or fix in_features"
            )
        self.x = x
        y = x @ self.params["W"]
        if "b" in self.params:
            y += self.params["b"]
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        if self.x is None:
            raise RuntimeError("Linear.backward called before forward")
        x2 = self.x.reshape(-1, self.in_features)
        d2 = dout.reshape(-1, self.out_features)
        gW = self.grads["W"]
        if x2.dtype == gW.dtype and d2.dtype == gW.dtype:
            np.matmul(x2.T, d2, out=gW)
        else:
            gW[...] = x2.T @ d2
        if "b" in self.params:
            np.sum(d2, axis=0, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        return dout @ self.params["W"].T

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={'b' in self.params}"
            + ("" if self.needs_input_grad else ", needs_input_grad=False")
        )
