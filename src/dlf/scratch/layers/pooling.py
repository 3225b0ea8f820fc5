"""Pooling: max, average and global average over spatial windows.

A pooling window is an im2col window reduced per channel (by ``max`` or ``mean``) instead of
multiplied by a filter, so these layers read their windows with
:func:`dlf.scratch.im2col.sliding_windows` (a strided view, no copy) and send gradients back the
way :func:`dlf.scratch.im2col.col2im` does, one kernel offset at a time. Inputs (N, C, H, W);
outputs are (N, C, Ho, Wo) views of channels-last memory, ``Ho = (H - kh) // stride + 1`` (no
padding; ``stride`` defaults to the kernel size, as in PyTorch). No parameters.
"""

from __future__ import annotations

import numpy as np

from dlf.scratch.im2col import Pair, col2im, pair, sliding_windows
from dlf.scratch.layers.base import Layer


def _check_nchw(name: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects a batch of images (N, C, H, W), got shape {x.shape}")


class MaxPool2d(Layer):
    """``y[n, c, p, q] = max_{i, j} x[n, c, p*s + i, q*s + j]``; the gradient goes to the argmax.

    Backward: ``dx[n, c, p*s + i*, q*s + j*] += dy[n, c, p, q]`` for the first maximising offset
    ``(i*, j*)`` in row-major order (PyTorch's choice among ties). This is ``col2im`` of one-hot
    window gradients, done one kernel offset at a time so the one-hot array is never built.
    Forward and backward each take one pass per kernel offset over an output-sized array.
    """

    def __init__(self, kernel_size: Pair, stride: Pair | None = None) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride) if stride is not None else self.kernel_size
        self.x_shape: tuple[int, int, int, int] | None = None
        self.argmax: np.ndarray | None = None  # (N, Ho, Wo, C): offset i * kw + j of the max

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_nchw("MaxPool2d", x)
        kh, kw = self.kernel_size
        if kh * kw > 256:
            raise ValueError(f"MaxPool2d supports windows of at most 256 pixels, got {kh}x{kw}")
        win = sliding_windows(x.transpose(0, 2, 3, 1), self.kernel_size, self.stride)
        y = win[:, :, :, 0, 0].copy()
        argmax = np.zeros(y.shape, dtype=np.uint8)
        for t in range(1, kh * kw):
            v = win[:, :, :, t // kw, t % kw]
            # offsets grow with t, so the latest strict improvement is also the largest t
            np.maximum(argmax, np.greater(v, y).view(np.uint8) * np.uint8(t), out=argmax)
            np.maximum(y, v, out=y)
        self.x_shape, self.argmax = x.shape, argmax
        return y.transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.argmax is None or self.x_shape is None:
            raise RuntimeError("MaxPool2d.backward called before forward")
        n, c, h, w = self.x_shape
        kh, kw = self.kernel_size
        dy = dout.transpose(0, 2, 3, 1)
        dx = np.zeros((n, h, w, c), dtype=dout.dtype)
        dwin = sliding_windows(dx, self.kernel_size, self.stride, writeable=True)
        disjoint = self.stride[0] >= kh and self.stride[1] >= kw
        for t in range(kh * kw):
            target = dwin[:, :, :, t // kw, t % kw]
            if disjoint:  # each pixel lies in at most one window: write, no need to add
                np.multiply(dy, self.argmax == t, out=target)
            else:
                target += dy * (self.argmax == t)
        return dx.transpose(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class AvgPool2d(Layer):
    """``y[n, c, p, q] = 1/(kh*kw) * sum_{i, j} x[n, c, p*s + i, q*s + j]``.

    Backward: every pixel of a window receives ``dy / (kh*kw)``: ``dx = col2im(dy / (kh*kw))``
    with the window gradients a broadcast view.
    """

    def __init__(self, kernel_size: Pair, stride: Pair | None = None) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride) if stride is not None else self.kernel_size
        self.x_shape: tuple[int, int, int, int] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_nchw("AvgPool2d", x)
        win = sliding_windows(x.transpose(0, 2, 3, 1), self.kernel_size, self.stride)
        self.x_shape = x.shape
        return win.mean(axis=(3, 4)).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.x_shape is None:
            raise RuntimeError("AvgPool2d.backward called before forward")
        kh, kw = self.kernel_size
        d = dout.transpose(0, 2, 3, 1)[:, :, :, None, None, :] / (kh * kw)
        return col2im(d, self.x_shape, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class GlobalAvgPool2d(Layer):
    """Global average pooling (Lin et al., 2014): ``y[n, c] = mean_{h, w} x[n, c, h, w]``.

    Shapes: (N, C, H, W) -> (N, C), ready for a ``Linear`` classifier (PyTorch's
    ``AdaptiveAvgPool2d(1)`` followed by ``Flatten``). Backward: ``dx = dy / (H*W)`` broadcast.
    """

    def __init__(self) -> None:
        super().__init__()
        self.x_shape: tuple[int, int, int, int] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_nchw("GlobalAvgPool2d", x)
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.x_shape is None:
            raise RuntimeError("GlobalAvgPool2d.backward called before forward")
        n, c, h, w = self.x_shape
        d = dout / (h * w)
        return np.broadcast_to(d[:, :, None, None], self.x_shape).copy()
