"""Attention from "Attention Is All You Need" (Vaswani et al., 2017), forward and backward, NumPy.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V                         (eq. 1)
    MultiHead(X) = Concat(head_1, ..., head_h) W_O,  head_i = Attention(X W_Q^i, X W_K^i, X W_V^i)

Masks are boolean with PyTorch's convention: True where attention is allowed. A query row whose
keys are all masked attends to nothing and outputs zeros (never NaN). Build masks with
:func:`causal_mask` (position t sees positions <= t) and :func:`padding_mask` (keys past each
sequence's length are hidden), and combine them with ``&``.
"""

from __future__ import annotations

import math

import numpy as np

from dlf.scratch.layers.base import Arrays, Layer
from dlf.scratch.layers.linear import Linear
from dlf.scratch.softmax import softmax, softmax_backward


def causal_mask(length: int) -> np.ndarray:
    """Lower-triangular ``(T, T)`` mask: query ``t`` may attend to keys ``s <= t``.

    Example: ``causal_mask(3)`` -> ``[[T, F, F], [T, T, F], [T, T, T]]``.
    """
    return np.tril(np.ones((length, length), dtype=bool))


def padding_mask(lengths: np.ndarray | list[int], length: int) -> np.ndarray:
    """Key mask ``(B, S)``: True at positions ``s < lengths[b]`` (real tokens), False at padding.

    To use it with scores of shape ``(B, h, T, S)`` index it as ``mask[:, None, None, :]``.
    Example: ``padding_mask([2, 3], 3)`` -> ``[[T, T, F], [T, T, T]]``.
    """
    return np.arange(length)[None, :] < np.asarray(lengths)[:, None]


def check_mask(mask: np.ndarray, scores_shape: tuple[int, ...]) -> np.ndarray:
    """A boolean mask, checked to broadcast to ``scores_shape`` (..., L, S) without enlarging it."""
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"attention masks are boolean (True = allowed), got dtype {mask.dtype}")
    try:
        shape = np.broadcast_shapes(mask.shape, scores_shape)
    except ValueError:
        shape = None
    if shape != tuple(scores_shape):
        raise ValueError(
            f"mask of shape {mask.shape} does not broadcast to the attention scores' shape "
            f"{tuple(scores_shape)} (..., L, S); e.g. use (L, S) or (B, 1, 1, S)"
        )
    return mask


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """(B, T, h * d_k) -> (B, h, T, d_k): head i takes features ``i*d_k .. (i+1)*d_k - 1``.

    Example: ``split_heads(np.arange(4).reshape(1, 1, 4), 2)`` -> ``[[[[0, 1]], [[2, 3]]]]``.
    """
    b, t, c = x.shape
    return x.reshape(b, t, n_heads, c // n_heads).transpose(0, 2, 1, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(B, h, T, d_k) -> (B, T, h * d_k), the inverse of :func:`split_heads` (a copy)."""
    b, h, t, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, t, h * d)


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``out = A V`` with ``A = softmax(Q K^T / sqrt(d_k))``, masked entries of ``A`` set to 0.

    Shapes: ``q`` (..., L, d_k), ``k`` (..., S, d_k), ``v`` (..., S, d_v) with the same leading
    dimensions; ``mask`` boolean, broadcastable to (..., L, S), True = allowed.
    Returns ``(out, A)``: ``out`` (..., L, d_v) and the attention weights ``A`` (..., L, S),
    each row summing to 1 (or all zeros when the row is fully masked).
    Example: with ``q = k = [[1, 0], [0, 1]] * 10`` each query attends almost only to itself.
    """
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]) or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"q {q.shape}, k {k.shape}, v {v.shape} must be (..., L, d), (..., S, d), (..., S, dv)"
            " with the same leading dimensions"
        )
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = check_mask(mask, scores.shape)
    weights = softmax(scores, axis=-1, mask=mask)
    return weights @ v, weights


def scaled_dot_product_attention_backward(
    dout: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dq, dk, dv)`` of :func:`scaled_dot_product_attention` from ``dL/dout``.

    With ``S = Q K^T / sqrt(d_k)``, ``A = softmax(S)`` (the returned weights), ``out = A V``:

        dV = A^T dout      dA = dout V^T      dS = A * (dA - rowsum(dA * A))
        dQ = dS K / sqrt(d_k)                 dK = dS^T Q / sqrt(d_k)

    Masked entries have ``A = 0``, so no gradient flows through them.
    Shapes: as in the forward; ``dout`` (..., L, d_v) -> ``dq``, ``dk``, ``dv`` like q, k, v.
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    dv = np.swapaxes(weights, -1, -2) @ dout
    d_weights = dout @ np.swapaxes(v, -1, -2)
    d_scores = softmax_backward(weights, d_weights, axis=-1) * scale
    dq = d_scores @ k
    dk = np.swapaxes(d_scores, -1, -2) @ q
    return dq, dk, dv


class MultiHeadSelfAttention(Layer):
    """Multi-head self-attention: ``y = Concat(head_1..head_h) W_o + b_o`` over ``x``.

    ``Q = x W_q + b_q``, ``K = x W_k + b_k``, ``V = x W_v + b_v`` (each ``(d_model, d_model)``,
    applied with :class:`~dlf.scratch.layers.Linear`), split into ``n_heads`` heads of width
    ``d_k = d_model / n_heads``; ``head_i = Attention(Q_i, K_i, V_i)`` (masked). Parameters
    ``W_q, W_k, W_v, W_o`` (Xavier uniform, like ``nn.MultiheadAttention``) and biases
    ``b_q, b_k, b_v, b_o`` (zero). ``nn.MultiheadAttention`` with ``in_proj_weight =
    cat(W_q, W_k, W_v)^T`` and ``out_proj.weight = W_o^T`` computes the same function.

    Shapes: ``x`` (B, T, d_model) -> ``y`` (B, T, d_model); ``mask`` boolean, broadcastable to
    (B, n_heads, T, T), True = allowed (``causal_mask(T)``, ``padding_mask(lengths,
    T)[:, None, None, :]``). After forward, ``attn_weights`` holds the (B, n_heads, T, T)
    weights, for plotting. ``params``/``grads`` are views of the four projections' arrays.
    """

    PROJECTIONS = ("q", "k", "v", "o")

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        bias: bool = True,
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        if d_model % n_heads != 0:
            raise ValueError(
                f"d_model={d_model} must be divisible by n_heads={n_heads} (d_k = d_model / h)"
            )
        # params/grads/buffers are properties over the projections (as in Sequential), so
        # Layer.__init__, which assigns them, is not called.
        self.training = True
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_k = d_model // n_heads
        self.proj = {
            name: Linear(d_model, d_model, bias, init="xavier_uniform", dtype=dtype, rng=rng)
            for name in self.PROJECTIONS
        }
        self.cache: tuple | None = None
        self.attn_weights: np.ndarray | None = None

    def children(self) -> list[Layer]:
        return [self.proj[name] for name in self.PROJECTIONS]

    def _flat(self, attr: str) -> Arrays:
        return {
            f"{key}_{name}": value
            for name in self.PROJECTIONS
            for key, value in getattr(self.proj[name], attr).items()
        }

    @property
    def params(self) -> Arrays:
        return self._flat("params")

    @property
    def grads(self) -> Arrays:
        return self._flat("grads")

    @property
    def buffers(self) -> Arrays:
        return {}

    def split_heads(self, x: np.ndarray) -> np.ndarray:
        """(B, T, d_model) -> (B, h, T, d_k), see :func:`split_heads`."""
        return split_heads(x, self.n_heads)

    def merge_heads(self, x: np.ndarray) -> np.ndarray:
        """(B, h, T, d_k) -> (B, T, d_model), the inverse of :meth:`split_heads`."""
        return merge_heads(x)

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"MultiHeadSelfAttention expects x of shape (B, T, {self.d_model}), got {x.shape}"
            )
        q = self.split_heads(self.proj["q"].forward(x))
        k = self.split_heads(self.proj["k"].forward(x))
        v = self.split_heads(self.proj["v"].forward(x))
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        self.cache = (q, k, v, weights)
        self.attn_weights = weights
        return self.proj["o"].forward(self.merge_heads(heads))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError("MultiHeadSelfAttention.backward called before forward")
        q, k, v, weights = self.cache
        d_heads = self.split_heads(self.proj["o"].backward(dout))
        dq, dk, dv = scaled_dot_product_attention_backward(d_heads, q, k, v, weights)
        dx = self.proj["q"].backward(self.merge_heads(dq))
        dx = dx + self.proj["k"].backward(self.merge_heads(dk))
        return dx + self.proj["v"].backward(self.merge_heads(dv))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}"
