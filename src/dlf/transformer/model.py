"""The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al. 2017).

    memory = Encoder(Dropout(PE(sqrt(d_model) * E[src])), src_mask)
    logits = Decoder(Dropout(PE(sqrt(d_model) * E[tgt])), memory, src_mask, tgt_mask) E^T

One matrix E (vocab_size x d_model) serves as source embedding, target embedding and pre-softmax
projection (section 3.4), so source and target share one vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dlf.transformer.attention import causal_mask
from dlf.transformer.decoder import Decoder
from dlf.transformer.encoder import Encoder
from dlf.transformer.multi_head import MultiHeadAttention
from dlf.transformer.positional import POSITIONAL_ENCODINGS, positional_encoding


@dataclass
class TransformerConfig:
    """Hyper-parameters; the defaults are the paper's base model (Table 3, row "base").

    ``positional``: a name in ``POSITIONAL_ENCODINGS``: "sinusoidal" (the paper), "learned",
    "rope" (rotary, inside self-attention), "none". ``max_len``: positions a learned embedding
    knows (the others grow their tables on demand).
    ``norm_first``: pre-norm residual blocks instead of the paper's post-norm.
    """

    vocab_size: int = 37000
    d_model: int = 512
    n_heads: int = 8
    n_encoder_layers: int = 6
    n_decoder_layers: int = 6
    d_ff: int = 2048
    dropout: float = 0.1
    positional: str = "sinusoidal"
    max_len: int = 1024
    norm_first: bool = False
    activation: str = "relu"
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.positional not in POSITIONAL_ENCODINGS:
            known = ", ".join(POSITIONAL_ENCODINGS)
            raise ValueError(f"positional={self.positional!r} is not known: choose one of {known}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")


class Transformer(nn.Module):
    """Encoder-decoder Transformer with shared embeddings and a tied output projection.

    Token ids in, next-token logits out:
    - ``encode(src, src_mask=None)``: src (B, S) -> memory (B, S, d_model).
    - ``decode(tgt, memory, src_mask=None, tgt_mask=None)``: tgt (B, T) -> logits (B, T, V).
      ``tgt_mask=None`` means ``causal_mask(T)``; pass ``causal_mask(T) & padding_mask(tgt, pad)``
      for padded targets. Call it again with a longer ``tgt`` to decode step by step.
    - ``forward(src, tgt, src_mask=None, tgt_mask=None)`` = ``decode(tgt, encode(src))``.
    ``src_mask``: broadcastable to (B, h, ., S), usually ``padding_mask(src, pad_id)``.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.d_model)
        encoding = positional_encoding(c.positional, c.d_model, c.n_heads, c.max_len)
        # added to the embeddings, or handed to every self-attention layer (RoPE)
        self.positions = None if encoding.inside_attention else encoding
        rotary = encoding if encoding.inside_attention else None
        self.dropout = nn.Dropout(c.dropout)
        stack = dict(
            d_model=c.d_model,
            n_heads=c.n_heads,
            d_ff=c.d_ff,
            dropout=c.dropout,
            norm_first=c.norm_first,
            activation=c.activation,
            rotary=rotary,
            layer_norm_eps=c.layer_norm_eps,
        )
        self.encoder = Encoder(c.n_encoder_layers, **stack)
        self.decoder = Decoder(c.n_decoder_layers, **stack)
        self.output_projection = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.reset_parameters()
        self.output_projection.weight = self.embedding.weight  # tied: one matrix E

    def reset_parameters(self) -> None:
        """Xavier-uniform weights and zero biases in every linear layer; E ~ N(0, 1/d_model),
        so that the embeddings scaled by sqrt(d_model) have unit variance."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.embedding.weight, std=self.config.d_model**-0.5)

    def embed(self, tokens: Tensor) -> Tensor:
        """Dropout(PE(sqrt(d_model) * E[tokens])): (B, L) ids -> (B, L, d_model)."""
        x = self.embedding(tokens) * math.sqrt(self.config.d_model)
        if self.positions is not None:
            x = self.positions(x)
        return self.dropout(x)

    def encode(self, src: Tensor, src_mask: Tensor | None = None) -> Tensor:
        return self.encoder(self.embed(src), src_mask)

    def decode(
        self,
        tgt: Tensor,
        memory: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
    ) -> Tensor:
        if tgt_mask is None:
            tgt_mask = causal_mask(tgt.size(1), device=tgt.device)
        hidden = self.decoder(self.embed(tgt), memory, src_mask, tgt_mask)
        return self.output_projection(hidden)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
    ) -> Tensor:
        return self.decode(tgt, self.encode(src, src_mask), src_mask, tgt_mask)

    def record_attention(self, on: bool = True) -> None:
        """Make every attention layer keep its last weights (for heat-maps), or stop."""
        for module in self.modules():
            if isinstance(module, MultiHeadAttention):
                module.record_weights = on
                module.last_weights = None

    def attention_maps(self) -> dict[str, Tensor]:
        """Weights (B, h, L, S) kept by the last forward after ``record_attention(True)``, by
        layer name: ``encoder.layers.0.self_attn``, ``decoder.layers.1.cross_attn``, ..."""
        return {
            name: module.last_weights
            for name, module in self.named_modules()
            if isinstance(module, MultiHeadAttention) and module.last_weights is not None
        }


def count_parameters(model: nn.Module) -> int:
    """Number of distinct parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in model.parameters())


PAPER_BASE_PARAMETERS = 65_000_000  # "65 M", Table 3, row "base"


def base_parameter_count() -> tuple[int, str]:
    """The base model's parameter count with a shared 37,000-token vocabulary, and why it is not
    the paper's 65 M. Returns ``(count, explanation)``; the model is built on the meta device, so
    no memory is allocated."""
    config = TransformerConfig()
    with torch.device("meta"):
        model = Transformer(config)
    total = count_parameters(model)
    embedding = model.embedding.weight.numel()
    enc_layer = count_parameters(model.encoder.layers[0])
    dec_layer = count_parameters(model.decoder.layers[0])
    attention = count_parameters(model.encoder.layers[0].self_attn)
    ffn = count_parameters(model.encoder.layers[0].feed_forward)
    body = total - embedding
    gap = PAPER_BASE_PARAMETERS - total
    V, d = config.vocab_size, config.d_model
    explanation = "\n".join(
        [
            f"Base Transformer (d_model {d}, {config.n_encoder_layers}+{config.n_decoder_layers}"
            f" layers, d_ff {config.d_ff}, {config.n_heads} heads, shared vocabulary {V:,}):",
            f"  {total:,} parameters ({total / 1e6:.1f} M); the paper reports 65 M.",
            f"  shared embedding = output projection: {V:,} x {d} = {embedding:,} (counted once)",
            f"  encoder: {config.n_encoder_layers} x {enc_layer:,} (attention 4(d^2 + d) = "
            f"{attention:,}, feed-forward 2 d d_ff + d_ff + d = {ffn:,}, 2 LayerNorms)",
            f"  decoder: {config.n_decoder_layers} x {dec_layer:,} (self- and cross-attention, "
            "feed-forward, 3 LayerNorms)",
            f"  without the embedding: {body:,} ({body / 1e6:.1f} M)",
            f"Difference: 65 M - {total / 1e6:.2f} M = {gap / 1e6:.2f} M ({gap / total:.1%}).",
            "  The paper states neither how it counted nor its exact vocabulary ('about 37000"
            f" tokens'); the gap equals {gap / d:,.0f} more embedding rows, i.e. a vocabulary of"
            f" ~{(PAPER_BASE_PARAMETERS - body) / d:,.0f} tokens.",
            "  Sharing is what makes 65 M plausible: separate source and target embeddings"
            f" (output tied to the target) would give {(total + embedding) / 1e6:.1f} M, three"
            f" separate matrices {(total + 2 * embedding) / 1e6:.1f} M. Sinusoidal positions"
            " have no parameters.",
        ]
    )
    return total, explanation
