"""Weight initialisation: zeros, small normal, Xavier/Glorot and He/Kaiming.

A weight matrix of a dense layer has shape ``(fan_in, fan_out)`` (``y = x @ W + b``). The schemes
differ in the variance they give each entry, chosen so that the variance of activations (Xavier)
or of ReLU activations (He) stays the same from layer to layer:

    zeros          W = 0
    small normal   W ~ N(0, std^2),                   std = 0.01 by default
    Xavier normal  W ~ N(0, 2 / (fan_in + fan_out))                      (Glorot & Bengio, 2010)
    Xavier uniform W ~ U(-a, a),  a = sqrt(6 / (fan_in + fan_out))   (same variance a^2 / 3)
    He normal      W ~ N(0, 2 / fan_in)                                  (He et al., 2015)
    He uniform     W ~ U(-a, a),  a = sqrt(6 / fan_in)               (same variance a^2 / 3)

These are torch.nn.init's ``xavier_*_`` and ``kaiming_*_`` with their defaults (gain 1 for
Xavier; ``mode="fan_in"``, ReLU gain sqrt(2) for He).
"""

from __future__ import annotations

import numpy as np

Shape = int | tuple[int, ...]


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng()


def zeros(shape: Shape, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """All-zero array of ``shape``: the usual bias init (not for weights: it keeps units identical).

    Example: ``zeros((2, 3))`` -> a (2, 3) float32 array of 0.0.
    """
    return np.zeros(shape, dtype=dtype)


def small_normal(
    shape: Shape,
    std: float = 0.01,
    rng: np.random.Generator | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """``W ~ N(0, std^2)`` of ``shape``; the CS231n default for shallow nets (vanishes when deep).

    Example: ``small_normal((784, 10), rng=np.random.default_rng(0)).std()`` -> about 0.01.
    """
    return (_rng(rng).standard_normal(shape) * std).astype(dtype, copy=False)


def xavier_normal(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """Glorot normal: ``W ~ N(0, 2 / (fan_in + fan_out))``, shape ``(fan_in, fan_out)``.

    Example: ``xavier_normal(100, 300).var()`` -> about 2 / 400 = 0.005.
    """
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return small_normal((fan_in, fan_out), std=std, rng=rng, dtype=dtype)


def xavier_uniform(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """Glorot uniform: ``W ~ U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``; shape (in, out).

    Variance ``a^2 / 3 = 2 / (fan_in + fan_out)``, as for ``xavier_normal``.
    Example: ``xavier_uniform(100, 300)`` has entries in [-0.1225, 0.1225].
    """
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return _rng(rng).uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)


def he_normal(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """He/Kaiming normal for ReLU nets: ``W ~ N(0, 2 / fan_in)``, shape ``(fan_in, fan_out)``.

    ReLU zeroes half of its inputs, halving the second moment; the factor 2 restores it.
    Example: ``he_normal(200, 50).var()`` -> about 2 / 200 = 0.01.
    """
    return small_normal((fan_in, fan_out), std=np.sqrt(2.0 / fan_in), rng=rng, dtype=dtype)


def he_uniform(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """He/Kaiming uniform: ``W ~ U(-a, a)``, ``a = sqrt(6 / fan_in)``; shape (fan_in, fan_out).

    Variance ``a^2 / 3 = 2 / fan_in``, as for ``he_normal``.
    Example: ``he_uniform(600, 10)`` has entries in [-0.1, 0.1].
    """
    bound = np.sqrt(6.0 / fan_in)
    return _rng(rng).uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)


INIT_NAMES = ("zeros", "small", "xavier", "xavier_uniform", "he", "he_uniform")


def init_weight(
    name: str,
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """A ``(fan_in, fan_out)`` weight matrix initialised by scheme ``name``.

    ``"zeros"`` -> zeros, ``"small"`` -> N(0, 0.01^2), ``"xavier"`` -> Xavier normal,
    ``"xavier_uniform"``, ``"he"`` -> He normal, ``"he_uniform"``.
    Example: ``init_weight("he", 784, 512, np.random.default_rng(0)).shape`` -> (784, 512).
    """
    if name == "zeros":
        return zeros((fan_in, fan_out), dtype=dtype)
    if name == "small":
        return small_normal((fan_in, fan_out), rng=rng, dtype=dtype)
    if name == "xavier":
        return xavier_normal(fan_in, fan_out, rng=rng, dtype=dtype)
    if name == "xavier_uniform":
        return xavier_uniform(fan_in, fan_out, rng=rng, dtype=dtype)
    if name == "he":
        return he_normal(fan_in, fan_out, rng=rng, dtype=dtype)
    if name == "he_uniform":
        return he_uniform(fan_in, fan_out, rng=rng, dtype=dtype)
    raise ValueError(f"unknown init {name!r}: use one of {', '.join(INIT_NAMES)}")
