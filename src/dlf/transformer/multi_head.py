"""Multi-head attention (Vaswani et al. 2017, section 3.2.2).

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O
    head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)

The h projections W_i^Q (d_model x d_k) sit side by side in one d_model x d_model matrix W_q
(likewise W_k, W_v), with d_k = d_v = d_model / h.
"""

from __future__ import annotations

from torch import Tensor, nn

from dlf.transformer.attention import scaled_dot_product_attention
from dlf.transformer.positional import RotaryEmbedding


class MultiHeadAttention(nn.Module):
    """h attention heads in parallel over learned projections of queries, keys and values.

    ``forward(query, key, value, mask=None, need_weights=False)``:
    query (B, L, d_model), key and value (B, S, d_model); ``mask`` boolean, broadcastable to
    (B, h, L, S), True = may attend: an (L, S) causal mask, a (B, 1, 1, S) padding mask, or
    their ``&``. Returns the output (B, L, d_model), or ``(output, weights)`` with the per-head
    weights (B, h, L, S) when ``need_weights`` is True. A query that may attend to no key gets
    zero weights, so its output is W_o's bias (``nn.MultiheadAttention`` gives NaN there).

    ``rotary``: a ``RotaryEmbedding`` applied to the per-head queries and keys (RoPE); give it to
    self-attention only, where queries and keys share positions.

    For attention heat-maps set ``record_weights = True``: each forward then keeps the detached
    weights (B, h, L, S) in ``last_weights``.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        rotary: RotaryEmbedding | None = None,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(
                f"d_model={d_model} must be divisible by n_heads={n_heads} "
                f"(each head gets d_model / n_heads features)"
            )
        self.d_model, self.n_heads, self.d_k = d_model, n_heads, d_model // n_heads
        self.W_q = nn.Linear(d_model, d_model, bias=bias)
        self.W_k = nn.Linear(d_model, d_model, bias=bias)
        self.W_v = nn.Linear(d_model, d_model, bias=bias)
        self.W_o = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.rotary = rotary
        self.record_weights = False
        self.last_weights: Tensor | None = None

    def split_heads(self, x: Tensor) -> Tensor:
        """(B, L, d_model) -> (B, h, L, d_k)."""
        B, L, _ = x.shape
        return x.view(B, L, self.n_heads, self.d_k).transpose(1, 2)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        need_weights: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        B, L, _ = query.shape
        q = self.split_heads(self.W_q(query))
        k = self.split_heads(self.W_k(key))
        v = self.split_heads(self.W_v(value))
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        heads, weights = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        output = self.W_o(heads.transpose(1, 2).reshape(B, L, self.d_model))  # concat heads
        if self.record_weights:
            self.last_weights = weights.detach()
        return (output, weights) if need_weights else output
