"""Encoder and decoder layers: sublayers wrapped in residual connections and layer norm.

Post-norm, the paper (section 3.1):  x = LayerNorm(x + Dropout(Sublayer(x)))
Pre-norm (Xiong et al. 2020):        x = x + Dropout(Sublayer(LayerNorm(x)))

Pre-norm keeps an identity path from input to output and trains without warm-up more easily;
a pre-norm stack needs one final LayerNorm (``Encoder`` and ``Decoder`` add it).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from dlf.transformer.feed_forward import PositionwiseFeedForward
from dlf.transformer.multi_head import MultiHeadAttention
from dlf.transformer.positional import RotaryEmbedding


def residual(
    x: Tensor,
    sublayer: Callable[[Tensor], Tensor],
    norm: nn.LayerNorm,
    dropout: nn.Dropout,
    norm_first: bool,
) -> Tensor:
    """One residual sublayer: x + Dropout(Sublayer(Norm(x))) if ``norm_first`` (pre-norm),
    else Norm(x + Dropout(Sublayer(x))) (post-norm). Shapes: x (B, L, d_model) -> same."""
    if norm_first:
        return x + dropout(sublayer(norm(x)))
    return norm(x + dropout(sublayer(x)))


class EncoderLayer(nn.Module):
    """Self-attention, then the feed-forward network, each a residual sublayer.

    ``forward(x, mask=None)``: x (B, S, d_model), ``mask`` broadcastable to (B, h, S, S)
    (usually a (B, 1, 1, S) padding mask) -> (B, S, d_model).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        activation: str = "relu",
        rotary: RotaryEmbedding | None = None,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout, rotary=rotary)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, dropout, activation)
        self.norm_1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm_2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        nf, drop = self.norm_first, self.dropout
        x = residual(x, lambda y: self.self_attn(y, y, y, mask), self.norm_1, drop, nf)
        return residual(x, self.feed_forward, self.norm_2, drop, nf)


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder output ("memory"), then the
    feed-forward network, each a residual sublayer.

    ``forward(x, memory, src_mask=None, tgt_mask=None)``: x (B, T, d_model), memory
    (B, S, d_model); ``tgt_mask`` broadcastable to (B, h, T, T) (causal, and padding);
    ``src_mask`` broadcastable to (B, h, T, S) (source padding) -> (B, T, d_model).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        activation: str = "relu",
        rotary: RotaryEmbedding | None = None,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout, rotary=rotary)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff, dropout, activation)
        self.norm_1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm_2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm_3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
    ) -> Tensor:
        nf, drop = self.norm_first, self.dropout
        x = residual(x, lambda y: self.self_attn(y, y, y, tgt_mask), self.norm_1, drop, nf)
        x = residual(
            x, lambda y: self.cross_attn(y, memory, memory, src_mask), self.norm_2, drop, nf
        )
        return residual(x, self.feed_forward, self.norm_3, drop, nf)
