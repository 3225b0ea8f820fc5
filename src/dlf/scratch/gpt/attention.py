"""GPT's causal self-attention in NumPy: one fused q/k/v projection, then Module 1's attention.

    q, k, v = split(x W_attn + b_attn)            W_attn (C, 3C): GPT-2's c_attn
    head_i  = softmax(q_i k_i^T / sqrt(d) + causal) v_i      i = 1..h, d = C / h
    y       = Concat(head_1, ..., head_h) W_proj + b_proj

The attention and its backward are :func:`dlf.scratch.attention.scaled_dot_product_attention`
and ``scaled_dot_product_attention_backward`` under :func:`~dlf.scratch.attention.causal_mask`;
the projections are :class:`~dlf.scratch.layers.Linear` layers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dlf.scratch.attention import (
    causal_mask,
    merge_heads,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
    split_heads,
)
from dlf.scratch.layers import Layer, Linear
from dlf.scratch.layers.named import NamedLayers

causal = lru_cache(maxsize=8)(causal_mask)  # one (T, T) mask per length, built once


class CausalSelfAttention(NamedLayers):
    """Multi-head self-attention where position t attends to positions <= t only.

    Shapes: ``x`` (B, T, C) -> ``y`` (B, T, C). Children ``c_attn`` = Linear(C, 3C) (q, k, v
    side by side on the last axis) and ``c_proj`` = Linear(C, C). Backward: ``dy`` ->
    ``d(heads)`` through ``c_proj``; ``(dq, dk, dv)`` through the attention; then
    ``dx = [dq | dk | dv] W_attn^T`` (heads merged back) through ``c_attn``.
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        bias: bool = True,
        *,
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd={n_embd} must be divisible by n_head={n_head}")
        self.n_embd, self.n_head = n_embd, n_head
        self.c_attn = Linear(n_embd, 3 * n_embd, bias, dtype=dtype, rng=rng)
        self.c_proj = Linear(n_embd, n_embd, bias, dtype=dtype, rng=rng)
        self.cache: tuple | None = None

    def named_children(self) -> list[tuple[str, Layer]]:
        return [("c_attn", self.c_attn), ("c_proj", self.c_proj)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        B, T, C = x.shape
        qkv = self.c_attn.forward(x)  # (B, T, 3C)
        q, k, v = (split_heads(qkv[..., i * C : (i + 1) * C], self.n_head) for i in range(3))
        heads, weights = scaled_dot_product_attention(q, k, v, causal(T))  # (B, h, T, d)
        self.cache = (q, k, v, weights)
        return self.c_proj.forward(merge_heads(heads))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError("CausalSelfAttention.backward called before forward")
        q, k, v, weights = self.cache
        d_heads = split_heads(self.c_proj.backward(dout), self.n_head)
        grads = scaled_dot_product_attention_backward(d_heads, q, k, v, weights)
        B, h, T, d = q.shape
        d_qkv = np.empty((B, T, 3, h, d), dtype=dout.dtype)  # merge_heads, into one array
        for i, g in enumerate(grads):
            d_qkv[:, :, i] = g.transpose(0, 2, 1, 3)
        return self.c_attn.backward(d_qkv.reshape(B, T, 3 * h * d))

    def extra_repr(self) -> str:
        return f"n_embd={self.n_embd}, n_head={self.n_head}"
