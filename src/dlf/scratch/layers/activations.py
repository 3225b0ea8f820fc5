"""Element-wise activations and their derivatives: ReLU, LeakyReLU, Sigmoid, Tanh, GELU.

Each keeps what its backward needs from the forward pass (a mask, or the output itself) and
returns ``dx = dy * f'(x)``. Shapes: any ``x`` -> ``y`` of the same shape. No parameters.
"""

from __future__ import annotations

import math

import numpy as np

from dlf.scratch.layers.base import Layer

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
# Cody (1969), "Rational Chebyshev approximations for the error function", Math. Comp. 23,
# 631-637: the coefficients of CALERF (netlib specfun), near-minimax in float64.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)  # fmt: skip
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)  # fmt: skip
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
           2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)  # fmt: skip
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
_ERF_SMALL, _ERF_MIDDLE = 0.46875, 4.0
_ONE_OVER_SQRT_PI = 1.0 / math.sqrt(math.pi)


def _ratio(t: np.ndarray, lead: float, num, den, last_num: float, last_den: float) -> np.ndarray:
    """``P(t) / Q(t)`` by Horner's rule, in place on new arrays of ``t``'s shape and dtype:

        P(t) = (...((lead t + num[0]) t + num[1]) t ... + num[-1]) t + last_num
        Q(t) = (...((     t + den[0]) t + den[1]) t ... + den[-1]) t + last_den

    Example: ``_ratio(np.array([2.0]), 1.0, (1.0,), (0.0,), 0.0, 1.0)`` -> ``(t^2 + t) / (t^2 +
    1)`` at 2 -> ``[1.2]``.
    """
    p = t * lead
    q = t.copy()
    for a, b in zip(num, den, strict=True):
        p += a
        p *= t
        q += b
        q *= t
    p += last_num
    q += last_den
    p /= q
    return p


def erf(x: np.ndarray) -> np.ndarray:
    """Error function ``erf(x) = 2/sqrt(pi) * int_0^x exp(-t^2) dt``, vectorised.

    Cody's (1969) rational approximations, on three intervals of ``a = |x|``:

        a <= 0.46875:      erf(x) = x R_1(x^2)                    R_1 = P_4 / Q_4
        0.46875 < a <= 4:  erf(a) = 1 - exp(-a^2) R_2(a)          R_2 = P_8 / Q_8
        a > 4:             erf(a) = 1 - exp(-a^2) / a * (1/sqrt(pi) - z R_3(z)),  z = 1 / a^2

    then ``erf(-a) = -erf(a)``. In float64 it agrees with ``math.erf`` to a few units of the last
    place (``NaN`` stays ``NaN``, ``erf(+-inf) = +-1``). Float32 input is computed in float32,
    other input in float64; a float input keeps its dtype, other input becomes float64.
    Example: ``erf(np.array([0.0, 0.5, -1.0]))`` -> ``[0.0, 0.52049988, -0.84270079]``.
    """
    x = np.asarray(x)
    out_dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    x = x.astype(np.float32 if x.dtype == np.float32 else np.float64, copy=False)
    a = np.abs(x)
    out = np.empty_like(a)
    small = a <= _ERF_SMALL
    middle = ~small & (a <= _ERF_MIDDLE)
    large = ~(small | middle)  # NaN lands here and stays NaN
    if small.any():
        xs = x[small]
        out[small] = xs * _ratio(xs * xs, _ERF_A[4], _ERF_A[:3], _ERF_B[:3], _ERF_A[3], _ERF_B[3])
    if middle.any():
        am = a[middle]
        r = _ratio(am, _ERFC_C[8], _ERFC_C[:7], _ERFC_D[:7], _ERFC_C[7], _ERFC_D[7])
        r *= np.exp(-am * am)
        out[middle] = np.copysign(1.0 - r, x[middle])
    if large.any():
        al = a[large]
        z = 1.0 / (al * al)
        r = z * _ratio(z, _ERFC_P[5], _ERFC_P[:4], _ERFC_Q[:4], _ERFC_P[4], _ERFC_Q[4])
        r = (_ONE_OVER_SQRT_PI - r) / al * np.exp(-al * al)
        out[large] = np.copysign(1.0 - r, x[large])
    return out.astype(out_dtype, copy=False)


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
