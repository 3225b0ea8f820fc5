"""Spatial batch normalisation: BatchNorm1d's formula with the pixels of a channel as its batch."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers.batchnorm import BatchNorm1d


class BatchNorm2d(BatchNorm1d):
    """``y = gamma[c] * (x - mu[c]) / sqrt(var[c] + eps) + beta[c]`` per channel ``c``.

    Shapes: ``x`` (N, C, H, W) -> ``y`` (N, C, H, W); ``gamma``, ``beta`` (C,). Each channel is
    normalised over its ``m = N * H * W`` values (one feature map is one feature, as in Ioffe &
    Szegedy's convolutional case). The input is viewed as (N, C, H * W) and handed to
    :class:`BatchNorm1d`, so the statistics, running averages (momentum, unbiased running
    variance), eval mode and backward formula are exactly BatchNorm1d's, written once.
    """

    def _as_ncl(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d({self.num_features}) expects input of shape "
                f"(N, {self.num_features}, H, W), got {x.shape}"
            )
        n, c, h, w = x.shape
        return x.reshape(n, c, h * w)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return super().forward(self._as_ncl(x)).reshape(x.shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return super().backward(self._as_ncl(dout)).reshape(dout.shape)
