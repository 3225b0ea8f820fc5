"""The encoder: a stack of N identical ``EncoderLayer``s (Vaswani et al. 2017, section 3.1)."""

from __future__ import annotations

from torch import Tensor, nn

from dlf.transformer.blocks import EncoderLayer
from dlf.transformer.positional import RotaryEmbedding


class Encoder(nn.Module):
    """N encoder layers applied in turn; a final LayerNorm when the layers are pre-norm.

    Takes embeddings (positions already added, if any), not token ids.
    ``forward(x, mask=None)``: x (B, S, d_model), ``mask`` broadcastable to (B, h, S, S)
    (usually a (B, 1, 1, S) padding mask) -> memory (B, S, d_model).
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
            EncoderLayer(
                d_model, n_heads, d_ff, dropout, norm_first, activation, rotary, layer_norm_eps
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps) if norm_first else nn.Identity()

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)
