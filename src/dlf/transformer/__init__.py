"""Module 3: attention and the Transformer, written from "Attention Is All You Need".

Read in this order: attention -> multi_head -> feed_forward -> positional -> blocks ->
encoder / decoder -> model -> training.
"""

from dlf.transformer.attention import (
    causal_mask,
    length_mask,
    padding_mask,
    scaled_dot_product_attention,
)
from dlf.transformer.blocks import DecoderLayer, EncoderLayer
from dlf.transformer.decoder import Decoder
from dlf.transformer.encoder import Encoder
from dlf.transformer.feed_forward import PositionwiseFeedForward
from dlf.transformer.model import (
    Transformer,
    TransformerConfig,
    base_parameter_count,
    count_parameters,
)
from dlf.transformer.multi_head import MultiHeadAttention
from dlf.transformer.positional import (
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
)
from dlf.transformer.training import (
    LabelSmoothingLoss,
    bucket_by_length,
    noam_schedule,
    pad_batch,
    paper_optimizer,
)

__all__ = [
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "LabelSmoothingLoss",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "PositionwiseFeedForward",
    "RotaryEmbedding",
    "SinusoidalPositionalEncoding",
    "Transformer",
    "TransformerConfig",
    "base_parameter_count",
    "bucket_by_length",
    "causal_mask",
    "count_parameters",
    "length_mask",
    "noam_schedule",
    "pad_batch",
    "padding_mask",
    "paper_optimizer",
    "scaled_dot_product_attention",
]
