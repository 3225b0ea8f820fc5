"""2-D convolution (cross-correlation, as in every deep-learning library) through im2col."""

from __future__ import annotations

import numpy as np

from dlf.scratch.im2col import Pair, col2im, conv_output_size, empty_cols, im2col, pair
from dlf.scratch.init import init_weight, zeros
from dlf.scratch.layers.base import Layer


class Conv2d(Layer):
    """``y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] * xpad[n, c, p*s + i, q*s + j]``.

    Shapes: ``x`` (N, C_in, H, W) -> ``y`` (N, C_out, Ho, Wo) with
    ``Ho = (H + 2 * padding - kh) // stride + 1`` (``Wo`` alike); ``W`` (C_out, C_in, kh, kw),
    ``b`` (C_out,). With ``cols = im2col(x)`` (N*Ho*Wo, K), ``K = kh*kw*C_in``, and ``Wm`` the
    weights as a (K, C_out) matrix, the passes are matrix products (see :mod:`dlf.scratch.im2col`):

        forward   Y = cols @ Wm + b
        backward  dWm = cols^T @ dY      db = sum_rows dY      dx = col2im(dY @ Wm^T)

    The bias is the weight of a constant input 1 (CS231n's bias trick): ``cols`` carries a last
    column of ones and ``Wm`` a last row ``b``, so ``Y`` is one product and ``(dWm; db)`` another.

    ``y`` and ``dx`` are (N, C, H, W) views of channels-last memory (the layout the products
    produce); values and indexing are as usual, ``np.ascontiguousarray`` gives the NCHW copy.
    ``init`` names the scheme of :func:`dlf.scratch.init.init_weight` with
    ``fan_in = C_in * kh * kw`` and ``fan_out = C_out`` ("he" by default, which reads only
    ``fan_in``); the bias starts at zero.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair = 1,
        padding: Pair = 0,
        bias: bool = True,
        *,
        init: str = "he",
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride)
        self.padding = pair(padding)
        kh, kw = self.kernel_size
        fan_in = in_channels * kh * kw
        # init_weight gives a (fan_in, fan_out) matrix; its rows are read as (c, i, j).
        w = init_weight(init, fan_in, out_channels, rng=rng, dtype=dtype)
        self.params["W"] = np.ascontiguousarray(w.T.reshape(out_channels, in_channels, kh, kw))
        if bias:
            self.params["b"] = zeros((out_channels,), dtype=dtype)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.x_shape: tuple[int, int, int, int] | None = None
        self.cols: np.ndarray | None = None  # (N*Ho*Wo, K [+ 1]); reused across calls

    def weight_matrix(self) -> np.ndarray:
        """``W`` (C_out, C_in, kh, kw) as the (kh*kw*C_in, C_out) matrix of im2col's columns."""
        return self.params["W"].transpose(2, 3, 1, 0).reshape(-1, self.out_channels)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d expects input of shape (N, {self.in_channels}, H, W), got {x.shape}"
            )
        n, _, h, w = x.shape
        ho = conv_output_size(h, self.kernel_size[0], self.stride[0], self.padding[0])
        wo = conv_output_size(w, self.kernel_size[1], self.stride[1], self.padding[1])
        k = self.kernel_size[0] * self.kernel_size[1] * self.in_channels
        has_bias = "b" in self.params
        shape = (n * ho * wo, k + has_bias)
        if self.cols is None or self.cols.shape != shape or self.cols.dtype != x.dtype:
            self.cols = empty_cols(*shape, self.in_channels, x.dtype)
            if has_bias:
                self.cols[:, k] = 1
        im2col(x, self.kernel_size, self.stride, self.padding, out=self.cols[:, :k])
        wm = self.weight_matrix()
        if has_bias:
            wm = np.concatenate([wm, self.params["b"][None, :]])
        self.x_shape = x.shape
        y = self.cols @ wm  # (N*Ho*Wo, C_out), rows (n, p, q): channels-last
        return y.reshape(n, ho, wo, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.x_shape is None or self.cols is None:
            raise RuntimeError("Conv2d.backward called before forward")
        dy = dout.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)  # (N*Ho*Wo, C_out)
        kh, kw = self.kernel_size
        k = kh * kw * self.in_channels
        dwm = self.cols.T @ dy  # (K [+ 1], C_out); the last row is db when there is a bias
        # rows (i, j, c) -> W's layout (C_out, C_in, kh, kw)
        self.grads["W"][...] = dwm[:k].reshape(kh, kw, self.in_channels, -1).transpose(3, 2, 0, 1)
        if "b" in self.params:
            self.grads["b"][...] = dwm[k]
        dcols = dy @ self.weight_matrix().T
        return col2im(dcols, self.x_shape, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={'b' in self.params}"
        )
