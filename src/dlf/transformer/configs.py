"""Encoder-decoder Transformers by name: the paper's base and big models (Vaswani et al. 2017,
Table 3) and the project's own small one.

Both paper models share one vocabulary between source, target and output (section 3.4); the
paper gives "about 37000 tokens" (WMT 2014 English-German, byte-pair encoding), which we take
as 37,000. Its counts, 65 M and 213 M, are rounded and do not say how they were counted (see
:func:`dlf.transformer.model.base_parameter_count`).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from dlf.runs.architecture import Architecture, architecture
from dlf.transformer.attention import padding_mask
from dlf.transformer.model import Transformer, TransformerConfig

TRANSFORMER_CONFIGS: dict[str, TransformerConfig] = {
    "transformer-base": TransformerConfig(),
    "transformer-big": TransformerConfig(d_model=1024, n_heads=16, d_ff=4096, dropout=0.3),
    # the transformer-copy recipe's model: 13 tokens (<pad>, <bos>, <eos> and ten digits)
    "transformer-copy": TransformerConfig(
        vocab_size=13, d_model=64, n_heads=4, n_encoder_layers=2, n_decoder_layers=2, d_ff=128,
        dropout=0.0, norm_first=True, max_len=36,
    ),
}  # fmt: skip

PAPER_PARAMETERS = {"transformer-base": 65_000_000, "transformer-big": 213_000_000}


def transformer_config(name: str) -> TransformerConfig:
    """A fresh copy of the named shape (``KeyError`` for an unknown name)."""
    return replace(TRANSFORMER_CONFIGS[name])


def transformer_architecture(name: str, tokens: int | None = None) -> tuple[Architecture, str]:
    """The named Transformer built on the meta device (no memory), traced on ``tokens`` source
    and ``tokens`` target ids (default: 64, or fewer if its positions stop earlier) with a
    source padding mask, and a line comparing its parameters with the paper's.

    Raises ``KeyError`` for an unknown name, ``ValueError`` for a length it cannot take.
    """
    config = transformer_config(name)
    longest = config.max_len if config.positional in ("sinusoidal", "learned") else 10**9
    T = min(64, longest) if tokens is None else tokens
    if not 1 <= T <= longest:
        raise ValueError(f"{name} takes 1 to {longest} tokens, not {T}")
    with torch.device("meta"):
        model = Transformer(config)
    arch = transformer_diagram(model, T, title=name)
    total = arch.parameters
    line = (
        f"{name}: {total:,} parameters with one vocabulary of {config.vocab_size:,} tokens shared"
        f" by source, target and output (d_model {config.d_model}, {config.n_encoder_layers}+"
        f"{config.n_decoder_layers} layers, d_ff {config.d_ff}, {config.n_heads} heads);"
        f" traced on {T} source + {T} target tokens"
    )
    if name in PAPER_PARAMETERS:
        line += f"\nthe paper (Table 3): {PAPER_PARAMETERS[name] / 1e6:.0f} M, rounded"
    return arch, line


def transformer_diagram(model: Transformer, tokens: int = 8, title: str = "") -> Architecture:
    """The architecture of ``model``'s shape, traced on a copy built on the meta device (the
    trained weights and the model's device untouched) over ``tokens`` source and ``tokens``
    target ids with a source padding mask."""
    with torch.device("meta"):
        twin = Transformer(model.config)
        src = torch.zeros(1, tokens, dtype=torch.long)
        tgt = torch.zeros(1, tokens, dtype=torch.long)  # its own tensor: drawn as its own input
    return architecture(twin, src, tgt, padding_mask(src, 0), tokens=2 * tokens, title=title)
