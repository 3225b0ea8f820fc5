"""The decoder: a stack of N identical ``DecoderLayer``s (Vaswani et al. 2017, section 3.1)."""

from __future__ import annotations

from torch import Tensor, nn

from dlf.transformer.blocks import DecoderLayer
from dlf.transformer.positional import RotaryEmbedding


class Decoder(nn.Module):
    """N decoder layers, each with masked self-attention and cross-attention over ``memory``;
    a final LayerNorm when the layers are pre-norm.

    Takes target embeddings (positions already added, if any), not token ids.
    ``forward(x, memory, src_mask=None, tgt_mask=None)``: x (B, T, d_model), memory
    (B, S, d_model); ``tgt_mask`` broadcastable to (B, h, T, T), causal so that position t sees
    positions <= t only; ``src_mask`` broadcastable to (B, h, T, S) -> (B, T, d_model).
    """

    def __init__(
        self,
        n_layers: int,
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
        self.layers = nn.ModuleList(
            DecoderLayer(
                d_model, n_heads, d_ff, dropout, norm_first, activation, rotary, layer_norm_eps
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps) if norm_first else nn.Identity()

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
    ) -> Tensor:
        for layer in self.layers:
            x = layer(x, memory, src_mask, tgt_mask)
        return self.norm(x)
