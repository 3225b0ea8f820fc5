"""Element-wise activations and their derivatives: ReLU, LeakyReLU, Sigmoid, Tanh, GELU.

Each keeps what its backward needs from the forward pass (a mask, or the output itself) and
returns ``dx = dy * f'(x)``. Shapes: any ``x`` -> ``y`` of the same shape. No parameters.
"""

from __future__ import annotations

import math

import numpy as np

from dlf.scratch.layers.base import Layer

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_ERF_SATURATION = 6.0  # 1 - erf(6) = 2.2e-17: erf(x) is 1.0 in float64 beyond it


def erf(x: np.ndarray) -> np.ndarray:
    """Error function ``erf(x) = 2/sqrt(pi) * int_0^x exp(-t^2) dt``, vectorised, float64 inside.

    Uses the everywhere-convergent series with only positive terms (Abramowitz & Stegun 7.1.6)

        erf(a) = 2/sqrt(pi) * exp(-a^2) * sum_n 2^n a^(2n+1) / (1*3*...*(2n+1)),   a = |x|

    summed until every term is below 1e-17 of its partial sum (about 100 terms at ``|x| = 6``,
    where ``erf`` saturates to 1 in float64), then ``erf(-a) = -erf(a)``. Agrees with ``math.erf``
    to about 2e-15 over the real line. Returns the dtype of ``x`` (float64 for integers).
    Example: ``erf(np.array([0.0, 0.5, -1.0]))`` -> ``[0.0, 0.52049988, -0.84270079]``.
    """
    x = np.asarray(x)
    out_dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    a = np.minimum(np.abs(x.astype(np.float64)), _ERF_SATURATION)
    a2 = a * a
    term = a.copy()
    total = a.copy()
    n = 0
    while True:
        term *= 2.0 * a2 / (2 * n + 3)
        total += term
        n += 1
        if not np.any(term > 1e-17 * total):
            break
    y = np.minimum(_TWO_OVER_SQRT_PI * np.exp(-a2) * total, 1.0)
    return np.copysign(y, x).astype(out_dtype, copy=False)


class ReLU(Layer):
    """``y = max(0, x)``;  ``dx = dy * [x > 0]``."""

    def __init__(self) -> None:
        super().__init__()
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.mask


class LeakyReLU(Layer):
    """``y = x`` if ``x > 0`` else ``negative_slope * x``;  ``dx = dy * (1 or negative_slope)``.

    ``negative_slope`` defaults to 0.01, as in torch.nn.LeakyReLU.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, x * self.negative_slope)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.where(self.mask, dout, dout * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` without overflow for large ``|x|``.

    With ``z = exp(-|x|)`` (never overflows): ``1 / (1 + z)`` for ``x >= 0``, ``z / (1 + z)``
    otherwise. Example: ``sigmoid(np.array([0.0, 1000.0, -1000.0]))`` -> ``[0.5, 1.0, 0.0]``.
    """
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, z) / (1.0 + z)


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))``;  ``dx = dy * y * (1 - y)``."""

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid(x).astype(x.dtype, copy=False)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.out * (1 - self.out)


class Tanh(Layer):
    """``y = tanh(x)``;  ``dx = dy * (1 - y^2)``."""

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1 - self.out * self.out)


class GELU(Layer):
    """Gaussian Error Linear Unit (Hendrycks & Gimpel, 2016): ``y = x * Phi(x)``.

    ``approximate="none"`` (default, as torch.nn.GELU) uses the exact normal CDF
    ``Phi(x) = (1 + erf(x / sqrt(2))) / 2`` and ``dx = dy * (Phi(x) + x * phi(x))`` with the
    density ``phi(x) = exp(-x^2 / 2) / sqrt(2 pi)``.
    ``approximate="tanh"`` (GPT-2's) uses ``y = x/2 * (1 + tanh(u))``,
    ``u = sqrt(2/pi) * (x + 0.044715 x^3)``, and
    ``dx = dy * ((1 + t) / 2 + x/2 (1 - t^2) u')`` with ``t = tanh(u)``,
    ``u' = sqrt(2/pi) * (1 + 3 * 0.044715 x^2)``.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self.x: np.ndarray | None = None
        self.s: np.ndarray | None = None  # Phi(x), or tanh(u) when approximate="tanh"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        if self.approximate == "tanh":
            self.s = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            return 0.5 * x * (1 + self.s)
        self.s = 0.5 * (1 + erf(x / math.sqrt(2)))
        return x * self.s

    def backward(self, dout: np.ndarray) -> np.ndarray:
        x, s = self.x, self.s
        if self.approximate == "tanh":
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return dout * (0.5 * (1 + s) + 0.5 * x * (1 - s * s) * du)
        pdf = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return dout * (s + x * pdf)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
